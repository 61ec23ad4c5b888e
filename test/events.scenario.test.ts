import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/load.js';
import { cutover } from '../scripts/cutover/cutover.js';
import { rollback } from '../scripts/cutover/rollback.js';
import type { TrafficSwitch } from '../scripts/cutover/traffic-switch.js';
import { connectSandboxAdmin, verifyAtRest, type AdminRole } from '../scripts/dev/demo/scenario.js';
import type { Workload } from '../scripts/dev/demo/workload.js';
import type { Server } from '../scripts/db/connection.js';
import { mariadb } from '../scripts/db/flavour.js';
import { waitForPosition } from '../scripts/core/catch-up.js';
import { MigrationContext } from '../scripts/core/context.js';
import { createLog } from '../scripts/support/log.js';
import { verifyMigration } from '../scripts/verify/verify.js';
import { lastJson, shopSandbox, type TestSandbox } from './helpers/sandbox.js';
import { until } from './helpers/wait.js';

// Events and accounts that change between the seed and the switch: the freeze
// must act on the servers as they are at that moment, and no event may ever
// fire on both servers (the follower would then diverge or stop on a duplicate key).

const quiet = createLog({ quiet: true });
const follow =
  (workload: Workload): TrafficSwitch =>
  async ({ endpoint }) =>
    workload.switchTo(endpoint);
const other = (role: AdminRole): AdminRole => (role === 'source-master' ? 'target-master' : 'source-master');

/** Each firing records the server it ran on; the key lets both servers' rows coexist, so a double firing shows as rows, not as a silent event error. */
const LOG_TABLE =
  'CREATE TABLE shop.event_log (ev VARCHAR(32) NOT NULL, at DATETIME NOT NULL, server_id INT UNSIGNED NOT NULL, PRIMARY KEY (ev, at, server_id))';
const logEvery = (name: string, schedule = 'EVERY 1 SECOND') =>
  `CREATE EVENT shop.${name} ON SCHEDULE ${schedule} DO INSERT INTO shop.event_log VALUES ('${name}', NOW(), @@server_id)`;

const waitFor = (what: string, check: () => Promise<boolean>) => until(what, check);

async function withAdmins<T>(sb: TestSandbox, work: (s: Record<AdminRole, Server>) => Promise<T>): Promise<T> {
  const servers = {
    'source-master': await connectSandboxAdmin(sb.state, 'source-master'),
    'target-master': await connectSandboxAdmin(sb.state, 'target-master'),
  };
  try {
    return await work(servers);
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.close()));
  }
}

const eventStatus = async (s: Server, name: string) =>
  (await s.value<string>('SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?', ['shop', name])) ??
  'gone';
const firings = async (s: Server, ev: string, serverId: unknown) =>
  Number(await s.value('SELECT COUNT(*) FROM shop.event_log WHERE ev = ? AND server_id = ?', [ev, serverId]));
const isLocked = async (s: Server, user: string) =>
  String(await s.value("SELECT JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv WHERE User = ? AND Host = '%'", [user]));

async function assertFollowerHealthy(sb: TestSandbox, s: Record<AdminRole, Server>, leader: AdminRole): Promise<void> {
  const ctx = MigrationContext.open(loadConfig(sb.state.configFile), quiet);
  try {
    await waitForPosition(ctx, s[other(leader)], (await mariadb.writePosition(s[leader]))!, 30_000);
  } finally {
    await ctx.close();
  }
  const [status] = await s[other(leader)].query<{ Slave_SQL_Running: string; Last_SQL_Error: string }>('SHOW SLAVE STATUS');
  assert.equal(status?.Last_SQL_Error, '', `${other(leader)} stopped following: ${status?.Last_SQL_Error}`);
  assert.equal(status?.Slave_SQL_Running, 'Yes');
}

