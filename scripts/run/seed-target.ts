import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ident, Server } from '../db/connection.js';
import { parallelSeed } from '../seed/parallel-seed.js';
import { SeedProgress } from '../seed/seed-progress.js';
import type { MigrationContext } from '../core/context.js';
import { assertStillFrozen, type FrozenPosition } from './freeze-replica.js';
import { applicationDatabases, baseTables, events, rowCount, type EventInfo } from '../core/schema-inventory.js';

export interface SeedResult extends Record<string, unknown> {
  databases: string[];
  tables: number;
  rowsCopied: number;
  bytesCopied: number;
  threads: number;
  phasesMs: Record<string, number>;
  /** Events enabled on the source when the seed ended, for the record: cutover reads the events again at the switch. */
  eventsHeldBack: EventInfo[];
}

/**
 * Copies the application databases from the frozen source-slave to the
 * target (see scripts/seed/). A re-run after a crash picks up the chunk
 * progress file and copies only what is not committed yet.
 */
export async function seedTarget(ctx: MigrationContext): Promise<SeedResult> {
  const frozen = ctx.journal.data<FrozenPosition>('freeze-replica')!;
  const replica = await ctx.server('source-slave');
  const target = await ctx.server('target-master');
  const progressFile = join(resolve(ctx.config.migration.workDir), 'seed-progress.json');
  const resuming =
    ctx.journal.step('seed-target') !== undefined && ctx.journal.data<{ databases?: string[] }>('seed-target')?.databases !== undefined;
  if (!resuming) rmSync(progressFile, { force: true });
  await assertStillFrozen(ctx, frozen);

  const databases = await applicationDatabases(replica, ctx.config.migration.databases);
  ctx.journal.started('seed-target', { databases });
  const progress = new SeedProgress(progressFile, `${frozen.frozenAt} ${frozen.executed.file}:${frozen.executed.pos}`);
  if (progress.setAside)
    ctx.log.warn(`seed: ${progressFile} was written for another copy (${progress.setAside}); its chunks are copied again, not trusted`);
  const replicaAccess = (await ctx.access('source-slave'))!;
  const targetAccess = (await ctx.access('target-master'))!;
  const result = await parallelSeed({
    databases,
    threads: ctx.config.migration.seedThreads,
    chunkRows: ctx.config.migration.seedChunkRows,
    rewriteDefiners: ctx.config.migration.definers === 'rewrite',
    progress,
    log: ctx.log,
    connectSource: () => Server.connect(replicaAccess),
    connectTarget: () => Server.connect(targetAccess),
    killTarget: (id) => ctx.dialect.killConnection(target, id),
    stallSeconds: ctx.config.migration.seedStallSeconds,
  });

  // The replica must not have moved while it was read, or the copy would not match the recorded position.
  await assertStillFrozen(ctx, frozen);
  const eventsHeldBack = await holdBackEvents(await ctx.server('source-master'), target, databases);
  let rowsCopied = 0;
  for (const t of await baseTables(target, databases)) rowsCopied += await rowCount(target, t.schema, t.name);
  ctx.log.info(
    `seed: ${databases.length} database(s), ${result.tables} tables, ${rowsCopied} rows, ${(result.bytesCopied / 1e6).toFixed(1)} MB with ${result.threads} threads ` +
      `(schema ${result.phasesMs.schema} ms, data ${result.phasesMs.data} ms, indexes ${result.phasesMs.indexes} ms, objects ${result.phasesMs.objects} ms)`,
  );
  return {
    databases,
    tables: result.tables,
    rowsCopied,
    bytesCopied: result.bytesCopied,
    threads: result.threads,
    phasesMs: result.phasesMs,
    eventsHeldBack,
  };
}

/**
 * Events must not run on the target while it replicates, or they would run
 * twice (once on the source, replicated, and once locally). They are marked
 * DISABLE ON SLAVE, which is also how MariaDB marks replicated events. Events
 * created on the source later arrive that way by replication. Cutover enables
 * those enabled on the source at the switch, not at the seed.
 */
export async function holdBackEvents(source: Server, target: Server, databases: string[]): Promise<EventInfo[]> {
  for (const e of await events(target, databases)) {
    if (e.status === 'ENABLED') await target.query(`ALTER EVENT ${ident(e.schema)}.${ident(e.name)} DISABLE ON SLAVE`);
  }
  return (await events(source, databases)).filter((e) => e.status === 'ENABLED');
}
