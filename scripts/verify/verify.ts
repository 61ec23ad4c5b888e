import { ident, Server, type ServerRole } from '../db/connection.js';
import { waitForPosition } from '../core/catch-up.js';
import type { MigrationContext } from '../core/context.js';
import type { Journal } from '../core/journal.js';
import { applicationUsers } from '../run/copy-users.js';
import { baseTables } from '../core/schema-inventory.js';
import { OperatorError } from '../support/errors.js';
import { type KeyRange, keyRanges, rangeWhere, tableShape } from '../db/key-chunks.js';
import { chunkChecksumSql, type HashedShape, rowHashSql } from './row-hash.js';
import { diffSchema, diffUsers, type SchemaDifference } from './schema-diff.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface ChunkDifference {
  table: string;
  chunk: KeyRange;
  sourceRows: number;
  targetRows: number;
  /** Up to 20 primary keys whose rows differ (missing on one side or changed). */
  keys: unknown[];
}

export interface VerifyReport extends Record<string, unknown> {
  ok: boolean;
  at: string;
  tablesCompared: number;
  chunksCompared: number;
  rowsCompared: number;
  differences: ChunkDifference[];
  schemaDifferences: SchemaDifference[];
  /** Chunks that could not be compared at one point (lag, lock waits, nothing following); not a difference, but not verified. */
  unverifiedChunks: number;
  /** Which way the rows were compared: `leader → follower`, or `leader (nothing follows)`. */
  direction: string;
  /** 'no difference', 'DIFFERENCES FOUND', or 'NOT VERIFIED' when nothing differs but some chunks could not be compared. */
  verdict: string;
  durationMs: number;
}

type Role = Extract<ServerRole, 'source-master' | 'target-master'>;

/** Who takes the writes and who follows, as the journal of the current cutover or rollback says. */
export interface ReplicationDirection {
  leader: Role;
  follower?: Role;
}

export function replicationDirection(journal: Journal): ReplicationDirection {
  // Rollback and cutover steps move to the journal's history once finished, so only the attempt under way shows here.
  if (journal.isDone('rollback:detach-source'))
    return { leader: 'source-master', ...(journal.isDone('rollback:refollow') ? { follower: 'target-master' as const } : {}) };
  if (journal.isDone('cutover:detach-target'))
    return { leader: 'target-master', ...(journal.isDone('cutover:reverse-replication') ? { follower: 'source-master' as const } : {}) };
  return { leader: 'source-master', follower: 'target-master' };
}

export function verdictOf(report: Pick<VerifyReport, 'differences' | 'schemaDifferences' | 'unverifiedChunks'>): string {
  if (report.differences.length || report.schemaDifferences.length) return 'DIFFERENCES FOUND';
  return report.unverifiedChunks ? 'NOT VERIFIED' : 'no difference';
}

export interface VerifyOptions {
  chunkSize?: number;
  /** Longest the source chunk may stay locked while the target catches up to it. */
  maxWaitMs?: number;
  maxLagSeconds?: number;
}

const ATTEMPTS = 3;

/**
 * Compares the server that takes the writes (the leader: the source, or the
 * target after cutover) with the one that follows it, table by table in
 * primary-key chunks, each at one logical point: the chunk is read on the
 * leader under a shared lock (so no write to it can commit), the leader's
 * binlog position is taken while the lock is held, the follower is waited for
 * until it has applied that position, and only then is its chunk read. Replication lag cannot cause a
 * false alarm, and a write cannot slip in between. The lock is held for
 * milliseconds when the target is caught up, and never longer than maxWaitMs.
 */
