import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { CUTOVER_STEPS } from '../scripts/core/journal-format.js';
import { cutover } from '../scripts/cutover/cutover.js';
import { rollback } from '../scripts/cutover/rollback.js';
import type { TrafficSwitch } from '../scripts/cutover/traffic-switch.js';
import { connectSandboxAdmin, verifyAtRest } from '../scripts/dev/demo/scenario.js';
import type { Workload } from '../scripts/dev/demo/workload.js';
import { MigrationContext } from '../scripts/core/context.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { serverDir } from '../scripts/dev/sandbox/sandbox.js';
import { waitForPosition } from '../scripts/core/catch-up.js';
import mysql from 'mysql2/promise';
import { createLog } from '../scripts/support/log.js';
import { verifyMigration } from '../scripts/verify/verify.js';
import { journalOf, lastJson, migratedSandbox, type TestSandbox } from './helpers/sandbox.js';
import { assertNothingLost } from './helpers/migration.js';
import { moreWrites, until } from './helpers/wait.js';
import { setTimeout as delay } from 'node:timers/promises';

const quiet = createLog({ quiet: true });
// The rhythm of the replication stalls below is the scenario's, not a wait for a condition.
const pause = (ms: number) => delay(ms);

function contextOf(sb: TestSandbox): MigrationContext {
  return MigrationContext.open(loadConfig(sb.state.configFile), quiet);
}

const follow =
  (workload: Workload): TrafficSwitch =>
  async ({ endpoint }) =>
    workload.switchTo(endpoint);

const migrated = migratedSandbox;

/** A finished run, verified and cut over through the CLI. */
async function cutOver(): Promise<TestSandbox> {
  const sb = await migrated();
  try {
    assert.equal((await sb.cli(['verify'])).exitCode, 0);
    const cut = await sb.cli(['cutover']);
    assert.equal(cut.exitCode, 0, String(cut.all));
    return sb;
  } catch (err) {
    await sb.down();
    throw err;
  }
}

describe('verify', () => {
  let sb: TestSandbox;
  before(async () => (sb = await migrated(0.1)));
  after(async () => sb.down());

  test('reports no difference while the application writes and replication lags in bursts', async () => {
    const workload = sb.workload();
    const targetRoot = await rootConnection(join(sb.state.dir, 'servers', 'target-master'));
    let lagging = true;
    // The target's SQL thread is stopped and started again every 300 ms: bursts of lag during the compare.
    const lagger = (async () => {
      await pause(300); // verify checks once, at its start, that replication runs
      while (lagging) {
        await targetRoot.query('STOP SLAVE SQL_THREAD');
        await pause(300);
        await targetRoot.query('START SLAVE SQL_THREAD');
        await pause(300);
      }
    })();
    const ctx = contextOf(sb);
    try {
      const report = await verifyMigration(ctx, { chunkSize: 500 });
      assert.equal(report.differences.length, 0, JSON.stringify(report.differences));
      assert.deepEqual(report.schemaDifferences, []);
      assert.equal(report.tablesCompared, 8);
      assert.ok(report.chunksCompared > 20);
      assert.ok(workload.committed > 0);
    } finally {
      lagging = false;
      await lagger;
      await targetRoot.end();
      await ctx.close();
      await workload.stop();
    }
  });

  test('finds a single row changed on the target behind replication, and names its key', async () => {
    const target = await connectSandboxAdmin(sb.state, 'target-master');
    await target.query("UPDATE shop.customers SET name = CONCAT(name, '!') WHERE id = 1234");
    await target.close();
    const result = await sb.cli(['verify', '--json']);
    assert.equal(result.exitCode, 1);
    const report = lastJson<{ ok: boolean; differences: { table: string; keys: string[] }[] }>(result);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.differences.map((d) => [d.table, d.keys]),
      [['shop.customers', ['1234']]],
    );
    assert.match(String(result.stderr), /shop\.customers differs in chunk .* keys: 1234/);
  });

  test('finds a missing trigger and a user whose grants differ', async () => {
    const target = await connectSandboxAdmin(sb.state, 'target-master');
    await target.query('DROP TRIGGER shop.orders_audit');
    await target.query("REVOKE DELETE ON shop.* FROM 'shop_app'@'%'");
    await target.close();
    const ctx = contextOf(sb);
    try {
      const report = await verifyMigration(ctx);
      assert.deepEqual(report.schemaDifferences.map((d) => `${d.kind} ${d.name}: ${d.detail}`).sort(), [
        'trigger `shop`.`orders_audit`: missing on target',
        "user 'shop_app'@'%': grants differ",
      ]);
    } finally {
      await ctx.close();
    }
  });
});

