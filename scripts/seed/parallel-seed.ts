import { availableParallelism } from 'node:os';
import { ident, type Server } from '../db/connection.js';
import { chunkWhere, copyChunks, tableShape, type Chunk, type TableShape } from '../db/key-chunks.js';
import { baseTables } from '../core/schema-inventory.js';
import { OperatorError } from '../support/errors.js';
import { crashIfRequested } from '../support/faults.js';
import type { Log } from '../support/log.js';
import { copyChunk, prepareLoadSession, prepareReadSession } from './copy-chunk.js';
import { tableKey, type SeedProgress } from './seed-progress.js';
import { copyStoredObjects } from './stored-objects.js';
import { TableGate } from './table-gate.js';
import { tableDefinition, type TableDefinition } from './table-definition.js';
import { abortConnection, describeChunk, startWatchdog, StallError, watched, type Lane } from './watchdog.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface ParallelSeedOptions {
  databases: string[];
  /** Connections per side. @default twice the cores, at most 8 */
  threads?: number;
  /** Rows per chunk. @default 50000 */
  chunkRows?: number;
  /**
   * Into a target without a binlog, a table no bigger than this and than its share of the
   * data (see wholeTables) is loaded in one statement with its secondary keys in place.
   * 0 (the default): every table in chunks, its keys added afterwards. In the bench, whole
   * tables were no faster in wall time and took up to a quarter more of the target's CPU.
   * @default 0
   */
  wholeTableMaxBytes?: number;
  rewriteDefiners: boolean;
  progress: SeedProgress;
  log: Log;
  /** Opens a new connection to the (frozen) source of the copy and to the target. */
  connectSource: () => Promise<Server>;
  connectTarget: () => Promise<Server>;
  /** Ends a session on the target by its CONNECTION_ID() (mysql.rds_kill on RDS); without it a stalled statement is only dropped from this side. */
  killTarget?: (connectionId: number) => Promise<void>;
  /** A chunk statement with no bytes forwarded for this long is killed and retried. @default 120 */
  stallSeconds?: number;
  /** Retries of one chunk after stalls before the seed stops. @default 3 */
  maxChunkRetries?: number;
}

export interface ParallelSeedResult {
  tables: number;
  chunks: number;
  rowsCopied: number;
  bytesCopied: number;
  storedObjects: number;
  threads: number;
  phasesMs: { schema: number; data: number; indexes: number; objects: number };
}

interface Task {
  def: TableDefinition;
  shape: TableShape;
  index: number;
  chunk: Chunk;
}

export function defaultThreads(): number {
  return Math.min(8, Math.max(2, availableParallelism() * 2));
}

async function openLane(id: number, options: ParallelSeedOptions): Promise<Lane> {
  const source = await options.connectSource();
  let target: Server | undefined;
  try {
    target = await options.connectTarget();
    await prepareReadSession(source);
    await prepareLoadSession(target);
    return { id, source, target, targetThread: Number(await target.value('SELECT CONNECTION_ID()')) };
  } catch (err) {
    abortConnection(source);
    if (target) abortConnection(target);
    throw err;
  }
}

/**
 * Runs `work` on every item with `n` workers, each with its own lane (pair of
 * connections). After the first failure no new item starts, and the pool
 * returns only once every worker has stopped.
 */