export async function verifyMigration(ctx: MigrationContext, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = Date.now();
  const chunkSize = options.chunkSize ?? 2000;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const { databases } = ctx.journal.data<{ databases: string[] }>('seed-target') ?? {};
  if (!databases || !ctx.journal.isDone('point-target')) {
    throw new OperatorError('verify needs a target that replicates from the source', 'run `rds-live-migrate run` first', 'verify');
  }
  const source = await ctx.server('source-master');
  const target = await ctx.server('target-master');
  const pair = await comparedPair(ctx, options.maxLagSeconds ?? 30);
  const leader = await ctx.server(pair.leader);
  const follower = pair.follower ? await ctx.server(pair.follower) : undefined;
  const direction = pair.follower ? `${pair.leader} → ${pair.follower}` : `${pair.leader} (nothing follows)`;
  if (!follower)
    ctx.log.warn(
      `verify: nothing replicates from ${pair.leader} now: the rows cannot be compared at one point, every chunk is reported as not verified`,
    );

  // A connection of its own for the locked reads: its transactions must not mix with anything else.
  const locker = await Server.connect((await ctx.access(pair.leader))!);
  await locker.query('SET SESSION innodb_lock_wait_timeout = 1');
  await locker.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  // TIMESTAMP values are rendered in the session's time zone: compare both sides in one zone, whatever each server's default.
  for (const server of [locker, follower]) if (server) await server.query("SET SESSION time_zone = '+00:00'");
  const report: VerifyReport = {
    ok: false,
    at: new Date().toISOString(),
    tablesCompared: 0,
    chunksCompared: 0,
    rowsCompared: 0,
    differences: [],
    schemaDifferences: [],
    unverifiedChunks: 0,
    direction,
    verdict: '',
    durationMs: 0,
  };
  const compare: Compare = { ctx, locker, follower, leaderIsSource: pair.leader === 'source-master', maxWaitMs };
  try {
    report.schemaDifferences = [
      ...(await diffSchema(source, target, databases)),
      ...(await diffUsers(source, target, await applicationUsers(source, ctx))),
    ];
    for (const t of await baseTables(leader, databases)) {
      const shape = await comparedShape(leader, t.schema, t.name);
      report.tablesCompared += 1;
      for await (const chunk of keyRanges(leader, shape, chunkSize)) {
        await compareChunk(compare, shape, chunk, report);
        ctx.log.progress(
          `verify: ${t.schema}.${t.name}: ${report.chunksCompared} chunks, ${report.rowsCompared} rows compared, ${report.differences.length} differing chunk(s)`,
        );
      }
    }
  } finally {
    await locker.close();
    ctx.log.done();
  }
  report.verdict = verdictOf(report);
  report.ok = report.verdict === 'no difference';
  report.durationMs = Date.now() - started;
  return report;
}

/** The pair to compare, checked once up front: a follower that does not run counts as none, so no chunk waits for it. */
async function comparedPair(ctx: MigrationContext, maxLagSeconds: number): Promise<ReplicationDirection> {
  const pair = replicationDirection(ctx.journal);
  if (!pair.follower) return pair;
  const status = await ctx.dialect.replicaStatus(await ctx.server(pair.follower));
  if (!status.configured || !status.sqlRunning) return { leader: pair.leader };
  if (status.secondsBehind === null || status.secondsBehind > maxLagSeconds) {
    throw new OperatorError(
      `${pair.follower} is ${status.secondsBehind ?? '?'} s behind ${pair.leader}`,
      'wait for it to catch up (`status`), then verify',
      'verify',
    );
  }
  return pair;
}

interface Compare {
  ctx: MigrationContext;
  locker: Server;
  /** Undefined once nothing follows the leader: the remaining chunks are not verified, without waiting. */
  follower: Server | undefined;
  leaderIsSource: boolean;
  maxWaitMs: number;
}

async function compareChunk(c: Compare, shape: HashedShape, chunk: KeyRange, report: VerifyReport): Promise<void> {
  report.chunksCompared += 1;
  const outcome = c.follower ? await compareChunkWithRetries(c.ctx, c.locker, c.follower, shape, chunk, c.maxWaitMs) : 'unverified';
  if (outcome === 'unverified') {
    report.unverifiedChunks += 1;
    if (c.follower && !(await c.ctx.dialect.replicaStatus(c.follower)).sqlRunning) c.follower = undefined;
    return;
  }
  report.rowsCompared += outcome.leaderRows;
  if (outcome.differs) report.differences.push(await describeDifference(c, shape, chunk, outcome));
}

interface ChunkOutcome {
  differs: boolean;
  leaderRows: number;
  followerRows: number;
}

async function compareChunkWithRetries(
  ctx: MigrationContext,
  locker: Server,
  follower: Server,
  shape: HashedShape,
  chunk: KeyRange,
  maxWaitMs: number,
): Promise<ChunkOutcome | 'unverified'> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const outcome = await compareChunkAtOnePoint(ctx, locker, follower, shape, chunk, maxWaitMs);
    if (outcome !== 'retry') return outcome;
    await delay(200 * attempt);
  }
  return 'unverified';
}