// Each test starts from its own copy of a finished run (migratedSandbox), so any one runs alone.
describe('cutover and rollback with the application writing', () => {
  test('cutover refuses without a clean verify, and says how to proceed', async () => {
    const sb = await migrated();
    try {
      const result = await sb.cli(['cutover']);
      assert.equal(result.exitCode, 1);
      assert.match(String(result.stderr), /cutover refused: verify has not been run since the target started replicating/);
      assert.equal(journalOf(sb.state).steps['cutover:freeze-source'], undefined, 'nothing was frozen');

      // A target that flushes less often than the source would lose acknowledged writes in a crash: not even --force.
      const sourceRoot = await rootConnection(serverDir(sb.state.dir, 'source-master'));
      const targetRoot = await rootConnection(serverDir(sb.state.dir, 'target-master'));
      await sourceRoot.query('SET GLOBAL innodb_flush_log_at_trx_commit = 1, sync_binlog = 1');
      await targetRoot.query('SET GLOBAL innodb_flush_log_at_trx_commit = 2, sync_binlog = 0');
      await Promise.all([sourceRoot.end(), targetRoot.end()]);
      assert.equal((await sb.cli(['verify'])).exitCode, 0);
      const weaker = await sb.cli(['cutover', '--force']);
      assert.equal(weaker.exitCode, 1);
      assert.match(
        String(weaker.stderr),
        /cutover refused; nothing was changed: target-master flushes commits less often than source-master: innodb_flush_log_at_trx_commit 2 \(source-master: 1\), sync_binlog 0 \(source-master: 1\)/,
      );
      assert.equal(journalOf(sb.state).steps['cutover:freeze-source'], undefined, 'nothing was frozen');
    } finally {
      await sb.down();
    }
  });

  test('cutover, writes on the target, rollback, cutover again: the application follows each switch and nothing is lost', async (t) => {
    const sb = await migrated();
    const workload = sb.workload();
    const ctx = contextOf(sb);
    try {
      ctx.journal.done('verify', (await verifyMigration(ctx)) as unknown as Record<string, unknown>);
      const first = await cutover(ctx, { trafficSwitch: follow(workload) });
      // Durations are measured by the demo and the bench, not asserted on a shared machine.
      t.diagnostic(`cutover took ${first.cutoverMs} ms`);
      await moreWrites(workload, 20); // the workload keeps committing, now on the target
      const back = await rollback(ctx, { trafficSwitch: follow(workload) });
      assert.equal(back.kind, 'rolled-back');
      await moreWrites(workload, 20);

      // A second cutover needs a fresh verify: rollback archived the old one.
      await assert.rejects(cutover(ctx, { trafficSwitch: follow(workload) }), /verify has not been run/);
      ctx.journal.done('verify', (await verifyMigration(ctx)) as unknown as Record<string, unknown>);
      await cutover(ctx, { trafficSwitch: follow(workload) });
      await moreWrites(workload, 20);
      const written = await workload.stop();
      t.diagnostic(`longest gap between two commits: ${written.longestWriteGapMs} ms`);
      const rest = await verifyAtRest(sb.state, written, quiet, 'target-master');
      assert.deepEqual(
        rest.tables.filter((t) => !t.equal),
        [],
      );
      assert.equal(rest.acknowledgedWritesLost, 0);
    } finally {
      await workload.stop();
      await ctx.close();
      await sb.down();
    }
  });

  test('after cutover the old source refuses the application and follows the target; events run only on the target', async () => {
    const sb = await cutOver();
    try {
      const report = lastJson<{ phase: string; replication: { follower: string; sql: boolean } }>(await sb.cli(['status', '--json']));
      assert.equal(report.phase, 'cut-over');
      assert.equal(report.replication.follower, 'source-master');
      assert.equal(report.replication.sql, true);
      const source = await connectSandboxAdmin(sb.state, 'source-master');
      const target = await connectSandboxAdmin(sb.state, 'target-master');
      try {
        const [locked] = await source.query<{ l: string }>(
          "SELECT JSON_VALUE(Priv, '$.account_locked') AS l FROM mysql.global_priv WHERE User = 'shop_app'",
        );
        assert.equal(String(locked!.l), '1');
        const [status] = await source.query<{ Slave_SQL_Running: string }>('SHOW SLAVE STATUS');
        assert.equal(status!.Slave_SQL_Running, 'Yes');
        const events = async (s: typeof source) =>
          (await s.query<{ status: string }>("SELECT STATUS AS status FROM information_schema.EVENTS WHERE EVENT_NAME = 'tick'"))[0]!
            .status;
        assert.equal(await events(target), 'ENABLED');
        assert.equal(await events(source), 'SLAVESIDE_DISABLED');
      } finally {
        await Promise.all([source.close(), target.close()]);
      }
    } finally {
      await sb.down();
    }
  });

  test('finalize ends reverse replication and drops the replication user, leaving the old source in place', async () => {
    const sb = await cutOver();
    try {
      const result = await sb.cli(['finalize', '--json']);
      assert.equal(result.exitCode, 0, String(result.all));
      const source = await connectSandboxAdmin(sb.state, 'source-master');
      try {
        assert.equal((await source.query('SHOW SLAVE STATUS')).length, 0);
        assert.equal((await source.query("SELECT 1 FROM mysql.user WHERE User = 'rlm_repl'")).length, 0);
        assert.ok(Number(await source.value('SELECT COUNT(*) FROM shop.customers')) > 0);
      } finally {
        await source.close();
      }
    } finally {
      await sb.down();
    }
  });
});

