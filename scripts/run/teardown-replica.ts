import type { MigrationContext } from '../core/context.js';

/**
 * The replica is removed by the deploy that follows catch-up (the phase no
 * longer declares it; `run` converges before this step). What is left is to
 * let go of it and record that it is gone.
 */
export async function teardownReplica(ctx: MigrationContext): Promise<Record<string, unknown>> {
  await ctx.disconnect('source-slave');
  return { removedBy: ctx.config.migration.infrastructure === 'auto' ? 'the engine (infrastructure auto)' : 'a reviewed deploy' };
}
