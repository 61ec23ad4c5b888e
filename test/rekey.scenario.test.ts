import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from 'mysql2/promise';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { serverDir } from '../scripts/dev/sandbox/sandbox.js';
import { assertNothingLost, knownSecrets } from './helpers/migration.js';
import { journalOf, lastJson, sandboxAfter, type TestSandbox } from './helpers/sandbox.js';
import { until } from './helpers/wait.js';

/** A run killed once the target follows the source, before catch-up. */
async function pointed(sb: TestSandbox): Promise<void> {
  const crashed = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: 'before:catch-up' });
  assert.equal(crashed.signal, 'SIGKILL', String(crashed.all));
}

async function slaveStatus(root: Connection): Promise<Record<string, unknown>> {
  const [rows] = await root.query('SHOW SLAVE STATUS');
  return (rows as Record<string, unknown>[])[0] ?? {};
}

/**
 * Someone on the source gives the replication user a password of their own, and the target's IO thread
 * logs in again (as after a network blip or a source restart) and is refused.
 */
async function passwordChangedOnSource(sb: TestSandbox): Promise<string> {
  earlier.push(...knownSecrets(sb));
  const user = journalOf(sb.state).steps['replication-user']?.data?.user as string;
  const foreign = randomBytes(18).toString('base64url');
  const source = await rootConnection(serverDir(sb.state.dir, 'source-master'));
  const target = await rootConnection(serverDir(sb.state.dir, 'target-master'));
  try {
    await source.query("ALTER USER ?@'%' IDENTIFIED BY ?", [user, foreign]);
    await target.query('STOP SLAVE IO_THREAD');
    await target.query('START SLAVE IO_THREAD');
    await until('the target to be refused by source-master', async () => Number((await slaveStatus(target)).Last_IO_Errno) === 1045);
  } finally {
    await source.end();
    await target.end();
  }
  return foreign;
}

/** Passwords the replication user had before this test changed it. */
const earlier: string[] = [];

function assertNoSecret(sb: TestSandbox, foreign: string): void {
  const printed = sb.output.join('\n');
  for (const secret of [...earlier, ...knownSecrets(sb), foreign]) assert.ok(!printed.includes(secret), 'the output holds a password');
}

describe('the replication user is re-keyed on the source during catch-up', () => {
  let held: TestSandbox | undefined;
  const start = async () => (held = await sandboxAfter('pointed, before catch-up', pointed));
  afterEach(async () => {
    await held?.down();
    held = undefined;
  });

  test('run gives the user a new password, re-points the target where it stopped and finishes; nothing is lost', async () => {
    const sb = await start();
    const workload = sb.workload();
    const foreign = await passwordChangedOnSource(sb);
    const run = await sb.cli(['run', '--json']);
    assert.equal(run.exitCode, 0, String(run.all));
    assert.equal(lastJson(run).ok, true);
    assert.match(String(run.all), /could not log in.*new password.*re-pointed at/s);
    await assertNothingLost(sb, workload);
    assertNoSecret(sb, foreign);
  });

  for (const [point, left] of [
    ['mid:rekey-target', 'between the reset and the re-point'],
    ['mid:catch-up', 'between the re-point and the start'],
  ] as const)
    test(`a run killed ${left} is finished by the next run; nothing is lost`, async () => {
      const sb = await start();
      const workload = sb.workload();
      const foreign = await passwordChangedOnSource(sb);
      const killed = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: point });
      assert.equal(killed.signal, 'SIGKILL', String(killed.all));
      const target = await rootConnection(serverDir(sb.state.dir, 'target-master'));
      try {
        const status = await slaveStatus(target);
        if (point === 'mid:rekey-target') assert.deepEqual(status, {}, 'the kill left the target without replication');
        else assert.equal(status.Slave_SQL_Running, 'No', 'the kill left the target pointed, not started');
      } finally {
        await target.end();
      }
      assert.equal((journalOf(sb.state).steps['catch-up']?.data?.rekey as { state?: string } | undefined)?.state, 'pending');
      const run = await sb.cli(['run', '--json']);
      assert.equal(run.exitCode, 0, String(run.all));
      await assertNothingLost(sb, workload);
      assertNoSecret(sb, foreign);
    });

  test('a user that stays refused ends the run after a few new passwords, with what to do; fixed, the next run finishes', async () => {
    const sb = await start();
    const workload = sb.workload();
    const user = journalOf(sb.state).steps['replication-user']?.data?.user as string;
    const source = await rootConnection(serverDir(sb.state.dir, 'source-master'));
    try {
      const foreign = await passwordChangedOnSource(sb);
      await source.query("ALTER USER ?@'%' ACCOUNT LOCK", [user]);
      const refused = await sb.cli(['run', '--json']);
      assert.equal(refused.exitCode, 1, String(refused.all));
      assert.match(String(refused.all), /refused by source-master again after 3 new passwords/);
      assert.match(String(refused.all), /find it and stop it, then run again/);
      await source.query("ALTER USER ?@'%' ACCOUNT UNLOCK", [user]);
      const run = await sb.cli(['run', '--json']);
      assert.equal(run.exitCode, 0, String(run.all));
      await assertNothingLost(sb, workload);
      assertNoSecret(sb, foreign);
    } finally {
      await source.end();
    }
  });
});