describe('a cutover killed between any two steps', () => {
  const steps = CUTOVER_STEPS;

  test('resumes to a completed cutover with the switch command run, and nothing lost', async () => {
    const sb = await migrated();
    const switchLog = join(sb.state.dir, 'switch.log');
    const config = JSON.parse(readFileSync(sb.state.configFile, 'utf8'));
    config.migration.trafficSwitchCommand = ['sh', '-c', `echo "$RLM_DIRECTION $RLM_HOST:$RLM_PORT" >> ${switchLog}`];
    writeFileSync(sb.state.configFile, JSON.stringify(config));
    const workload = sb.workload();
    try {
      assert.equal((await sb.cli(['verify'])).exitCode, 0);
      for (const step of steps) {
        const crashed = await sb.cli(['cutover'], { RDS_LIVE_MIGRATE_CRASH: `after:${step}` });
        assert.equal(crashed.signal, 'SIGKILL', `${step}: ${crashed.all}`);
      }
      const done = await sb.cli(['cutover', '--json']);
      assert.equal(done.exitCode, 0, String(done.all));
      // Killed after the switch but before its journal entry, the switch runs again: hooks must be idempotent.
      const switches = readFileSync(switchLog, 'utf8').trim().split('\n');
      assert.deepEqual([...new Set(switches)], [`to-target 127.0.0.1:${sb.state.servers['target-master'].port}`]);
      workload.switchTo({ host: '127.0.0.1', port: sb.state.servers['target-master'].port });
      await assertNothingLost(sb, workload, 'target-master');
    } finally {
      await workload.stop();
      await sb.down();
    }
  });

  test('killed after the target was detached, rollback returns to the source with nothing lost', async () => {
    const sb = await migrated();
    const workload = sb.workload();
    try {
      assert.equal((await sb.cli(['verify'])).exitCode, 0);
      const crashed = await sb.cli(['cutover'], { RDS_LIVE_MIGRATE_CRASH: 'after:cutover:detach-target' });
      assert.equal(crashed.signal, 'SIGKILL');
      const back = await sb.cli(['rollback', '--json']);
      assert.equal(back.exitCode, 0, String(back.all));
      assert.equal(lastJson(back).kind, 'rolled-back');
      await assertNothingLost(sb, workload, 'source-master');
    } finally {
      await workload.stop();
      await sb.down();
    }
  });

  test('killed right after freezing the source, rollback only unfreezes it', async () => {
    const sb = await migrated();
    try {
      assert.equal((await sb.cli(['verify'])).exitCode, 0);
      assert.equal((await sb.cli(['cutover'], { RDS_LIVE_MIGRATE_CRASH: 'after:cutover:freeze-source' })).signal, 'SIGKILL');
      const back = await sb.cli(['rollback', '--json']);
      assert.equal(lastJson(back).kind, 'aborted');
      const source = await connectSandboxAdmin(sb.state, 'source-master');
      const [locked] = await source.query<{ l: string }>(
        "SELECT JSON_VALUE(Priv, '$.account_locked') AS l FROM mysql.global_priv WHERE User = 'shop_app'",
      );
      assert.equal(String(locked!.l), '0');
      await source.close();
    } finally {
      await sb.down();
    }
  });

  // The application may write the moment its accounts unlock, before the opened side's position is read:
  // the follower must start before such a write, never after it. A redo of the step unlocks again.
  test('a write landing while a side reopens reaches the other side, also when the reopening step is redone', async () => {
    const sb = await migrated();
    const appWrite = async (role: 'source-master' | 'target-master', seq: number) => {
      const app = await mysql.createConnection({
        host: '127.0.0.1',
        port: sb.state.servers[role].port,
        user: sb.app.user,
        password: sb.app.password,
      });
      await app.query("INSERT INTO shop.workload_writes (writer, seq, payload) VALUES (999, ?, 'while reopening')", [seq]);
      await app.end();
    };
    const hasWrite = async (role: 'source-master' | 'target-master', seq: number) => {
      const root = await rootConnection(serverDir(sb.state.dir, role));
      const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT 1 FROM shop.workload_writes WHERE writer = 999 AND seq = ?', [seq]);
      await root.end();
      return rows.length === 1;
    };
    try {
      assert.equal((await sb.cli(['verify'])).exitCode, 0);
      assert.equal((await sb.cli(['cutover'], { RDS_LIVE_MIGRATE_CRASH: 'mid:cutover:open-target' })).signal, 'SIGKILL');
      await appWrite('target-master', 1);
      assert.equal((await sb.cli(['cutover'])).exitCode, 0);
      await until('the old source to apply the write made while the target reopened', () => hasWrite('source-master', 1), 30_000);

      assert.equal((await sb.cli(['rollback'], { RDS_LIVE_MIGRATE_CRASH: 'mid:rollback:reopen-source' })).signal, 'SIGKILL');
      await appWrite('source-master', 2);
      assert.equal((await sb.cli(['rollback'])).exitCode, 0);
      await until('the target to apply the write made while the source reopened', () => hasWrite('target-master', 2), 30_000);
      const ctx = contextOf(sb);
      const source = await ctx.server('source-master');
      await waitForPosition(ctx, await ctx.server('target-master'), (await ctx.dialect.flavour.writePosition(source))!, 60_000);
      await ctx.close();
    } finally {
      await sb.down();
    }
  });
});
