import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { applyParameters } from '../../../stacks/engine.js';
import { rootConnection } from '../sandbox/mariadb-server.js';
import { sandboxDown, sandboxUp, type SandboxState } from '../sandbox/sandbox.js';
import { OperatorError } from '../../support/errors.js';
import type { Log } from '../../support/log.js';
import { setTimeout as delay } from 'node:timers/promises';

const DB = 'catchup';
const TABLES = ['c1', 'c2', 'c3', 'c4'];

export interface CatchUpOptions {
  dir: string;
  /** How long the writers run on the source while the target's replication is stopped. */
  seconds: number;
  writers: number;
  /** slave_parallel_threads for the parallel modes. */
  applyThreads: number;
  rowsPerTable: number;
  log: Log;
}

export type ApplyMode = 'single' | 'conservative' | 'optimistic';
export type Durability = 'strict' | 'relaxed';

const VARIANTS: { mode: ApplyMode; durability: Durability }[] = [
  { mode: 'single', durability: 'strict' },
  { mode: 'conservative', durability: 'strict' },
  { mode: 'optimistic', durability: 'strict' },
  { mode: 'single', durability: 'relaxed' },
  { mode: 'conservative', durability: 'relaxed' },
  { mode: 'optimistic', durability: 'relaxed' },
];

export interface ApplyResult {
  mode: ApplyMode;
  threads: number;
  /** The target's flushing while it applies: strict as RDS commits (1/1), or relaxed (innodb_flush_log_at_trx_commit=2, sync_binlog=0). */
  durability: Durability;
  applyMs: number;
  commitsPerSec: number;
  bytesPerSec: number;
}

