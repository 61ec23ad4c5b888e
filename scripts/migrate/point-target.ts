import { formatPosition } from '../db/replica-status.js';
import { OperatorError } from '../support/errors.js';
import { crashIfRequested } from '../support/faults.js';
import type { MigrationContext } from './context.js';
import type { FrozenPosition } from './freeze-replica.js';
import { applyReplicationUser, ensureReplicationUser } from './replication-user.js';

/**
 * Points target-master at source-master from the frozen executed position and
 * starts replication. If a crashed run already did so, it must not point it
 * again: the target may have applied events past that position, and resetting
 * it there would apply them twice.
 */
export async function pointTarget(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const frozen = ctx.journal.data<FrozenPosition>('freeze-replica')!;
  const target = await ctx.server('target-master');
  const source = await ctx.server('source-master');
  const outputs = ctx.outputs();
  const host = ctx.config.migration.sourceHostForTarget ?? outputs.source.host;
  const port = outputs.source.port;

  const status = await ctx.dialect.replicaStatus(target);
  if (status.configured) {
    if (status.masterHost !== host || status.masterPort !== port) {
      throw new OperatorError(`target-master already replicates from ${status.masterHost}:${status.masterPort}, not source-master ${host}:${port}`, 'someone changed the target\'s replication; reset it only if you are sure nothing was applied from elsewhere', 'point');
    }
    ctx.log.info('target-master was already pointed at source-master by an earlier run; not pointing it again');
    if (!status.sqlRunning || status.ioRunning === 'No') await ctx.dialect.startReplication(target);
    return { host, port, position: frozen.executed, resumed: true };
  }

  // The password only lives in memory; a resumed run gives the user a new one before using it.
  const password = ctx.replicationPassword ?? (await ensureReplicationUser(ctx, [source]));
  await applyReplicationUser(ctx, [target], password);
  await ctx.dialect.setExternalMaster(target, { host, port, user: ctx.config.migration.replicationUser, password, position: frozen.executed, tls: ctx.config.migration.requireTls });
  crashIfRequested('mid', 'point-target');
  await ctx.dialect.startReplication(target);
  ctx.log.info(`target-master replicates from ${host}:${port} starting at ${formatPosition(frozen.executed)}`);
  return { host, port, position: frozen.executed, resumed: false };
}