/** `events` run on the leader only, and fire there; the follower holds them as replicated (SLAVESIDE_DISABLED) and runs none. */
async function assertEventsRunOnlyOn(sb: TestSandbox, leader: AdminRole, events: string[]): Promise<void> {
  await withAdmins(sb, async (s) => {
    const follower = other(leader);
    const ids = { [leader]: await s[leader].value('SELECT @@server_id'), [follower]: await s[follower].value('SELECT @@server_id') };
    await assertFollowerHealthy(sb, s, leader); // the ENABLE on the leader has replicated
    for (const e of events) {
      assert.equal(await eventStatus(s[leader], e), 'ENABLED', `${e} on ${leader}`);
      assert.equal(await eventStatus(s[follower], e), 'SLAVESIDE_DISABLED', `${e} on ${follower}`);
    }
    // The demo's tick writes elsewhere; the events made here log each firing with the server it ran on.
    const logged = events.filter((e) => e !== 'tick');
    const before = await Promise.all(logged.map((e) => firings(s[follower], e, ids[follower])));
    for (const e of logged) {
      const start = await firings(s[leader], e, ids[leader]);
      await waitFor(`${e} to fire on ${leader}`, async () => (await firings(s[leader], e, ids[leader])) >= start + 2);
    }
    await assertFollowerHealthy(sb, s, leader);
    assert.deepEqual(
      await Promise.all(logged.map((e) => firings(s[follower], e, ids[follower]))),
      before,
      `no event may fire on ${follower}`,
    );
  });
}

async function assertAccountsOpenOnlyOn(sb: TestSandbox, leader: AdminRole, users: string[]): Promise<void> {
  await withAdmins(sb, async (s) => {
    for (const u of users) {
      assert.equal(await isLocked(s[leader], u), '0', `${u} must be open on ${leader}`);
      assert.equal(await isLocked(s[other(leader)], u), '1', `${u} must be locked on ${other(leader)}`);
    }
  });
}

async function prepareSource(sb: TestSandbox): Promise<void> {
  await withAdmins(sb, async (s) => {
    const source = s['source-master'];
    await source.query(LOG_TABLE);
    await source.query(logEvery('stays'));
    await source.query(logEvery('selfdrop', 'AT CURRENT_TIMESTAMP + INTERVAL 1 DAY'));
    await source.query(logEvery('appdrop', 'EVERY 1 DAY STARTS CURRENT_TIMESTAMP + INTERVAL 1 DAY'));
    for (const user of ['o\\', "o'q", 'gone_app']) {
      await source.query("CREATE USER ?@'%' IDENTIFIED BY 'Pw-0123456789'", [user]);
      await source.query("GRANT SELECT, INSERT ON shop.* TO ?@'%'", [user]);
    }
  });
}

/** What the application and the scheduler do to the source after the seed. */
async function changeSourceAfterSeed(sb: TestSandbox): Promise<void> {
  await withAdmins(sb, async (s) => {
    const source = s['source-master'];
    await source.query('ALTER EVENT shop.selfdrop ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 SECOND');
    await waitFor('the one-shot event to run and drop itself', async () => (await eventStatus(source, 'selfdrop')) === 'gone');
    await source.query('DROP EVENT shop.appdrop');
    await source.query(logEvery('late'));
    await source.query("CREATE USER 'late_app'@'%' IDENTIFIED BY 'Pw-0123456789'");
    await source.query("DROP USER 'gone_app'@'%'");
  });
}

const USERS = ['shop_app', 'o\\', "o'q", 'late_app'];
const EVENTS = ['stays', 'late', 'tick'];

