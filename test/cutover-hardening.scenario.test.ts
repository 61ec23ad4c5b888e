import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { MigrationContext } from '../scripts/core/context.js';
import { waitForPosition } from '../scripts/core/catch-up.js';
import { loadConfig } from '../config/load.js';
import { connectSandboxAdmin } from '../scripts/dev/demo/scenario.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { createLog } from '../scripts/support/log.js';
import { serverDir } from '../scripts/dev/sandbox/sandbox.js';
import { journalOf, lastJson, migratedSandbox, type TestSandbox } from './helpers/sandbox.js';
import { until } from './helpers/wait.js';

type Role = 'source-master' | 'target-master';

/** One application write on `role` as the application's own account: fails if its account is locked. */
async function appWrite(sb: TestSandbox, role: Role, seq: number): Promise<void> {
  const app = await mysql.createConnection({
    host: '127.0.0.1',
    port: sb.state.servers[role].port,
    user: sb.app.user,
    password: sb.app.password,
  });
  try {
    await app.query("INSERT INTO shop.workload_writes (writer, seq, payload) VALUES (998, ?, 'hardening')", [seq]);
  } finally {
    await app.end();
  }
}

async function hasWrite(sb: TestSandbox, role: Role, seq: number): Promise<boolean> {
  const root = await rootConnection(serverDir(sb.state.dir, role));
  try {
    const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT 1 FROM shop.workload_writes WHERE writer = 998 AND seq = ?', [seq]);
    return rows.length === 1;
  } finally {
    await root.end();
  }
}

async function verifiedAndCutOver(sb: TestSandbox, crash?: string): Promise<void> {
  assert.equal((await sb.cli(['verify'])).exitCode, 0);
  const cut = await sb.cli(['cutover']);
  assert.equal(cut.exitCode, 0, String(cut.all));
  if (!crash) return;
  const killed = await sb.cli(['rollback'], { RDS_LIVE_MIGRATE_CRASH: crash });
  assert.equal(killed.signal, 'SIGKILL', String(killed.all));
}

// A command run in the wrong phase must refuse before touching a server: each of these froze a side
// that nothing would reopen, leaving the application nowhere to write.
describe('commands run out of turn after a cutover', () => {
  test('rollback after finalize refuses, and the target keeps taking writes', async () => {
    const sb = await migratedSandbox();
    try {
      await verifiedAndCutOver(sb);
      assert.equal((await sb.cli(['finalize'])).exitCode, 0);
      const back = await sb.cli(['rollback']);
      assert.equal(back.exitCode, 1, String(back.all));
      assert.match(String(back.stderr), /rollback refused: the migration was finalized/);
      assert.equal(journalOf(sb.state).steps['rollback:freeze-target'], undefined, 'nothing was frozen');
      await appWrite(sb, 'target-master', 1);
    } finally {
      await sb.down();
    }
  });

  test('with a rollback killed after freezing the target, finalize and cutover refuse; rollback finishes it', async () => {
    const sb = await migratedSandbox();
    try {
      await verifiedAndCutOver(sb, 'after:rollback:freeze-target');
      const finalize = await sb.cli(['finalize']);
      assert.equal(finalize.exitCode, 1, String(finalize.all));
      assert.match(String(finalize.stderr), /finalize refused: a rollback is in progress/);
      const cutover = await sb.cli(['cutover']);
      assert.equal(cutover.exitCode, 1, String(cutover.all));
      assert.match(String(cutover.stderr), /cutover refused: a rollback is in progress/);

      const back = await sb.cli(['rollback', '--json']);
      assert.equal(back.exitCode, 0, String(back.all));
      assert.equal(lastJson(back).kind, 'rolled-back');
      await appWrite(sb, 'source-master', 2);
      await until('the target to apply a write made on the source after the rollback', () => hasWrite(sb, 'target-master', 2), 30_000);
    } finally {
      await sb.down();
    }
  });
});

async function writesOf(sb: TestSandbox, role: Role, writer: number): Promise<number> {
  const root = await rootConnection(serverDir(sb.state.dir, role));
  try {
    const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM shop.workload_writes WHERE writer = ?', [writer]);
    return Number(rows[0]!.n);
  } finally {
    await root.end();
  }
}

// Disabling an event does not stop a run already under way; with the master user as its definer
// (common on RDS) its session is no application session either, so nothing ended it.
describe('an event run under way when the source freezes', () => {
  test('is ended by the freeze: no write of it lands on the old source alone', async () => {
    const sb = await migratedSandbox();
    const holder = await rootConnection(serverDir(sb.state.dir, 'source-master'));
    const admin = await connectSandboxAdmin(sb.state, 'source-master');
    try {
      await holder.query("SELECT GET_LOCK('rlm_event_gate', 600)");
      await admin.query(
        "CREATE EVENT shop.nightly ON SCHEDULE EVERY 1 HOUR DO BEGIN DO GET_LOCK('rlm_event_gate', 600); INSERT INTO shop.workload_writes (writer, seq, payload) VALUES (997, 1, 'event'); END",
      );
      await until('the event run to wait on the gate', async () => {
        const [rows] = await holder.query<mysql.RowDataPacket[]>(
          "SELECT 1 FROM information_schema.PROCESSLIST WHERE DB = 'shop' AND STATE = 'User lock' AND INFO LIKE '%rlm_event_gate%'",
        );
        return rows.length > 0;
      });
      assert.equal((await sb.cli(['verify'])).exitCode, 0);
      assert.equal((await sb.cli(['cutover'], { RDS_LIVE_MIGRATE_CRASH: 'after:cutover:detach-target' })).signal, 'SIGKILL');
      await holder.query("SELECT RELEASE_LOCK('rlm_event_gate')");
      const done = await sb.cli(['cutover']);
      assert.equal(done.exitCode, 0, String(done.all));

      const ctx = MigrationContext.open(loadConfig(sb.state.configFile), createLog({ quiet: true }));
      try {
        const target = await ctx.server('target-master');
        await waitForPosition(ctx, await ctx.server('source-master'), (await ctx.dialect.flavour.writePosition(target))!, 60_000);
      } finally {
        await ctx.close();
      }
      const onSource = await writesOf(sb, 'source-master', 997);
      const onTarget = await writesOf(sb, 'target-master', 997);
      // A write of the event on the old source only is lost to the application, and the two sides diverge.
      assert.equal(onSource, onTarget, `the event's write: ${onSource} on the old source, ${onTarget} on the target`);
    } finally {
      await holder.end();
      await admin.close();
      await sb.down();
    }
  });
});
