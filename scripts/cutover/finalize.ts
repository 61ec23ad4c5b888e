import type { MigrationContext } from '../core/context.js';
import { commandPreflight } from '../core/command-preflight.js';
import { acquireRunLock } from '../core/journal.js';
import { journaled } from '../core/journaled.js';
import { refuseDuringRollback } from './rollback.js';
import { OperatorError } from '../support/errors.js';

/**
 * Makes the cutover final: the old source stops following the target and the
 * replication user is dropped on both. The old source is never deleted; its
 * application accounts stay locked so nothing writes to it by mistake.
 */
export async function finalize(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const release = acquireRunLock(ctx.journal);
  try {
    if (!ctx.journal.isDone('cutover'))
      throw new OperatorError(
        'finalize comes after a completed cutover',
        'run `rds-live-migrate cutover` first (or `rollback`)',
        'finalize',
      );
    refuseDuringRollback(ctx, 'finalize', 'cut over again before finalizing');
    await commandPreflight(ctx);
    return await journaled(ctx, 'finalize', 'end reverse replication and remove the replication users', async () => {
      const source = await ctx.server('source-master');
      const target = await ctx.server('target-master');
      if ((await ctx.dialect.replicaStatus(source)).configured) {
        await ctx.dialect.stopReplication(source);
        await ctx.dialect.resetExternalMaster(source);
      }
      const user = [ctx.config.migration.replicationUser, '%'];
      await target.query('DROP USER IF EXISTS ?@?', user);
      await source.query('DROP USER IF EXISTS ?@?', user);
      ctx.log.info('finalized: the old source no longer follows the target and is left untouched otherwise; delete it when you are ready');
      if (ctx.journal.data<{ method?: string }>('seed-method')?.method === 'snapshot') {
        ctx.log.info(
          'the target stack no longer declares the unencrypted snapshot of the replica: the next `cdktf deploy target` deletes it (the encrypted copy stays)',
        );
      }
      return { finalizedAt: new Date().toISOString() };
    });
  } finally {
    release();
  }
}