type Checksum = { n: string; a: string; b: string };

async function compareChunkAtOnePoint(
  ctx: MigrationContext,
  locker: Server,
  follower: Server,
  shape: HashedShape,
  chunk: KeyRange,
  maxWaitMs: number,
): Promise<ChunkOutcome | 'retry'> {
  const table = `${ident(shape.schema)}.${ident(shape.name)}`;
  const where = rangeWhere(shape, chunk);
  const sql = `SELECT ${chunkChecksumSql(shape)} FROM ${table} ${where.sql}`;
  await locker.query('START TRANSACTION');
  try {
    let leaderSum: Checksum;
    try {
      leaderSum = (await locker.one<Checksum>(`${sql} LOCK IN SHARE MODE`, where.params))!;
    } catch (err) {
      if (/Lock wait timeout|Deadlock/i.test((err as Error).message)) return 'retry';
      throw err;
    }
    const position = (await ctx.dialect.flavour.writePosition(locker))!;
    try {
      await waitForPosition(ctx, follower, position, maxWaitMs);
    } catch (err) {
      if (err instanceof OperatorError && err.code === 'catch-up') return 'retry';
      throw err;
    }
    const followerSum = (await follower.one<Checksum>(sql, where.params))!;
    const differs = leaderSum.n !== followerSum.n || leaderSum.a !== followerSum.a || leaderSum.b !== followerSum.b;
    return { differs, leaderRows: Number(leaderSum.n), followerRows: Number(followerSum.n) };
  } finally {
    await locker.query('ROLLBACK');
  }
}

/** Row by row inside a differing chunk, at one point again, to name the keys that differ. */
async function describeDifference(c: Compare, shape: HashedShape, chunk: KeyRange, outcome: ChunkOutcome): Promise<ChunkDifference> {
  const table = `${ident(shape.schema)}.${ident(shape.name)}`;
  const where = rangeWhere(shape, chunk);
  const keyExpr = shape.key.length ? `CONCAT_WS(',', ${shape.key.map(ident).join(', ')})` : rowHashSql(shape);
  const sql = `SELECT ${keyExpr} AS k, ${rowHashSql(shape)} AS h FROM ${table} ${where.sql}`;
  const keys: unknown[] = [];
  await c.locker.query('START TRANSACTION');
  try {
    const s = new Map((await c.locker.query<{ k: string; h: string }>(`${sql} LOCK IN SHARE MODE`, where.params)).map((r) => [r.k, r.h]));
    await waitForPosition(c.ctx, c.follower!, (await c.ctx.dialect.flavour.writePosition(c.locker))!, c.maxWaitMs * 5);
    const t = new Map((await c.follower!.query<{ k: string; h: string }>(sql, where.params)).map((r) => [r.k, r.h]));
    for (const [k, h] of s) if (t.get(k) !== h && keys.length < 20) keys.push(k);
    for (const k of t.keys()) if (!s.has(k) && keys.length < 20) keys.push(k);
  } finally {
    await c.locker.query('ROLLBACK');
  }
  const [sourceRows, targetRows] = c.leaderIsSource
    ? [outcome.leaderRows, outcome.followerRows]
    : [outcome.followerRows, outcome.leaderRows];
  c.ctx.log.warn(
    `verify: ${shape.schema}.${shape.name} differs in chunk ${formatChunk(chunk)} (source ${sourceRows} rows, target ${targetRows}); keys: ${keys.join(' ')}`,
  );
  return { table: `${shape.schema}.${shape.name}`, chunk, sourceRows, targetRows, keys };
}

function formatChunk(chunk: KeyRange): string {
  return `(${chunk.after ?? '-∞'} .. ${chunk.upper ?? '+∞'}]`;
}

/** The table's shape, with the FLOAT columns the row hash must widen to print exactly. */
export async function comparedShape(server: Server, schema: string, name: string): Promise<HashedShape> {
  const floats = await server.query<{ c: string }>(
    "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND DATA_TYPE = 'float'",
    [schema, name],
  );
  return { ...(await tableShape(server, schema, name)), floats: floats.map((r) => r.c) };
}
