import type { MigrationContext } from '../core/context.js';
import type { FrozenPosition } from './freeze-replica.js';
import { follow } from '../core/replication-link.js';
import { applyReplicationUser, ensureReplicationUser } from './replication-user.js';

/**
 * Points target-master at source-master from the frozen executed position and
 * starts replication (once: see follow()).
 */
export async function pointTarget(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const frozen = ctx.journal.data<FrozenPosition>('freeze-replica')!;
  const target = await ctx.server('target-master');
  const source = await ctx.server('source-master');
  const outputs = ctx.outputs();
  const host = ctx.config.migration.sourceHostForTarget ?? outputs.source.host;
  const port = ctx.config.migration.sourcePortForTarget ?? outputs.source.port;
  let password = ctx.replicationPassword;
  if (!(await ctx.dialect.replicaStatus(target)).configured) {
    // The password only lives in memory; a resumed run gives the user a new one before using it.
    password ??= await ensureReplicationUser(ctx, [source]);
    await applyReplicationUser(ctx, [target], password);
  }
  const { resumed } = await follow(ctx, {
    step: 'point-target',
    follower: target,
    leader: source,
    host,
    port,
    position: frozen.executed,
    gtid: frozen.gtid || undefined,
    password,
  });
  return { host, port, position: frozen.executed, resumed };
}
