import { replicaIdentifier, SOURCE_REPLICA_STACK, TARGET_STACK } from '../../stacks/names.js';
import { stateFor } from './migration-state.js';
import { declaredInfrastructure, PHASE_MEANING, type Phase } from './phases.js';
import type { FrozenPosition } from './journal-format.js';
import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from './context.js';
import { runStackCommand } from './stack-command.js';

/** One change the next deploy must make for what exists to match what the phase declares. */
export interface InfrastructureChange {
  stack: string;
  /** What the change is, for the engine to act on; `change` says it for people. */
  kind:
    | 'create-replica'
    | 'replace-replica'
    | 'destroy-replica'
    | 'create-target'
    | 'restore-target'
    | 'target-load-mode'
    | 'target-settings'
    | 'target-durability'
    | 'delete-snapshots';
  change: string;
  why: string;
}

/** `run` (or finalize) needs a deploy before it can go on; with infrastructure review it stops here. */
export class AwaitingDeployError extends OperatorError {
  constructor(
    readonly phase: Phase,
    readonly changes: InfrastructureChange[],
    readonly command: string,
  ) {
    super(
      `waiting for a reviewed deploy (phase ${phase}: ${PHASE_MEANING[phase]}). The next deploy must:\n${changes.map((c) => `  - [${c.stack}] ${c.change} (${c.why})`).join('\n')}`,
      `review \`${diffCommand(changes)}\`, apply it with \`${command}\`, then run the same rds-live-migrate command again; it resumes here`,
      'awaiting-deploy',
    );
  }

  get stacks(): string[] {
    return stacksOf(this.changes);
  }
}

const stacksOf = (changes: InfrastructureChange[]) => [...new Set(changes.map((c) => c.stack))];
const diffCommand = (changes: InfrastructureChange[]) =>
  stacksOf(changes)
    .map((s) => `npx cdktf diff ${s}`)
    .join(' && ');

/** What the phase declares and what the outputs say exists, compared. */
export function pendingChanges(ctx: MigrationContext): { phase: Phase; changes: InfrastructureChange[] } {
  const { config } = ctx;
  const state = stateFor(config, ctx.journal.snapshot());
  const declared = declaredInfrastructure(state);
  const outputs = ctx.outputs();
  const replica = replicaIdentifier(config, declared.replicaGeneration);
  const target = config.target.instanceIdentifier;
  const changes: InfrastructureChange[] = [];
  if (declared.replica && outputs.replica && outputs.replica.identifier !== replica) {
    changes.push({
      stack: SOURCE_REPLICA_STACK,
      kind: 'replace-replica',
      change: `replace the read replica ${outputs.replica.identifier} by a new one, ${replica}`,
      why: 'the target is seeded again (run --reseed) from a replica frozen at a position the source still holds',
    });
  }
  if (declared.replica && !outputs.replica) {
    changes.push({
      stack: SOURCE_REPLICA_STACK,
      kind: 'create-replica',
      change: `create the read replica ${replica} of ${config.source.instanceIdentifier}`,
      why: 'the seed is taken from a replica frozen at a known position',
    });
  }
  if (!declared.replica && outputs.replica) {
    changes.push({
      stack: SOURCE_REPLICA_STACK,
      kind: 'destroy-replica',
      change: `destroy the read replica ${outputs.replica.identifier}`,
      why: 'the target has caught up and replicates from the source itself',
    });
  }
  const t = declared.target;
  if (t.kind === 'empty' && !outputs.target) {
    changes.push({
      stack: TARGET_STACK,
      kind: 'create-target',
      change: `create the encrypted target ${target} (empty), its KMS key, parameter group and security rules`,
      why: 'the logical seed copies the data into it',
    });
  }
  if (t.kind === 'empty' && outputs.target?.loadMode !== undefined && outputs.target.loadMode !== t.loadMode) {
    changes.push(
      t.loadMode
        ? {
            stack: TARGET_STACK,
            kind: 'target-load-mode',
            change: `put the target ${target} in load mode: automated backups off (so no binary log), single-AZ; it restarts`,
            why: 'the logical seed loads faster into it; nothing replicates into it yet',
          }
        : {
            stack: TARGET_STACK,
            kind: 'target-settings',
            change: `switch the target ${target} to its configured settings: automated backups ${config.target.backupRetentionDays} days (binary log on), Multi-AZ as configured; it restarts`,
            why: 'the seed is done; the target must keep a binary log and backups before it follows the source and takes writes',
          },
    );
  }
  if (outputs.target?.durability !== undefined && outputs.target.durability !== declared.targetDurability) {
    changes.push(
      declared.targetDurability === 'strict'
        ? {
            stack: TARGET_STACK,
            kind: 'target-durability',
            change: `make every commit on the target ${target} durable again: innodb_flush_log_at_trx_commit and sync_binlog back to 1 (or target.parameters'); no restart`,
            why: 'the target has caught up; from verify and cutover on it must keep every commit it acknowledges',
          }
        : {
            stack: TARGET_STACK,
            kind: 'target-durability',
            change: `let the target ${target} flush commits once a second while it catches up: innodb_flush_log_at_trx_commit=2, sync_binlog=0; no restart`,
            why: 'it applies the source far faster that way and takes no application write until it has caught up',
          },
    );
  }
  if (t.kind === 'restore' && !outputs.target) {
    changes.push({
      stack: TARGET_STACK,
      kind: 'restore-target',
      change: `snapshot the frozen replica ${replica} at ${at(t.frozen)}, copy the snapshot encrypted with the target's key, restore ${target} from the copy`,
      why: 'the storage-level seed; the replica is frozen at that position',
    });
  }
  if (t.kind === 'restore' && !t.snapshots && outputs.frozenSnapshot) {
    changes.push({
      stack: TARGET_STACK,
      kind: 'delete-snapshots',
      change: `delete the snapshot of the frozen replica and its encrypted copy ${outputs.frozenSnapshot}`,
      why: 'the migration is finalized; they only hold old data, one of them unencrypted',
    });
  }
  return { phase: state.phase, changes };
}

