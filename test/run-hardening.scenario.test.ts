import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { serverDir } from '../scripts/dev/sandbox/sandbox.js';
import { journalOf, shopSandbox, type TestSandbox } from './helpers/sandbox.js';
import { moreWrites } from './helpers/wait.js';

function setMigrationConfig(sb: TestSandbox, fields: Record<string, unknown>): void {
  const config = JSON.parse(readFileSync(sb.state.configFile, 'utf8'));
  Object.assign(config.migration, fields);
  writeFileSync(sb.state.configFile, `${JSON.stringify(config, null, 2)}\n`);
}

async function rowsOf(sb: TestSandbox, role: 'source-master' | 'target-master'): Promise<number> {
  const root = await rootConnection(serverDir(sb.state.dir, role));
  try {
    const [rows] = await root.query('SELECT COUNT(*) AS n FROM shop.workload_writes');
    return Number((rows as { n: unknown }[])[0]!.n);
  } finally {
    await root.end();
  }
}

describe('sourcePortForTarget reaches another server than source-master (here the frozen replica)', () => {
  let sb: TestSandbox;
  before(async () => {
    sb = await shopSandbox();
    // How long a wrong leader is borne (as during a failover), and an end for a run that would wait for a catch-up that cannot come.
    setMigrationConfig(sb, {
      sourcePortForTarget: sb.state.servers['source-slave'].port,
      catchUpTimeoutSeconds: 90,
      replicationGiveUpSeconds: 30,
    });
  });
  after(async () => {
    await sb?.down();
  });

  test('catch-up refuses the link, naming both servers and the setting to fix, instead of calling the target caught up', async () => {
    const workload = sb.workload();
    await moreWrites(workload, 20);
    const run = await sb.cli(['run', '--json']);
    const written = await workload.stop();
    assert.ok(written.committed > 20);
    const out = String(run.all);
    assert.notEqual(run.exitCode, 0, `run called the target caught up while it follows another server:\n${out}`);
    assert.doesNotMatch(out, /target-master caught up/);
    assert.doesNotMatch(out, /did not catch up within/);
    assert.match(out, /target-master replicates from server_id \d+ .*, but source-master is server_id \d+/);
    assert.match(out, /not caught up while this lasts/);
    assert.match(out, /sourceHostForTarget/);
    assert.match(out, /run --reseed/);
    // The replica the target really follows is still declared: nothing was torn down on a false catch-up.
    assert.notEqual(journalOf(sb.state).steps['catch-up']?.status, 'done');
    assert.ok((await rowsOf(sb, 'target-master')) < (await rowsOf(sb, 'source-master')), 'the target indeed lacks writes');
  });
});
