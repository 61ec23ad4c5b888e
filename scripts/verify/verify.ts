import { ident, Server } from '../db/connection.js';
import { masterPosition } from '../db/replica-status.js';
import { waitForPosition } from '../migrate/catch-up.js';
import type { MigrationContext } from '../migrate/context.js';
import { applicationUsers } from '../migrate/copy-users.js';
import { baseTables } from '../migrate/schema-inventory.js';
import { OperatorError } from '../support/errors.js';
import { chunks, chunkWhere, tableShape, type Chunk, type TableShape } from '../db/key-chunks.js';
import { chunkChecksumSql, rowHashSql } from './row-hash.js';
import { diffSchema, diffUsers, type SchemaDifference } from './schema-diff.js';

export interface ChunkDifference {
  table: string;
  chunk: Chunk;
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
  /** Chunks that could not be compared at one point (lag or lock waits); not a difference, but not verified. */
  unverifiedChunks: number;
  durationMs: number;
}

export interface VerifyOptions {
  chunkSize?: number;
  /** Longest the source chunk may stay locked while the target catches up to it. */
  maxWaitMs?: number;
  maxLagSeconds?: number;
}

const ATTEMPTS = 3;

/**
 * Compares source and target table by table in primary-key chunks, each at one
 * logical point: the chunk is read on the source under a shared lock (so no
 * write to it can commit), the source's binlog position is taken while the
 * lock is held, the target is waited for until it has applied that position,
 * and only then is the target's chunk read. Replication lag cannot cause a
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
  const status = await ctx.dialect.replicaStatus(target);
  if (!status.configured || !status.sqlRunning) throw new OperatorError('target-master is not replicating from source-master', 'check `status`; verify compares a replicating target', 'verify');
  if (status.secondsBehind === null || status.secondsBehind > (options.maxLagSeconds ?? 30)) {
    throw new OperatorError(`target-master is ${status.secondsBehind ?? '?'} s behind`, 'wait for catch-up (`status`), then verify', 'verify');
  }

  // A connection of its own for the locked reads: its transactions must not mix with anything else.
  const locker = await Server.connect((await ctx.access('source-master'))!);
  await locker.query('SET SESSION innodb_lock_wait_timeout = 1');
  await locker.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  const report: VerifyReport = { ok: false, at: new Date().toISOString(), tablesCompared: 0, chunksCompared: 0, rowsCompared: 0, differences: [], schemaDifferences: [], unverifiedChunks: 0, durationMs: 0 };
  try {
    report.schemaDifferences = [...(await diffSchema(source, target, databases)), ...(await diffUsers(source, target, await applicationUsers(source, ctx)))];
    const tables = await baseTables(source, databases);
    for (const t of tables) {
      const shape = await tableShape(source, t.schema, t.name);
      report.tablesCompared += 1;
      for await (const chunk of chunks(source, shape, chunkSize)) {
        const outcome = await compareChunkWithRetries(ctx, locker, target, shape, chunk, maxWaitMs);
        report.chunksCompared += 1;
        if (outcome === 'unverified') report.unverifiedChunks += 1;
        else {
          report.rowsCompared += outcome.sourceRows;
          if (outcome.differs) report.differences.push(await describeDifference(ctx, locker, target, shape, chunk, maxWaitMs, outcome));
        }
        ctx.log.progress(`verify: ${t.schema}.${t.name}: ${report.chunksCompared} chunks, ${report.rowsCompared} rows compared, ${report.differences.length} differing chunk(s)`);
      }
    }
  } finally {
    await locker.close();
    ctx.log.done();
  }
  report.ok = report.differences.length === 0 && report.schemaDifferences.length === 0 && report.unverifiedChunks === 0;
  report.durationMs = Date.now() - started;
  return report;
}

interface ChunkOutcome {
  differs: boolean;
  sourceRows: number;
  targetRows: number;
}

async function compareChunkWithRetries(ctx: MigrationContext, locker: Server, target: Server, shape: TableShape, chunk: Chunk, maxWaitMs: number): Promise<ChunkOutcome | 'unverified'> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const outcome = await compareChunkAtOnePoint(ctx, locker, target, shape, chunk, maxWaitMs);
    if (outcome !== 'retry') return outcome;
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
  return 'unverified';
}

type Checksum = { n: string; a: string; b: string };

async function compareChunkAtOnePoint(ctx: MigrationContext, locker: Server, target: Server, shape: TableShape, chunk: Chunk, maxWaitMs: number): Promise<ChunkOutcome | 'retry'> {
  const table = `${ident(shape.schema)}.${ident(shape.name)}`;
  const where = chunkWhere(shape, chunk);
  const sql = `SELECT ${chunkChecksumSql(shape)} FROM ${table} ${where.sql}`;
  await locker.query('START TRANSACTION');
  try {
    let sourceSum: Checksum;
    try {
      sourceSum = (await locker.one<Checksum>(`${sql} LOCK IN SHARE MODE`, where.params))!;
    } catch (err) {
      if (/Lock wait timeout|Deadlock/i.test((err as Error).message)) return 'retry';
      throw err;
    }
    const position = (await masterPosition(locker))!;
    try {
      await waitForPosition(ctx, target, position, maxWaitMs);
    } catch (err) {
      if (err instanceof OperatorError && err.code === 'catch-up') return 'retry';
      throw err;
    }
    const targetSum = (await target.one<Checksum>(sql, where.params))!;
    const differs = sourceSum.n !== targetSum.n || sourceSum.a !== targetSum.a || sourceSum.b !== targetSum.b;
    return { differs, sourceRows: Number(sourceSum.n), targetRows: Number(targetSum.n) };
  } finally {
    await locker.query('ROLLBACK');
  }
}

/** Row by row inside a differing chunk, at one point again, to name the keys that differ. */
async function describeDifference(ctx: MigrationContext, locker: Server, target: Server, shape: TableShape, chunk: Chunk, maxWaitMs: number, outcome: ChunkOutcome): Promise<ChunkDifference> {
  const table = `${ident(shape.schema)}.${ident(shape.name)}`;
  const where = chunkWhere(shape, chunk);
  const keyExpr = shape.key.length ? `CONCAT_WS(',', ${shape.key.map(ident).join(', ')})` : rowHashSql(shape);
  const sql = `SELECT ${keyExpr} AS k, ${rowHashSql(shape)} AS h FROM ${table} ${where.sql}`;
  const keys: unknown[] = [];
  await locker.query('START TRANSACTION');
  try {
    const s = new Map((await locker.query<{ k: string; h: string }>(`${sql} LOCK IN SHARE MODE`, where.params)).map((r) => [r.k, r.h]));
    await waitForPosition(ctx, target, (await masterPosition(locker))!, maxWaitMs * 5);
    const t = new Map((await target.query<{ k: string; h: string }>(sql, where.params)).map((r) => [r.k, r.h]));
    for (const [k, h] of s) if (t.get(k) !== h && keys.length < 20) keys.push(k);
    for (const k of t.keys()) if (!s.has(k) && keys.length < 20) keys.push(k);
  } finally {
    await locker.query('ROLLBACK');
  }
  ctx.log.warn(`verify: ${shape.schema}.${shape.name} differs in chunk ${formatChunk(chunk)} (source ${outcome.sourceRows} rows, target ${outcome.targetRows}); keys: ${keys.join(' ')}`);
  return { table: `${shape.schema}.${shape.name}`, chunk, sourceRows: outcome.sourceRows, targetRows: outcome.targetRows, keys };
}

function formatChunk(chunk: Chunk): string {
  return `[${chunk.lower ?? '-∞'} .. ${chunk.upper ?? '+∞'}]`;
}