export function deployCommand(ctx: MigrationContext): string[] {
  return (
    ctx.config.migration.deployCommand ?? [
      'npx',
      'cdktf',
      'deploy',
      SOURCE_REPLICA_STACK,
      TARGET_STACK,
      '--auto-approve',
      '--outputs-file',
      ctx.config.migration.outputsFile,
    ]
  );
}

/**
 * Makes what exists match what the phase declares. With infrastructure
 * review it never changes anything: it stops with the changes the next
 * (reviewed) deploy must make. With auto it runs the deploy itself.
 */
export async function converge(
  ctx: MigrationContext,
  before?: (changes: InfrastructureChange[]) => Promise<void>,
): Promise<InfrastructureChange[]> {
  const { phase, changes } = pendingChanges(ctx);
  if (!changes.length) return [];
  const stacks = stacksOf(changes);
  if (ctx.config.migration.infrastructure === 'review') {
    throw new AwaitingDeployError(
      phase,
      changes,
      `npx cdktf deploy ${stacks.join(' ')} --outputs-file ${ctx.config.migration.outputsFile}`,
    );
  }
  await before?.(changes);
  if (changes.some((c) => c.kind === 'destroy-replica' || c.kind === 'replace-replica')) await ctx.disconnect('source-slave');
  await runStackCommand(
    ctx,
    `deploying ${stacks.join(' and ')} (phase ${phase}): ${changes.map((c) => c.change).join('; ')}`,
    deployCommand(ctx),
    'nothing was lost: the journal is where it was; fix the cause (credentials, state lock, quota, key permissions) and run again: it resumes here',
  );
  await ctx.reloadOutputs();
  const left = pendingChanges(ctx).changes;
  if (left.length) {
    throw new OperatorError(
      `the deploy finished but ${ctx.config.migration.outputsFile} does not show it: still to do: ${left.map((c) => c.change).join('; ')}`,
      'migration.deployCommand must deploy both stacks and write their outputs to migration.outputsFile (cdktf deploy … --outputs-file); fix it and run again',
      'outputs',
    );
  }
  return changes;
}

const at = (f: FrozenPosition) => `${f.executed.file}:${f.executed.pos}`;
