import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from '../core/context.js';
import type { FrozenPosition } from './freeze-replica.js';
import { applicationDatabases, baseTables, dataSize, rowCount, type EventInfo } from '../core/schema-inventory.js';
import { holdBackEvents } from './seed-target.js';

export interface RestoreResult extends Record<string, unknown> {
  method: 'snapshot';
  databases: string[];
  tables: number;
  /** Counted when the restore is at most 1 GiB; above that information_schema's estimate (counting terabytes takes hours). */
  rows: number;
  rowsExact: boolean;
  bytesRestored: number;
  restoredAt: string;
  replicationConfigReset: boolean;
  eventsHeldBack: EventInfo[];
}

/**
 * The storage-level seed: with the replica frozen, the target stack is
 * deployed (snapshot of the replica, copy encrypted with the target's key,
 * target restored from the copy), then the restored server is made a target:
 * the replica's replication settings that came with the copy are cleared and
 * events stay off until cutover. Replication then starts at the frozen
 * position (point-target), exactly as after the logical seed.
 */
export async function restoreTarget(ctx: MigrationContext): Promise<RestoreResult> {
  const frozen = ctx.journal.data<FrozenPosition>('freeze-replica')!;
  const target = await ctx.server('target-master');
  await assertRestoredFromFrozen(ctx, frozen);

  // The copy carries the replica's settings for following the source; our replication starts at point-target.
  const status = await ctx.dialect.replicaStatus(target);
  if (status.configured) {
    if (status.sqlRunning || status.ioRunning !== 'No') {
      throw new OperatorError(
        `target-master started replicating on its own after the restore (from ${status.masterHost}:${status.masterPort}, now at ${status.executed.file}:${status.executed.pos})`,
        'it is no longer a copy of the frozen position; destroy the target stack and run again',
        'restore',
      );
    }
    await ctx.dialect.resetExternalMaster(target);
  }
  const databases = await applicationDatabases(target, ctx.config.migration.databases);
  const tables = await baseTables(target, databases);
  const sizes = await dataSize(target, databases);
  const rowsExact = sizes.bytes <= 1024 ** 3;
  let rows = sizes.rows;
  if (rowsExact) {
    rows = 0;
    for (const t of tables) rows += await rowCount(target, t.schema, t.name);
  }
  const eventsHeldBack = await holdBackEvents(await ctx.server('source-master'), target, databases);
  ctx.log.info(
    `restore: target-master holds ${databases.length} database(s), ${tables.length} tables, ${rowsExact ? '' : 'about '}${rows} rows, ${(sizes.bytes / 1e6).toFixed(1)} MB, as of ${frozen.executed.file}:${frozen.executed.pos}`,
  );
  return {
    method: 'snapshot',
    databases,
    tables: tables.length,
    rows,
    rowsExact,
    bytesRestored: sizes.bytes,
    restoredAt: `${frozen.executed.file}:${frozen.executed.pos}`,
    replicationConfigReset: status.configured,
    eventsHeldBack,
  };
}

/**
 * A restore of the frozen replica applied exactly the transactions up to the
 * frozen GTID. Anything else (an older snapshot, a replica that moved, a
 * target someone wrote to) would make replication from the frozen position
 * skip or repeat changes, so it stops here.
 */
async function assertRestoredFromFrozen(ctx: MigrationContext, frozen: FrozenPosition): Promise<void> {
  if (!frozen.gtid) return;
  const target = await ctx.server('target-master');
  const gtid = await ctx.dialect.flavour.appliedGtid(target);
  if (gtid !== frozen.gtid) {
    throw new OperatorError(
      `target-master is not a restore of the replica as frozen: its GTID position is '${gtid}', the frozen replica's was '${frozen.gtid}'`,
      'the target must be restored from a snapshot taken after the freeze; destroy the target stack (and its snapshots) and run again',
      'restore',
    );
  }
}
