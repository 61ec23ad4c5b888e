import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
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