describe('events and accounts that changed between the seed and cutover', () => {
  let sb: TestSandbox;
  before(async () => {
    sb = await shopSandbox(0.05);
    await prepareSource(sb);
    const run = await sb.cli(['run']);
    assert.equal(run.exitCode, 0, String(run.all));
    await changeSourceAfterSeed(sb);
  });
  after(async () => sb.down());

  test('cutover, rollback and cutover again act on the events and accounts as they are at each switch', async () => {
    const workload = sb.workload();
    const ctx = MigrationContext.open(loadConfig(sb.state.configFile), quiet);
    try {
      ctx.journal.done('verify', await verifyMigration(ctx));
      await cutover(ctx, { trafficSwitch: follow(workload) });
      await assertEventsRunOnlyOn(sb, 'target-master', EVENTS);
      await assertAccountsOpenOnlyOn(sb, 'target-master', USERS);

      const afterCutover = await verifyMigration(ctx);
      assert.equal(afterCutover.direction, 'target-master → source-master');
      assert.equal(afterCutover.ok, true, JSON.stringify(afterCutover));

      // Made on the target while it leads: the rollback must hold it back there and run it on the source.
      await withAdmins(sb, (s) => s['target-master'].query(logEvery('on_target')));
      assert.equal((await rollback(ctx, { trafficSwitch: follow(workload) })).kind, 'rolled-back');
      await assertEventsRunOnlyOn(sb, 'source-master', [...EVENTS, 'on_target']);
      await assertAccountsOpenOnlyOn(sb, 'source-master', USERS);

      ctx.journal.done('verify', await verifyMigration(ctx));
      await cutover(ctx, { trafficSwitch: follow(workload) });
      await assertEventsRunOnlyOn(sb, 'target-master', [...EVENTS, 'on_target']);
      await assertAccountsOpenOnlyOn(sb, 'target-master', USERS);

      const written = await workload.stop();
      const rest = await verifyAtRest(sb.state, written, quiet, 'target-master');
      assert.deepEqual(
        rest.tables.filter((t) => !t.equal),
        [],
      );
      assert.equal(rest.acknowledgedWritesLost, 0);
    } finally {
      await workload.stop();
      await ctx.close();
    }
  });
});

describe('a cutover killed between freeze-source and enable-events, with events changing meanwhile', () => {
  let sb: TestSandbox;
  before(async () => {
    sb = await shopSandbox(0.05);
    await withAdmins(sb, (s) => s['source-master'].query(LOG_TABLE));
    const run = await sb.cli(['run']);
    assert.equal(run.exitCode, 0, String(run.all));
  });
  after(async () => sb.down());

  test('the redo holds back what the first attempt did plus what appeared since; verify with the target detached says NOT VERIFIED without waiting on chunks', async (t) => {
    assert.equal((await sb.cli(['verify'])).exitCode, 0);
    const frozen = await sb.cli(['cutover'], { RDS_LIVE_MIGRATE_CRASH: 'after:cutover:freeze-source' });
    assert.equal(frozen.signal, 'SIGKILL', String(frozen.all));
    await withAdmins(sb, async (s) => {
      await s['source-master'].query(logEvery('during'));
      await s['source-master'].query('DROP EVENT shop.tick');
    });
    const redone = await sb.cli(['cutover'], { RDS_LIVE_MIGRATE_CRASH: 'after:cutover:detach-target' });
    assert.equal(redone.signal, 'SIGKILL', String(redone.all));

    const detached = await sb.cli(['verify', '--json']);
    assert.equal(detached.exitCode, 1);
    const report = lastJson<{ ok: boolean; differences: unknown[]; unverifiedChunks: number; chunksCompared: number; durationMs: number }>(
      detached,
    );
    assert.equal(report.ok, false);
    assert.deepEqual(report.differences, []);
    assert.ok(report.unverifiedChunks > 0 && report.unverifiedChunks === report.chunksCompared, JSON.stringify(report));
    t.diagnostic(`verify spent ${report.durationMs} ms on ${report.chunksCompared} chunks that nothing follows`);
    assert.match(String(detached.stderr), /NOT VERIFIED/);
    assert.doesNotMatch(String(detached.all), /DIFFERENCES/);

    const done = await sb.cli(['cutover']);
    assert.equal(done.exitCode, 0, String(done.all));
    await assertEventsRunOnlyOn(sb, 'target-master', ['during']);
    await withAdmins(sb, async (s) => {
      assert.equal(await eventStatus(s['target-master'], 'tick'), 'gone');
      assert.equal(await eventStatus(s['source-master'], 'tick'), 'gone');
    });

    const clean = await sb.cli(['verify', '--json']);
    assert.equal(clean.exitCode, 0, String(clean.all));
    assert.equal(lastJson<{ direction: string }>(clean).direction, 'target-master → source-master');

    const back = await sb.cli(['rollback', '--json']);
    assert.equal(back.exitCode, 0, String(back.all));
    await assertEventsRunOnlyOn(sb, 'source-master', ['during']);
  });
});
