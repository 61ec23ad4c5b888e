import { availableParallelism } from 'node:os';
import { ident, type Server } from '../db/connection.js';
import { chunkWhere, copyChunks, tableShape, type Chunk, type TableShape } from '../db/key-chunks.js';
import { baseTables } from '../migrate/schema-inventory.js';
import { crashIfRequested } from '../support/faults.js';
import type { Log } from '../support/log.js';
import { copyChunk, prepareLoadSession, prepareReadSession } from './copy-chunk.js';
import type { SeedProgress } from './seed-progress.js';
import { copyStoredObjects } from './stored-objects.js';
import { tableDefinition, type TableDefinition } from './table-definition.js';

export interface ParallelSeedOptions {
  databases: string[];
  /** Connections per side. @default twice the cores, at most 8 */
  threads?: number;
  /** Rows per chunk. @default 50000 */
  chunkRows?: number;
  rewriteDefiners: boolean;
  progress: SeedProgress;
  log: Log;
  /** Opens a new connection to the (frozen) source of the copy and to the target. */
  connectSource: () => Promise<Server>;
  connectTarget: () => Promise<Server>;
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

/** Runs `work` on every item with `n` workers, each with its own pair of connections. */
async function pool<T>(items: T[], n: number, options: ParallelSeedOptions, work: (item: T, source: Server, target: Server) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    const source = await options.connectSource();
    const target = await options.connectTarget();
    try {
      await prepareReadSession(source);
      await prepareLoadSession(target);
      while (next < items.length) await work(items[next++]!, source, target);
    } finally {
      await Promise.all([source.close(), target.close()]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, Math.max(1, items.length)) }, worker));
}

/**
 * The logical seed: schema first (tables without their secondary indexes and
 * foreign keys), then every table's primary-key chunks copied in parallel
 * over a bounded number of connections, then the deferred indexes built once,
 * then routines, views, triggers and events. Resumable per chunk.
 */
export async function parallelSeed(options: ParallelSeedOptions): Promise<ParallelSeedResult> {
  const threads = options.threads ?? defaultThreads();
  const chunkRows = options.chunkRows ?? 50_000;
  const { progress, log } = options;
  const phasesMs = { schema: 0, data: 0, indexes: 0, objects: 0 };
  const source = await options.connectSource();
  const target = await options.connectTarget();
  try {
    let t0 = Date.now();
    for (const db of options.databases) {
      const create = String(Object.values((await source.one(`SHOW CREATE DATABASE ${ident(db)}`))!)[1]).replace(/^CREATE DATABASE (\/\*!32312 IF NOT EXISTS\*\/ )?/, 'CREATE DATABASE IF NOT EXISTS ');
      await target.query(create);
    }
    const tables = await baseTables(source, options.databases);
    const defs: TableDefinition[] = [];
    await prepareLoadSession(target);
    for (const t of tables) {
      const def = await tableDefinition(source, t.schema, t.name);
      defs.push(def);
      await target.query(`USE ${ident(t.schema)}`);
      await target.query(def.createBase.replace(/^CREATE TABLE /, 'CREATE TABLE IF NOT EXISTS '));
    }
    const tasks: Task[] = [];
    for (const def of defs) {
      const key = `${def.schema}.${def.name}`;
      const shape = await tableShape(source, def.schema, def.name);
      let plan = progress.plan(key);
      if (!plan) {
        plan = await copyChunks(source, shape, chunkRows, def.estimatedRows);
        progress.setPlan(key, plan);
      }
      plan.forEach((chunk, index) => {
        if (!progress.isDone(key, index)) tasks.push({ def, shape, index, chunk });
      });
    }
    // Round-robin over the tables, so that the workers load different tables rather than contend for one.
    tasks.sort((a, b) => a.index - b.index);
    phasesMs.schema = Date.now() - t0;

    const totals = progress.counts();
    if (totals.done > 0) log.info(`seed: resuming an interrupted copy: ${totals.done} of ${totals.chunks} chunks already on the target`);
    const estimated = defs.reduce((n, d) => n + d.estimatedRows, 0);
    t0 = Date.now();
    let rows = 0;
    let bytes = 0;
    let chunksDone = 0;
    await pool(tasks, threads, options, async (task, from, to) => {
      const key = `${task.def.schema}.${task.def.name}`;
      const where = chunkWhere(task.shape, task.chunk);
      // A chunk not marked done may be partly there from a run that died before saving progress.
      await to.query(`DELETE FROM ${ident(task.def.schema)}.${ident(task.def.name)} ${where.sql}`, where.params);
      await copyChunk(from, to, task.def, where, (r, b) => {
        rows += r;
        bytes += b;
        const seconds = Math.max(0.001, (Date.now() - t0) / 1000);
        const eta = estimated > rows ? Math.round((estimated - rows) / (rows / seconds)) : 0;
        log.progress(`seed: ${rows} rows (~${Math.round((100 * rows) / Math.max(1, estimated))}%), ${(bytes / 1e6).toFixed(1)} MB, ${Math.round(rows / seconds)} rows/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s, ETA ${eta} s, ${threads} threads`);
      });
      progress.markDone(key, task.index);
      chunksDone += 1;
      if (chunksDone >= 2) crashIfRequested('mid', 'seed-target');
    });
    log.done();
    phasesMs.data = Date.now() - t0;

    t0 = Date.now();
    // Indexes in parallel across tables; foreign keys afterwards, one table at a time: an FK
    // added while its parent table is being altered fails (and has been seen to crash the server).
    const isForeignKey = (clause: string) => clause.includes(' FOREIGN KEY ');
    await pool(defs.filter((d) => d.deferred.some((c) => !isForeignKey(c))), threads, options, async (def, _from, to) => {
      const missing = (await missingClauses(to, def)).filter((c) => !isForeignKey(c));
      if (missing.length) await to.query(`ALTER TABLE ${ident(def.schema)}.${ident(def.name)} ${missing.join(', ')}`);
    });
    for (const def of defs) {
      const missing = (await missingClauses(target, def)).filter(isForeignKey);
      if (missing.length) await target.query(`ALTER TABLE ${ident(def.schema)}.${ident(def.name)} ${missing.join(', ')}`);
    }
    phasesMs.indexes = Date.now() - t0;

    t0 = Date.now();
    const storedObjects = await copyStoredObjects(source, target, options.databases, options.rewriteDefiners);
    phasesMs.objects = Date.now() - t0;
    return { tables: defs.length, chunks: progress.counts().chunks, rowsCopied: rows, bytesCopied: bytes, storedObjects, threads, phasesMs };
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}

/** The deferred clauses whose index or foreign key the target does not have yet (a resumed run may have built some). */
async function missingClauses(target: Server, def: TableDefinition): Promise<string[]> {
  const indexes = new Set((await target.query<{ n: string }>('SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [def.schema, def.name])).map((r) => r.n));
  const constraints = new Set((await target.query<{ n: string }>("SELECT CONSTRAINT_NAME AS n FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY'", [def.schema, def.name])).map((r) => r.n));
  return def.deferred.filter((clause) => {
    const name = /`((?:[^`]|``)+)`/.exec(clause)?.[1]?.replace(/``/g, '`');
    return !name || !(clause.includes('FOREIGN KEY') ? constraints.has(name) : indexes.has(name));
  });
}
