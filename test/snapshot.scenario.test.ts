import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { buildApp } from '../stacks/app.js';
import { assertNothingLost, knownSecrets, runThroughCrashes } from './helpers/migration.js';
import { journalOf, lastJson, sandboxAfter, secretOf, shopSandbox, type TestSandbox } from './helpers/sandbox.js';

type Position = { file: string; pos: number };

const snapshotSandbox = () => shopSandbox(0.1, { seedMethod: 'snapshot' });

/**
 * Under writes, `run` killed after the restore and between pointing and starting replication, then finished;
 * checked as the second test states. The state the tests after it start from.
 */
async function crashedAndResumed(sb: TestSandbox): Promise<void> {
  const workload = sb.workload();
  try {
    await runThroughCrashes(sb, ['after:seed-target', 'mid:point-target']);
    const { steps } = journalOf(sb.state);
    const frozen = steps['freeze-replica']!.data!.executed as Position;
    assert.equal(steps['seed-method']!.data!.method, 'snapshot');
    assert.equal(steps['seed-target']!.data!.method, 'snapshot');
    assert.equal(steps['seed-target']!.data!.restoredAt, `${frozen.file}:${frozen.pos}`);
    assert.deepEqual(steps['point-target']!.data!.position, frozen, 'replication starts at the executed position recorded at the freeze');
    assert.equal(steps['point-target']!.data!.resumed, true, 'the resumed run must not point the target a second time');
    const log = sb.output.join('\n');
    assert.equal(
      log.match(/copying the frozen source-slave physically/g)?.length,
      1,
      'the target is restored once; the resumed run uses it',
    );
    await assertNothingLost(sb, workload);
  } finally {
    await workload.stop();
  }
}

const migrated = () => sandboxAfter('crashed and resumed', crashedAndResumed, snapshotSandbox);

// Each test starts from its own sandbox; those after the migration from a copy of the one the second test ran.
describe('a migration seeded by restoring a snapshot of the frozen replica, with the application writing', () => {
  let held: TestSandbox | undefined;
  const hold = async (sb: Promise<TestSandbox>) => (held = await sb);
  afterEach(async () => {
    await held?.down();
    held = undefined;
  });

  test('plan says why, and that the target comes after the freeze', async () => {
    const sb = await hold(snapshotSandbox());
    const plan = lastJson<{ ok: boolean; findings: { id: string; message: string }[] }>(await sb.cli(['plan', '--json']));
    assert.equal(plan.ok, true);
    assert.match(
      plan.findings.find((f) => f.id === 'seed-method')!.message,
      /seed method: snapshot \(seedMethod is snapshot in the config/,
    );
    assert.match(plan.findings.find((f) => f.id === 'target-deferred')!.message, /run deploys the target stack after the freeze/);
  });

  test('killed after the restore and between pointing and starting replication, it resumes at the frozen position', async () => {
    await hold(migrated());
  });

  test('the restored target has its own master password, and no password reaches output or state', async () => {
    const sb = await hold(migrated());
    // The output of the runs that built this state comes with the copy; plan prints more.
    await sb.cli(['plan', '--json']);
    assert.notEqual(secretOf(sb.state, 'target-master'), secretOf(sb.state, 'source-master'));
    const files = ['work/journal.json', 'migration.config.json', 'cdktf-outputs.json', 'sandbox.json'].map((f) =>
      readFileSync(join(sb.state.dir, f), 'utf8'),
    );
    for (const secret of knownSecrets(sb)) {
      for (const text of [...sb.output, ...files]) assert.ok(!text.includes(secret), 'a password leaked into output or a state file');
    }
  });

  test("the app synthesized from this run's journal restores the target from the frozen position", async () => {
    const sb = await hold(migrated());
    const outdir = join(sb.state.dir, 'cdktf.out');
    buildApp(loadConfig(sb.state.configFile), undefined, outdir).synth();
    const text = readFileSync(join(outdir, 'stacks', 'target', 'cdk.tf.json'), 'utf8');
    const frozen = journalOf(sb.state).steps['freeze-replica']!.data!.executed as Position;
    const snapshot = Object.values(
      (JSON.parse(text) as { resource: Record<string, Record<string, { tags: Record<string, string> }>> }).resource.aws_db_snapshot!,
    )[0]!;
    assert.equal(snapshot.tags['rds-live-migrate:frozen-at'], `${frozen.file}:${frozen.pos}`);
    for (const secret of knownSecrets(sb)) assert.ok(!text.includes(secret));
  });
});

/** Runs the migration up to the restore, restores the target by hand (the deploy stand-in), then changes it as root. */
async function restoreThenAlter(sb: TestSandbox, sql: string, params: unknown[] = []): Promise<void> {
  const crashed = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: 'before:seed-target' });
  assert.equal(crashed.signal, 'SIGKILL');
  assert.equal((await sb.cli(['sandbox', 'deploy', '--dir', sb.state.dir])).exitCode, 0);
  const root = await rootConnection(join(sb.state.dir, 'servers', 'target-master'));
  try {
    await root.query(sql, params);
  } finally {
    await root.end();
  }
}

