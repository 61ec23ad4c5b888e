import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { parseConfig } from '../config/load.js';
import { freePort } from '../scripts/dev/sandbox/sandbox.js';
import { installMariadb, rootConnection, startMariadb, stopMariadb } from '../scripts/dev/sandbox/mariadb-server.js';
import { replicationParameters, TargetStack } from '../stacks/index.js';
import { exampleConfig } from './helpers/config.js';

type Synth = { resource: Record<string, Record<string, Record<string, unknown>>> };

function parameters(overrides = {}): Record<string, string> {
  const json = JSON.parse(Testing.synth(new TargetStack(Testing.app(), parseConfig(exampleConfig(overrides))))) as Synth;
  const groups = Object.values(json.resource.aws_db_parameter_group ?? {});
  assert.equal(groups.length, 1, 'exactly one parameter group');
  return Object.fromEntries((groups[0]!.parameter as { name: string; value: string }[]).map((p) => [p.name, p.value]));
}

// The mode `npm run bench -- catch-up` measured fastest: the target applies with parallel replication.
test('an RDS MariaDB target applies with conservative parallel replication', () => {
  const params = parameters();
  assert.equal(params.slave_parallel_mode, 'conservative');
  assert.ok(Number(params.slave_parallel_threads) >= 4, `slave_parallel_threads ${params.slave_parallel_threads}`);
});

test('target.parameters may set the apply mode (more threads for a busier source); what replication depends on stays fixed', () => {
  const params = parameters({
    target: {
      instanceIdentifier: 't1',
      engineVersion: '10.11.8',
      parameters: { slave_parallel_threads: '16', slave_parallel_mode: 'optimistic' },
    },
  });
  assert.equal(params.slave_parallel_threads, '16');
  assert.equal(params.slave_parallel_mode, 'optimistic');
  assert.throws(
    () => parameters({ target: { instanceIdentifier: 't1', engineVersion: '10.11.8', parameters: { binlog_format: 'MIXED' } } }),
    /parameters binlog_format are set by rds-live-migrate for replication and cannot be overridden/,
  );
});

test('an RDS MySQL 8 target applies with parallel workers that keep the commit order', () => {
  const params = parameters({ engine: 'mysql', target: { instanceIdentifier: 't1', engineVersion: '8.0.39' } });
  assert.ok(Number(params.replica_parallel_workers) >= 4, `replica_parallel_workers ${params.replica_parallel_workers}`);
  assert.equal(params.replica_preserve_commit_order, '1');
  assert.equal(params.slave_parallel_mode, undefined);
});

test("the sandbox's target-master runs its parameter group's apply settings, and load mode starts it without a binlog", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlm-apply-mode-'));
  const spec = { name: 'target-master', dir, port: await freePort(), serverId: 3 };
  try {
    await installMariadb(spec);
    for (const noBinlog of [false, true]) {
      await startMariadb({ ...spec, binlog: !noBinlog });
      const root = await rootConnection(dir);
      try {
        const [rows] = await root.query('SELECT @@slave_parallel_threads AS threads, @@slave_parallel_mode AS mode, @@log_bin AS logBin');
        const row = (rows as { threads: number; mode: string; logBin: number }[])[0]!;
        const p = replicationParameters('mariadb');
        assert.deepEqual(row, { threads: Number(p.slave_parallel_threads), mode: p.slave_parallel_mode, logBin: noBinlog ? 0 : 1 });
      } finally {
        await root.end();
        await stopMariadb(dir);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
