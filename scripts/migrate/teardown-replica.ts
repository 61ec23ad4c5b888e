import { execa } from 'execa';
import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from './context.js';

/** Destroys the source-replica stack (cdktf destroy, or the sandbox's stand-in); destroying twice is harmless. */
export async function teardownReplica(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const [command, ...args] = ctx.config.migration.replicaTeardownCommand;
  await ctx.disconnect('source-slave');
  ctx.log.info(`destroying the replica stack: ${[command, ...args].join(' ')}`);
  try {
    await execa(command!, args, { stdout: 'pipe', stderr: 'pipe', env: { CHECKPOINT_DISABLE: '1' } });
  } catch (err) {
    const e = err as { exitCode?: number; stderr?: string; code?: string };
    throw new OperatorError(
      `destroying the replica stack failed (${e.code === 'ENOENT' ? `${command} not found` : `exit ${e.exitCode}`}): ${(e.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
      'the target already replicates from the source, so nothing is at risk; fix the cause (credentials, state lock) and run again, or destroy the stack by hand',
      'teardown',
    );
  }
  return { command: [command, ...args].join(' ') };
}