describe('a target that is not a restore of the replica as frozen', () => {
  test('is refused before replication starts, with what to do', async () => {
    const sb = await shopSandbox(0.01, { seedMethod: 'snapshot' });
    try {
      // As if the target had been restored from a snapshot taken before the freeze.
      await restoreThenAlter(sb, "SET GLOBAL gtid_slave_pos = '0-1-1'");
      const run = await sb.cli(['run']);
      assert.equal(run.exitCode, 1);
      assert.match(
        String(run.stderr),
        /target-master is not a restore of the replica as frozen: its GTID position is '0-1-1', the frozen replica's was '0-1-\d+'/,
      );
      assert.match(String(run.stderr), /what to do: the target must be restored from a snapshot taken after the freeze/);
      assert.equal(journalOf(sb.state).steps['point-target'], undefined, 'replication was not started');
    } finally {
      await sb.down();
    }
  });
});

describe("a restore that carries the replica's replication settings", () => {
  test('has them cleared before our replication starts, and loses nothing', async () => {
    const sb = await shopSandbox(0.01, { seedMethod: 'snapshot' });
    const workload = sb.workload();
    try {
      // As a copy of a stopped replica's data directory would: set up to follow the source, not started.
      await restoreThenAlter(
        sb,
        "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ?, MASTER_USER = 'rdsrepladmin', MASTER_LOG_FILE = 'binlog.000001', MASTER_LOG_POS = 4",
        [sb.state.servers['source-master'].port],
      );
      const run = await sb.cli(['run', '--json']);
      assert.equal(run.exitCode, 0, String(run.all));
      const { steps } = journalOf(sb.state);
      assert.equal(steps['seed-target']!.data!.replicationConfigReset, true);
      assert.deepEqual(steps['point-target']!.data!.position, steps['freeze-replica']!.data!.executed);
      assert.equal(steps['point-target']!.data!.resumed, false, 'pointed afresh, not mistaken for an earlier run of ours');
      await assertNothingLost(sb, workload);
    } finally {
      await workload.stop();
      await sb.down();
    }
  });
});

describe('seedMethod auto on a small database', () => {
  test('run chooses logical, deploys an empty target itself, checks it and seeds it', async () => {
    const sb = await shopSandbox(0.01, { seedMethod: 'auto' });
    const workload = sb.workload();
    try {
      const outputs = () => JSON.parse(readFileSync(join(sb.state.dir, 'cdktf-outputs.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(outputs().target, undefined, 'no target before run');
      const result = await sb.cli(['run', '--json']);
      assert.equal(result.exitCode, 0, String(result.all));
      const { steps } = journalOf(sb.state);
      assert.equal(steps['seed-method']!.data!.method, 'logical');
      assert.match(String(steps['seed-method']!.data!.reason), /not more than snapshotAboveGiB \(100\)/);
      assert.ok(Number(steps['seed-target']!.data!.rowsCopied) > 0, 'seeded logically');
      assert.ok(outputs().target, 'run deployed the target');
      assert.match(String(result.all), /deploying target \(phase [a-z-]+\): create the encrypted target sandbox-target \(empty\)/);
      await assertNothingLost(sb, workload);
    } finally {
      await workload.stop();
      await sb.down();
    }
  });
});
