import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from './context.js';
import { runStackCommand } from './stack-command.js';

/** The target deploy the engine runs itself, when the outputs have no target yet (snapshot seed, or auto). */
export function targetDeployCommand(ctx: MigrationContext): string[] {
  return (
    ctx.config.migration.targetDeployCommand ??
    // Both stacks, so that --outputs-file keeps the replica's outputs beside the target's.
    ['npx', 'cdktf', 'deploy', 'source-replica', 'target', '--auto-approve', '--outputs-file', ctx.config.migration.outputsFile]
  );
}

export async function deployTarget(ctx: MigrationContext, what: string): Promise<void> {
  await runStackCommand(
    ctx,
    `deploying the target stack (${what})`,
    targetDeployCommand(ctx),
    'the replica stays frozen and the source keeps its binlogs; fix the cause (permissions on the KMS key, snapshot quota, state lock) and run again: it resumes here',
  );
  await ctx.reloadOutputs();
  if (!ctx.outputs().target) {
    throw new OperatorError(
      `the target deploy finished but ${ctx.config.migration.outputsFile} still has no target outputs`,
      'the deploy command (migration.targetDeployCommand) must write the target stack outputs to migration.outputsFile (cdktf deploy ... --outputs-file); fix it and run again',
      'outputs',
    );
  }
}