export interface CatchUpReport {
  writers: number;
  writeSeconds: number;
  commits: number;
  backlogBytes: number;
  writeCommitsPerSec: number;
  writeBytesPerSec: number;
  modes: ApplyResult[];
  winner: ApplyMode;
  winnerDurability: Durability;
  applyToWriteRatio: number;
  /**
   * What the target's parameter group sets during catch-up: its parallel mode with relaxed durability.
   * The thread count cannot change while replication runs, and after catch-up (strict) one thread falls behind.
   */
  shipped: { mode: ApplyMode; durability: Durability; applyToWriteRatio: number };
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/**
 * Can the target ever catch up? Builds a backlog on the source with many
 * writers while the target's SQL thread is stopped, then times the target
 * applying that same backlog with one SQL thread and with each parallel mode,
 * from the same starting data each time, and checks every result by checksum.
 */
export async function runCatchUpBench(options: CatchUpOptions): Promise<CatchUpReport> {
  await sandboxDown(options.dir);
  const state = await sandboxUp(options.dir, (m) => options.log.info(m));
  const source = await rootConnection(join(state.dir, 'servers', 'source-master'));
  const target = await rootConnection(join(state.dir, 'servers', 'target-master'));
  try {
    // RDS's own durability on both ends: a commit is flushed to the redo log and the binlog, so a
    // single SQL thread pays each commit's flushes alone while parallel apply can share them.
    for (const server of [source, target]) await server.query('SET GLOBAL sync_binlog = 1, innodb_flush_log_at_trx_commit = 1');
    await createTables(source, options.rowsPerTable);
    await createTables(target, options.rowsPerTable);
    const start = await headOf(source);
    await linkTarget(source, target, state, start);
    options.log.info(
      `catch-up bench: ${options.writers} writers on source-master for ${options.seconds} s, target-master's replication stopped`,
    );
    const commits = await writeLoad(join(state.dir, 'servers', 'source-master'), options);
    const head = await headOf(source);
    const backlogBytes = await bytesFrom(source, start, head);
    const expected = await checksums(source);
    const modes: ApplyResult[] = [];
    for (const { mode, durability } of VARIANTS) {
      const threads = mode === 'single' ? 0 : options.applyThreads;
      await target.query(
        durability === 'strict'
          ? 'SET GLOBAL sync_binlog = 1, innodb_flush_log_at_trx_commit = 1'
          : 'SET GLOBAL sync_binlog = 0, innodb_flush_log_at_trx_commit = 2',
      );
      const applyMs = await timeApply(source, target, state, start, head, mode, threads, options.rowsPerTable);
      if ((await checksums(target)).join() !== expected.join())
        throw new OperatorError(
          `catch-up bench: target-master differs from source-master after applying in ${mode} mode`,
          'this is a bug in the bench or the server; report it',
          'bench',
        );
      modes.push({
        mode,
        threads,
        durability,
        applyMs: Math.round(applyMs),
        commitsPerSec: Math.round(commits / (applyMs / 1000)),
        bytesPerSec: Math.round(backlogBytes / (applyMs / 1000)),
      });
      options.log.info(
        `catch-up bench: ${mode.padEnd(12)} ${threads} threads, ${durability.padEnd(7)}: ${(applyMs / 1000).toFixed(1)} s, ${Math.round(commits / (applyMs / 1000))} commits/s (target verified by CHECKSUM TABLE)`,
      );
    }
    const best = modes.reduce((a, b) => (b.applyMs < a.applyMs ? b : a));
    const writeCommitsPerSec = commits / options.seconds;
    return {
      writers: options.writers,
      writeSeconds: options.seconds,
      commits,
      backlogBytes,
      writeCommitsPerSec: Math.round(writeCommitsPerSec),
      writeBytesPerSec: Math.round(backlogBytes / options.seconds),
      modes,
      winner: best.mode,
      winnerDurability: best.durability,
      shipped: shippedOf(modes, writeCommitsPerSec),
      applyToWriteRatio: round(best.commitsPerSec / writeCommitsPerSec),
    };
  } finally {
    await Promise.all([source.end(), target.end()]);
    await sandboxDown(options.dir);
  }
}

/** Same starting rows on both servers, without binlogging: the backlog is the workload alone. */
async function createTables(root: Connection, rowsPerTable: number): Promise<void> {
  await root.query('SET SESSION sql_log_bin = 0');
  await root.query(`DROP DATABASE IF EXISTS ${DB}`);
  await root.query(`CREATE DATABASE ${DB}`);
  for (const t of TABLES) {
    await root.query(`CREATE TABLE ${DB}.${t} (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      account INT NOT NULL,
      status TINYINT NOT NULL,
      amount DECIMAL(12,2) NOT NULL,
      note VARCHAR(200) NOT NULL,
      updated DATETIME(6) NOT NULL,
      KEY ix_account (account),
      KEY ix_status_updated (status, updated)
    ) ENGINE=InnoDB`);
    await root.query(
      `INSERT INTO ${DB}.${t} SELECT seq, seq * 7919 % 50000, seq % 5, (seq * 31 % 100000) / 100, REPEAT(MD5(seq), 3), '2020-01-01' + INTERVAL seq SECOND FROM ${DB}.seq_1_to_${rowsPerTable}`,
    );
  }
  await root.query('SET SESSION sql_log_bin = 1');
}

async function headOf(c: Connection): Promise<{ file: string; pos: number }> {
  const [rows] = await c.query('SHOW MASTER STATUS');
  const row = (rows as { File: string; Position: number }[])[0]!;
  return { file: row.File, pos: Number(row.Position) };
}

/** A replication user on the source with a throw-away password, and the target pointed at `start` (nothing started). */
async function linkTarget(
  source: Connection,
  target: Connection,
  state: SandboxState,
  start: { file: string; pos: number },
): Promise<void> {
  const password = randomBytes(18).toString('base64url');
  await source.query('SET SESSION sql_log_bin = 0');
  await source.query("CREATE OR REPLACE USER 'rlm_bench_repl'@'127.0.0.1' IDENTIFIED BY ?", [password]);
  await source.query("GRANT REPLICATION SLAVE ON *.* TO 'rlm_bench_repl'@'127.0.0.1'");
  await source.query('SET SESSION sql_log_bin = 1');
  await target.query('STOP SLAVE');
  await target.query('RESET SLAVE ALL');
  await target.query(
    `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${state.servers['source-master'].port}, MASTER_USER = 'rlm_bench_repl', MASTER_PASSWORD = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ${start.pos}`,
    [password, start.file],
  );
}

/** `writers` connections commit single-statement inserts, updates and deletes for `seconds`; returns the commits. */
async function writeLoad(sourceDir: string, options: CatchUpOptions): Promise<number> {
  const connections = await Promise.all(Array.from({ length: options.writers }, () => rootConnection(sourceDir)));
  const until = Date.now() + options.seconds * 1000;
  let commits = 0;
  let seed = 1;
  const random = () => {
    // xorshift: cheap, so the writers and not the generator are what the CPU runs.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const writer = async (c: Connection) => {
    while (Date.now() < until) {
      const t = TABLES[Math.floor(random() * TABLES.length)];
      const id = 1 + Math.floor(random() * options.rowsPerTable);
      const op = random();
      if (op < 0.4)
        await c.query(`INSERT INTO ${DB}.${t} (account, status, amount, note, updated) VALUES (?, ?, ?, REPEAT(MD5(?), 3), NOW(6))`, [
          Math.floor(random() * 50000),
          Math.floor(random() * 5),
          Math.floor(random() * 100000) / 100,
          id,
        ]);
      else if (op < 0.85)
        await c.query(`UPDATE ${DB}.${t} SET amount = amount + 1, status = (status + 1) % 5, account = ?, updated = NOW(6) WHERE id = ?`, [
          Math.floor(random() * 50000),
          id,
        ]);
      else await c.query(`DELETE FROM ${DB}.${t} WHERE id = ?`, [id]);
      commits += 1;
    }
  };
  try {
    await Promise.all(connections.map(writer));
  } finally {
    await Promise.all(connections.map((c) => c.end()));
  }
  return commits;
}

/**
 * Restores the target's starting rows, reads the whole backlog into its relay
 * log first (IO thread only), then times the SQL side alone up to `head`.
 */
async function timeApply(
  source: Connection,
  target: Connection,
  state: SandboxState,
  start: { file: string; pos: number },
  head: { file: string; pos: number },
  mode: ApplyMode,
  threads: number,
  rowsPerTable: number,
): Promise<number> {
  await target.query('STOP SLAVE');
  await createTables(target, rowsPerTable);
  await linkTarget(source, target, state, start);
  await target.query(
    `SET GLOBAL slave_parallel_threads = ${threads}, slave_parallel_mode = '${mode === 'single' ? 'conservative' : mode}'`,
  );
  await target.query('START SLAVE IO_THREAD');
  await waitReplica(target, (s) => s.Master_Log_File === head.file && Number(s.Read_Master_Log_Pos) >= head.pos, 'read the backlog');
  const t0 = process.hrtime.bigint();
  await target.query('START SLAVE SQL_THREAD');
  await waitReplica(target, (s) => s.Relay_Master_Log_File === head.file && Number(s.Exec_Master_Log_Pos) >= head.pos, 'apply the backlog');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await target.query('STOP SLAVE');
  return ms;
}

async function bytesFrom(source: Connection, from: { file: string; pos: number }, to: { file: string; pos: number }): Promise<number> {
  if (from.file === to.file) return to.pos - from.pos;
  const [rows] = await source.query('SHOW BINARY LOGS');
  return (rows as { Log_name: string; File_size: number }[])
    .filter((l) => l.Log_name >= from.file && l.Log_name <= to.file)
    .reduce(
      (n, l) => n + (l.Log_name === from.file ? Number(l.File_size) - from.pos : l.Log_name === to.file ? to.pos : Number(l.File_size)),
      0,
    );
}

type SlaveRow = Record<string, string | number | null>;

async function waitReplica(target: Connection, done: (s: SlaveRow) => boolean, what: string): Promise<void> {
  for (;;) {
    const [rows] = await target.query('SHOW SLAVE STATUS');
    const s = (rows as SlaveRow[])[0];
    if (!s)
      throw new OperatorError(
        `catch-up bench: target-master has no replication configured while waiting to ${what}`,
        'this is a bug in the bench; report it',
        'bench',
      );
    if (s.Last_SQL_Error || s.Last_IO_Error)
      throw new OperatorError(
        `catch-up bench: target-master failed to ${what}: ${String(s.Last_SQL_Error || s.Last_IO_Error)}`,
        'see the error; this is a bug in the bench or the server',
        'bench',
      );
    if (done(s)) return;
    await delay(20);
  }
}

async function checksums(c: Connection): Promise<string[]> {
  const [rows] = await c.query(`CHECKSUM TABLE ${TABLES.map((t) => `${DB}.${t}`).join(', ')} EXTENDED`);
  return (rows as { Checksum: string | null }[]).map((r) => String(r.Checksum));
}

function shippedOf(modes: ApplyResult[], writeCommitsPerSec: number): CatchUpReport['shipped'] {
  const mode = applyParameters('mariadb').slave_parallel_mode as ApplyMode;
  const row = modes.find((m) => m.mode === mode && m.durability === 'relaxed')!;
  return { mode, durability: 'relaxed', applyToWriteRatio: round(row.commitsPerSec / writeCommitsPerSec) };
}

export function printCatchUp(log: Log, r: CatchUpReport): void {
  const lines = [
    '',
    `source-master: ${r.writers} writers for ${r.writeSeconds} s: ${r.commits} commits, ${r.writeCommitsPerSec} commits/s, ${(r.writeBytesPerSec / 1e6).toFixed(2)} MB/s of binlog (${(r.backlogBytes / 1e6).toFixed(1)} MB backlog)`,
    '',
    '| apply mode | threads | target durability | apply time | commits/s | MB/s | apply / write |',
    '|---|---|---|---|---|---|---|',
    ...r.modes.map(
      (m) =>
        `| ${m.mode} | ${m.threads || 1} | ${m.durability} | ${(m.applyMs / 1000).toFixed(1)} s | ${m.commitsPerSec} | ${(m.bytesPerSec / 1e6).toFixed(2)} | ${round(m.commitsPerSec / r.writeCommitsPerSec)}x |`,
    ),
    '',
    `fastest: ${r.winner} (${r.winnerDurability}), applying ${r.applyToWriteRatio}x the source's commit rate`,
    `the target's parameter group during catch-up: ${r.shipped.mode} (${r.shipped.durability}), ${r.shipped.applyToWriteRatio}x`,
  ];
  log.info(lines.join('\n'));
}