async function pool<T>(
  items: T[],
  n: number,
  options: ParallelSeedOptions,
  lanes: Lane[],
  work: (item: T, lane: Lane) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (id: number) => {
    const lane = await openLane(id, options);
    lanes.push(lane);
    let finished = false;
    try {
      while (!failed && next < items.length) await work(items[next++]!, lane);
      finished = true;
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      lanes.splice(lanes.indexOf(lane), 1);
      if (finished) await Promise.all([lane.source.close(), lane.target.close()]);
      else {
        // A failed chunk can leave the source's result stream paused mid-way, where a polite close would wait forever.
        abortConnection(lane.source);
        abortConnection(lane.target);
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(n, Math.max(1, items.length)) }, (_, i) => worker(i + 1)));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/**
 * The logical seed: schema first (tables without their secondary indexes and
 * foreign keys), then every table's primary-key chunks copied in parallel
 * over a bounded number of connections, then the deferred indexes built once,
 * then routines, views, triggers and events. Resumable per chunk.
 */
export async function parallelSeed(options: ParallelSeedOptions): Promise<ParallelSeedResult> {
  const threads = options.threads ?? defaultThreads();
  const { progress } = options;
  const phasesMs = { schema: 0, data: 0, indexes: 0, objects: 0 };
  let t0 = Date.now();
  // Each phase opens its own connections: one held idle through a data phase of hours would
  // meet the server's wait_timeout, or a network blip, before the last phases need it.
  const { defs, tasks } = await withPair(options, (source, target) => createTablesAndPlan(source, target, threads, options));
  phasesMs.schema = Date.now() - t0;

  t0 = Date.now();
  const copied = await copyAllChunks(tasks, threads, defs, options);
  phasesMs.data = Date.now() - t0;

  t0 = Date.now();
  await addDeferredKeys(defs, threads, options);
  phasesMs.indexes = Date.now() - t0;

  t0 = Date.now();
  const storedObjects = await withPair(options, (source, target) =>
    copyStoredObjects(source, target, options.databases, options.rewriteDefiners),
  );
  phasesMs.objects = Date.now() - t0;
  return {
    tables: defs.length,
    chunks: progress.counts().chunks,
    rowsCopied: copied.rows,
    bytesCopied: copied.bytes,
    storedObjects,
    threads,
    phasesMs,
  };
}

async function withPair<T>(options: ParallelSeedOptions, work: (source: Server, target: Server) => Promise<T>): Promise<T> {
  const source = await options.connectSource();
  try {
    const target = await options.connectTarget();
    try {
      return await work(source, target);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** The databases and tables on the target, each table's chunk plan (kept in the progress file), and the chunks still to copy. */
async function createTablesAndPlan(
  source: Server,
  target: Server,
  threads: number,
  options: ParallelSeedOptions,
): Promise<{ defs: TableDefinition[]; tasks: Task[] }> {
  const { progress } = options;
  for (const db of options.databases) {
    const create = String(Object.values((await source.one(`SHOW CREATE DATABASE ${ident(db)}`))!)[1]).replace(
      /^CREATE DATABASE (\/\*!32312 IF NOT EXISTS\*\/ )?/,
      'CREATE DATABASE IF NOT EXISTS ',
    );
    await target.query(create);
  }
  const defs: TableDefinition[] = [];
  for (const t of await baseTables(source, options.databases)) defs.push(await tableDefinition(source, t.schema, t.name));
  const wholeMaxBytes = options.wholeTableMaxBytes ?? 0;
  const whole = wholeMaxBytes > 0 && !(await writesBinlog(target)) ? wholeTables(defs, threads, wholeMaxBytes) : new Set<TableDefinition>();
  await prepareLoadSession(target);
  const tasks: Task[] = [];
  for (const def of defs) {
    const key = tableKey(def.schema, def.name);
    const shape = await tableShape(source, def.schema, def.name);
    let plan = progress.plan(key);
    if (!plan) {
      plan = whole.has(def) ? [{}] : await copyChunks(source, shape, options.chunkRows ?? 50_000, def.estimatedRows);
      progress.setPlan(key, plan);
    }
    // One statement into an empty table: MariaDB sorts and builds its keys as it loads, which is
    // cheaper than adding them afterwards (a second pass over the table). A resumed run keeps
    // whatever the table was created with; the keys it lacks are added after the data.
    const create = wholeMaxBytes > 0 && plan.length === 1 ? def.createKeyed : def.createBase;
    await target.query(`USE ${ident(def.schema)}`);
    await target.query(create.replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS '));
    plan.forEach((chunk, index) => {
      if (!progress.isDone(key, index)) tasks.push({ def, shape, index, chunk });
    });
  }
  await clearPendingChunks(target, tasks, options.log);
  // Round-robin over the tables, so that the workers load different tables rather than contend
  // for one; larger tables first, so that no large one is left for last.
  tasks.sort((a, b) => a.index - b.index || b.def.estimatedBytes - a.def.estimatedBytes);
  return { defs, tasks };
}

/**
 * Indexes in parallel across tables; foreign keys afterwards, one table at a time: an FK
 * added while its parent table is being altered fails (and has been seen to crash the server).
 */
async function addDeferredKeys(defs: TableDefinition[], threads: number, options: ParallelSeedOptions): Promise<void> {
  const isForeignKey = (clause: string) => clause.includes(' FOREIGN KEY ');
  const alter = async (target: Server, def: TableDefinition, which: (clause: string) => boolean) => {
    const missing = (await missingClauses(target, def)).filter(which);
    if (missing.length) await target.query(`ALTER TABLE ${ident(def.schema)}.${ident(def.name)} ${missing.join(', ')}`);
  };
  await pool(
    defs.filter((d) => d.deferred.some((c) => !isForeignKey(c))),
    threads,
    options,
    [],
    (def, lane) => alter(lane.target, def, (c) => !isForeignKey(c)),
  );
  const withForeignKeys = defs.filter((d) => d.deferred.some(isForeignKey));
  if (!withForeignKeys.length) return;
  await withPair(options, async (_, target) => {
    for (const def of withForeignKeys) await alter(target, def, isForeignKey);
  });
}

/**
 * With its binlog on, the target would write a table loaded whole as one binlog transaction:
 * at a million rows a table that cost more than the chunks save (the bench: 39.2 s of target
 * CPU against 26.1 s), and it must fit in max_binlog_cache_size. Whole tables are for a target
 * in load mode, without a binlog.
 */
async function writesBinlog(target: Server): Promise<boolean> {
  return Number(await target.value('SELECT @@log_bin')) === 1;
}

/**
 * The tables to load in one statement each: those no bigger than their share of the data
 * (a quarter over at most, for tables of about equal size), so that no one table holds up
 * the end of the copy while the other workers idle, and than `maxBytes`, which bounds what
 * a crash in the middle of one costs to load again.
 */
function wholeTables(defs: TableDefinition[], threads: number, maxBytes: number): Set<TableDefinition> {
  const share = (1.25 * defs.reduce((n, d) => n + d.estimatedBytes, 0)) / threads;
  return new Set(defs.filter((d) => d.estimatedBytes <= Math.min(maxBytes, share)));
}

/**
 * A chunk not marked done may be partly on the target from a run that died
 * before saving progress. Its rows are deleted here, one table at a time and
 * before any worker loads, never beside a load into the same table.
 */
async function clearPendingChunks(target: Server, tasks: Task[], log: Log): Promise<void> {
  const byTable = new Map<TableDefinition, Task[]>();
  for (const t of tasks) byTable.set(t.def, [...(byTable.get(t.def) ?? []), t]);
  for (const [def, pending] of byTable) {
    const table = `${ident(def.schema)}.${ident(def.name)}`;
    if ((await target.query(`SELECT 1 FROM ${table} LIMIT 1`)).length === 0) continue;
    log.info(`seed: clearing ${pending.length} chunk(s) of ${def.schema}.${def.name} not marked done before loading resumes`);
    for (const task of pending) {
      const where = chunkWhere(task.shape, task.chunk);
      await target.query(`DELETE FROM ${table} ${where.sql}`, where.params);
    }
  }
}

/** The data phase: every pending chunk through the pool, under the watchdog. */
async function copyAllChunks(
  tasks: Task[],
  threads: number,
  defs: TableDefinition[],
  options: ParallelSeedOptions,
): Promise<{ rows: number; bytes: number }> {
  const { progress, log } = options;
  const stallSeconds = options.stallSeconds ?? 120;
  const totals = progress.counts();
  if (totals.done > 0) log.info(`seed: resuming an interrupted copy: ${totals.done} of ${totals.chunks} chunks already on the target`);
  const estimated = defs.reduce((n, d) => n + d.estimatedRows, 0);
  const t0 = Date.now();
  const copied = { rows: 0, bytes: 0 };
  let chunksDone = 0;
  let quietNote = '';
  const report = () => {
    const { rows, bytes } = copied;
    const seconds = Math.max(0.001, (Date.now() - t0) / 1000);
    const eta = estimated > rows && rows > 0 ? `${Math.round((estimated - rows) / (rows / seconds))} s` : '?';
    log.progress(
      `seed: ${rows} rows (~${Math.round((100 * rows) / Math.max(1, estimated))}%), ${(bytes / 1e6).toFixed(1)} MB, ${Math.round(rows / seconds)} rows/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s, ETA ${eta}, ${threads} threads${quietNote}`,
    );
  };
  const lanes: Lane[] = [];
  const stopWatchdog = startWatchdog(
    lanes,
    stallSeconds * 1000,
    (lane, idleMs) => killStalled(lane, idleMs, options),
    (quiet) => {
      quietNote = quiet
        .map((q) => `; worker ${q.lane.id} on ${q.lane.watched?.what ?? '?'}: no progress for ${Math.round(q.idleMs / 1000)} s`)
        .join('');
      report();
    },
  );
  const gates = new Map(defs.map((d) => [d, new TableGate()]));
  try {
    await pool(tasks, threads, options, lanes, async (task, lane) => {
      await copyWatched(task, lane, gates.get(task.def)!, options, copied, report);
      progress.markDone(tableKey(task.def.schema, task.def.name), task.index);
      chunksDone += 1;
      if (chunksDone >= 2) crashIfRequested('mid', 'seed-target');
    });
  } finally {
    stopWatchdog();
    log.done();
  }
  return copied;
}

/** Kills the stalled statement on the target, then drops both connections so the worker's wait ends whatever the server does. */
function killStalled(lane: Lane, idleMs: number, options: ParallelSeedOptions): void {
  const { source, target, targetThread } = lane;
  const what = lane.watched?.what ?? '?';
  options.log.warn(
    `seed: worker ${lane.id} on ${what}: no progress for ${Math.round(idleMs / 1000)} s; ${options.killTarget ? 'killed' : 'dropped (no kill function)'} its connection ${targetThread} on target-master`,
  );
  const kill = options.killTarget ?? (async () => {});
  void kill(targetThread)
    .catch((err: Error) =>
      options.log.warn(`seed: could not kill connection ${targetThread} on target-master (${err.message}); dropping it from this side`),
    )
    .finally(() => {
      abortConnection(target);
      abortConnection(source);
    });
}

/**
 * One chunk, retried after each stall on fresh connections: the killed
 * statement's rows are cleared first (with no load into the table in flight),
 * since a load can commit just as it is killed.
 */
async function copyWatched(
  task: Task,
  lane: Lane,
  gate: TableGate,
  options: ParallelSeedOptions,
  copied: { rows: number; bytes: number },
  report: () => void,
): Promise<void> {
  const stallSeconds = options.stallSeconds ?? 120;
  const maxRetries = options.maxChunkRetries ?? 3;
  const what = describeChunk(task.def.schema, task.def.name, task.chunk);
  const where = chunkWhere(task.shape, task.chunk);
  for (let attempt = 0; ; attempt++) {
    const mine = { rows: 0, bytes: 0 };
    try {
      if (attempt > 0) {
        await gate.clear(() =>
          watched(lane, what, stallSeconds, () =>
            lane.target.query(`DELETE FROM ${ident(task.def.schema)}.${ident(task.def.name)} ${where.sql}`, where.params),
          ),
        );
      }
      await gate.load(() =>
        watched(lane, what, stallSeconds, (progressed) =>
          copyChunk(lane.source, lane.target, task.def, where, (r, b) => {
            progressed();
            mine.rows += r;
            mine.bytes += b;
            copied.rows += r;
            copied.bytes += b;
            report();
          }),
        ),
      );
      return;
    } catch (err) {
      copied.rows -= mine.rows;
      copied.bytes -= mine.bytes;
      const lost = isConnectionLost(err);
      // Loads into one table can deadlock (the first into an empty table locks it whole); InnoDB rolled this one back.
      const deadlock = err instanceof OperatorError && err.code === 'deadlock';
      if (!(err instanceof StallError) && !lost && !deadlock) throw err;
      if (attempt >= maxRetries) {
        if (lost || deadlock) throw err;
        throw new OperatorError(
          `seed: ${what}: no progress for ${stallSeconds} s, ${attempt + 1} time(s) in a row; each time its statement was killed on target-master`,
          `find what blocks ${task.def.schema}.${task.def.name} on target-master (SHOW PROCESSLIST, open transactions, disk space), or raise migration.seedStallSeconds, then run again: the seed resumes from its progress file`,
          'seed-stalled',
        );
      }
      if (lost || deadlock) options.log.warn(`seed: worker ${lane.id} on ${what}: ${(err as Error).message}`);
      if (!deadlock) {
        const dropped = lane.targetThread;
        await reopenLane(lane, options, stallSeconds * 1000);
        // A dropped session's load may still be rolling back on the target; the clear waits for it.
        await waitGone(lane.target, dropped, stallSeconds * 1000);
      }
      const cause = lost ? 'connection lost; ' : deadlock ? 'deadlock; ' : '';
      options.log.warn(`seed: worker ${lane.id}: ${cause}clearing ${what} and copying it again (retry ${attempt + 1} of ${maxRetries})`);
    }
  }
}

/** New connections for a worker, tried again for up to `limitMs` while a server or the network is away (a failover, a blip). */
async function reopenLane(lane: Lane, options: ParallelSeedOptions, limitMs: number): Promise<void> {
  abortConnection(lane.source);
  abortConnection(lane.target);
  const until = Date.now() + limitMs;
  for (;;) {
    try {
      const fresh = await openLane(lane.id, options);
      Object.assign(lane, { source: fresh.source, target: fresh.target, targetThread: fresh.targetThread });
      return;
    } catch (err) {
      if (Date.now() >= until) throw err;
      await delay(1000);
    }
  }
}

function isConnectionLost(err: unknown): boolean {
  return err instanceof OperatorError && err.code === 'connection';
}

/** Until the killed session has finished rolling back (or `limitMs` passes: the clear that follows is watched too). */
async function waitGone(target: Server, connectionId: number, limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  while (
    Date.now() < until &&
    Number(await target.value('SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?', [connectionId])) > 0
  ) {
    await delay(100);
  }
}

/** The deferred clauses whose index or foreign key the target does not have yet (a resumed run may have built some). */
async function missingClauses(target: Server, def: TableDefinition): Promise<string[]> {
  const indexes = new Set(
    (
      await target.query<{ n: string }>(
        'SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [def.schema, def.name],
      )
    ).map((r) => r.n),
  );
  const constraints = new Set(
    (
      await target.query<{ n: string }>(
        "SELECT CONSTRAINT_NAME AS n FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY'",
        [def.schema, def.name],
      )
    ).map((r) => r.n),
  );
  return def.deferred.filter((clause) => {
    const name = /`((?:[^`]|``)+)`/.exec(clause)?.[1]?.replace(/``/g, '`');
    return !name || !(clause.includes('FOREIGN KEY') ? constraints.has(name) : indexes.has(name));
  });
}
