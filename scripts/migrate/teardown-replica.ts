import type { MigrationContext } from './context.js';
import { runStackCommand } from './stack-command.js';

/** Destroys the source-replica stack (cdktf destroy, or the sandbox's stand-in); destroying twice is harmless. */
export async function teardownReplica(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const command = ctx.config.migration.replicaTeardownCommand;
  await ctx.disconnect('source-slave');
  await runStackCommand(
    ctx,
    'destroying the replica stack',
    command,
    'the target already replicates from the source, so nothing is at risk; fix the cause (credentials, state lock) and run again, or destroy the stack by hand',
  );
  return { command: command.join(' ') };
}
