import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { serverDir } from '../scripts/dev/sandbox/sandbox.js';
import { assertNothingLost } from './helpers/migration.js';
import { journalOf, lastJson, sandboxAfter, shopSandbox, type TestSandbox } from './helpers/sandbox.js';
import { until } from './helpers/wait.js';

/**
 * What RDS does when retention runs out: the source drops every binlog before its current one.
 * MariaDB keeps a binlog until InnoDB has checkpointed its commits, so the purge is repeated until it took.
 */
async function purgeSourceBinlogs(sb: TestSandbox): Promise<void> {
  const root = await rootConnection(serverDir(sb.state.dir, 'source-master'));
  try {
    await root.query('FLUSH BINARY LOGS');
    const [rows] = await root.query('SHOW MASTER STATUS');
    const current = (rows as { File: string }[])[0]!.File;
    await until(`source-master to drop every binlog before ${current}`, async () => {
      await root.query('PURGE BINARY LOGS TO ?', [current]);
      const [logs] = await root.query('SHOW BINARY LOGS');
      return (logs as { Log_name: string }[]).every((l) => l.Log_name >= current);
    });
  } finally {
    await root.end();
  }
}

/** A run killed after the seed, before pointing the target; then the source's binlogs are purged. */
async function seededThenPurged(sb: TestSandbox): Promise<void> {
  const crashed = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: 'before:point-target' });
  assert.equal(crashed.signal, 'SIGKILL', String(crashed.all));
  await purgeSourceBinlogs(sb);
}

// Each test starts from its own copy of that state (the first test to need it builds it), so any one runs alone.
describe('binlogs purged after the seed, before the target was pointed', () => {
  let held: TestSandbox | undefined;
  const purged = async () => (held = await sandboxAfter('purged before point-target', seededThenPurged));
  afterEach(async () => {
    await held?.down();
    held = undefined;
  });

  test('plan blocks and says the target must be seeded again, and how', async () => {
    const sb = await purged();
    const plan = await sb.cli(['plan']);
    assert.notEqual(plan.exitCode, 0, String(plan.all));
    assert.match(String(plan.all), /the position is gone: the target must be seeded again/);
    assert.match(String(plan.all), /rds-live-migrate run --reseed/);
  });

  test('run stops with the same words, not a timeout', async () => {
    const sb = await purged();
    const run = await sb.cli(['run']);
    assert.notEqual(run.exitCode, 0, String(run.all));
    assert.match(String(run.all), /the position is gone: the target must be seeded again/);
    assert.match(String(run.all), /rds-live-migrate run --reseed/);
    assert.doesNotMatch(String(run.all), /did not catch up|cannot read source-master's binlog for over/);
  });

  test('run --reseed drops what was seeded, replaces the replica and seeds again from a new freeze; nothing lost', async () => {
    const sb = await purged();
    const workload = sb.workload();
    const first = journalOf(sb.state).steps['freeze-replica']!.data!.executed as { file: string; pos: number };
    const reseeded = await sb.cli(['run', '--reseed', '--json']);
    assert.equal(reseeded.exitCode, 0, String(reseeded.all));
    // The stand-in's own summary is a progress line, which the log drops when it comes within 5 s of the one before.
    assert.match(String(reseeded.all), /replace the read replica sandbox-source-rlm-replica by a new one, sandbox-source-rlm-replica-2/);
    assert.match(String(reseeded.all), /\| \S+ creating the read replica sandbox-source-rlm-replica-2: a physical copy of source-master/);
    const journal = journalOf(sb.state);
    assert.equal(journal.history?.filter((h) => h.reason.startsWith('reseed')).length, 1, 'the old attempt is kept in the history');
    const second = journal.steps['freeze-replica']!.data!.executed as { file: string; pos: number };
    assert.notDeepEqual(second, first, 'frozen again, at a position the source still holds');
    assert.equal(lastJson<{ phase: string }>(await sb.cli(['status', '--json'])).phase, 'caught-up');
    await assertNothingLost(sb, workload);
  });
});

test('retention lowered on the source after run raised it: plan warns, and the next run raises it again', async () => {
  const sb = await shopSandbox();
  const root = await rootConnection(serverDir(sb.state.dir, 'source-master'));
  const retention = async () => {
    const [rows] = await root.query("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'");
    return (rows as { value: string | null }[])[0]!.value;
  };
  try {
    const first = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: 'before:freeze-replica' });
    assert.equal(first.signal, 'SIGKILL', String(first.all));
    assert.equal(await retention(), '24');
    // What a restart of a self-managed source (SET GLOBAL forgotten) or another hand on RDS does.
    await root.query("UPDATE mysql.rds_configuration SET value = '1' WHERE name = 'binlog retention hours'");
    const plan = await sb.cli(['plan']);
    assert.match(String(plan.all), /binlog retention is 1 h, below the 24 h this migration set/, String(plan.all));
    const again = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: 'before:seed-target' });
    assert.equal(again.signal, 'SIGKILL', String(again.all));
    assert.match(String(again.all), /binlog retention on source-master is 1 h, below the 24 h this migration set/);
    assert.equal(await retention(), '24');
  } finally {
    await root.end();
    await sb.down();
  }
});
