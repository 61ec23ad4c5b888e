import type { Server } from '../db/connection.js';
import { formatPosition, type BinlogPosition, type ReplicaStatus } from '../db/replica-status.js';
import { OperatorError } from '../support/errors.js';
import type { FrozenPosition as RecordedFreeze } from '../core/journal-format.js';
import type { MigrationContext } from '../core/context.js';
import { setTimeout as delay } from 'node:timers/promises';

/** What the freeze records: the journal's FrozenPosition (scripts/core/journal-format.ts), every field present. */
export type FrozenPosition = Required<RecordedFreeze> & Record<string, unknown>;

/**
 * The position to resume from is the executed one. The read position can be
 * ahead of it (events fetched into the relay log but not yet applied); resuming
 * from there would silently skip those transactions.
 */
export function resumePosition(status: ReplicaStatus): BinlogPosition {
  return { ...status.executed };
}

async function waitStopped(ctx: MigrationContext, replica: Server): Promise<ReplicaStatus> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await ctx.dialect.replicaStatus(replica);
    if (!status.sqlRunning && status.ioRunning === 'No') return status;
    if (Date.now() > deadline)
      throw new OperatorError(
        'source-slave: replication threads did not stop within 120 s',
        'check SHOW SLAVE STATUS on the replica (a long transaction may be applying) and run again',
        'freeze',
      );
    await delay(200);
  }
}

/** Stops source-slave and records the executed position; re-running on a stopped replica reads the same position. */
export async function freezeReplica(ctx: MigrationContext): Promise<FrozenPosition> {
  const replica = await ctx.server('source-slave');
  await ctx.dialect.stopReplication(replica);
  const status = await waitStopped(ctx, replica);
  if (!status.configured)
    throw new OperatorError('source-slave is not a replica', 'deploy the source-replica stack and run again', 'freeze');
  if (status.lastSqlError)
    throw new OperatorError(
      `source-slave stopped with a replication error: ${status.lastSqlError}`,
      'the replica may have diverged: destroy and redeploy the source-replica stack, then run again',
      'freeze',
    );
  const gtid = await ctx.dialect.flavour.appliedGtid(replica);
  const frozen: FrozenPosition = { executed: resumePosition(status), read: { ...status.read }, gtid, frozenAt: new Date().toISOString() };
  ctx.log.info(
    `source-slave frozen at executed position ${formatPosition(frozen.executed)}${gtid ? ` (GTID ${gtid})` : ''}; read position ${formatPosition(frozen.read)}`,
  );
  return frozen;
}

/** The seed is consistent only while the replica stays exactly where it was frozen. */
export async function assertStillFrozen(ctx: MigrationContext, frozen: FrozenPosition): Promise<void> {
  const replica = await ctx.server('source-slave');
  const status = await ctx.dialect.replicaStatus(replica);
  if (status.sqlRunning || formatPosition(status.executed) !== formatPosition(frozen.executed)) {
    throw new OperatorError(
      `source-slave moved since it was frozen at ${formatPosition(frozen.executed)} (now ${formatPosition(status.executed)}, SQL thread ${status.sqlRunning ? 'running' : 'stopped'})`,
      "someone restarted replication on the replica; the copy is no longer consistent. Remove the journal's seed-target and freeze-replica entries, empty the target and run again",
      'freeze',
    );
  }
}
