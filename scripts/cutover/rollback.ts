import type { MigrationContext } from '../core/context.js';
import { commandPreflight } from '../core/command-preflight.js';
import { acquireRunLock } from '../core/journal.js';
import { OperatorError } from '../support/errors.js';
import { phaseOf } from '../core/phases.js';
import type { ROLLED_BACK_REASONS } from '../core/journal-format.js';
import { phaseChangeHooks, runHooks } from '../hooks/runner.js';
import { configuredSwitch, type TrafficSwitch } from './traffic-switch.js';
import { existingEvents } from './events-now.js';
import { finishSwitch, type FreezeRecord, switchWrites, TO_SOURCE, TO_TARGET } from './switch-protocol.js';
import { setEvents, unlockAccounts } from './write-freeze.js';

export interface RollbackReport extends Record<string, unknown> {
  ok: true;
  kind: 'aborted' | 'rolled-back';
  rollbackMs: number;
}

const isCutoverOrRollback = (name: string) =>
  name === 'cutover' || name.startsWith('cutover:') || name.startsWith('rollback:') || name === 'verify';

/** Moves the cutover's records to the history: the phase changes with it. */
async function archive(ctx: MigrationContext, reason: (typeof ROLLED_BACK_REASONS)[number]): Promise<void> {
  const before = phaseOf(ctx.journal.snapshot());
  ctx.journal.archive(isCutoverOrRollback, reason);
  await phaseChangeHooks(ctx, before, 'rollback');
}

/**
 * Returns to the old source without losing a write made on the target, and
 * leaves the migration where it was before cutover: the target replicating
 * from the source, ready for another cutover once verified again.
 *  - before the target was detached: only the source's freeze is undone;
 *  - after: the structure of cutover is completed first (so the old source
 *    follows the target), then the switch protocol runs the other way: the
 *    target is frozen, the source catches up, is detached and reopened, and
 *    the target follows it again.
 */
export async function rollback(ctx: MigrationContext, options: { trafficSwitch?: TrafficSwitch } = {}): Promise<RollbackReport> {
  const release = acquireRunLock(ctx.journal);
  try {
    if (!ctx.journal.step('cutover:freeze-source'))
      throw new OperatorError('there is no cutover to roll back', 'nothing to do: the source still takes the writes', 'rollback');
    // Reverse replication and its user are gone: the rollback would freeze the target and then wait forever for the source.
    if (ctx.journal.isDone('finalize'))
      throw new OperatorError(
        'rollback refused: the migration was finalized (the old source no longer follows the target, so it lacks every write made since); nothing was changed',
        'the target keeps the writes; to go back, migrate again from the target to a new instance',
        'rollback',
      );
    await commandPreflight(ctx);
    const started = Date.now();
    await runHooks(ctx, 'before-rollback');
    const source = await ctx.server('source-master');
    const target = await ctx.server('target-master');
    const trafficSwitch = options.trafficSwitch ?? configuredSwitch(ctx);

    // A run killed inside detach-target may have reset the target without journaling it: ask the target.
    const targetStatus = await ctx.dialect.replicaStatus(target);
    if (!ctx.journal.isDone('cutover:detach-target') && targetStatus.configured) {
      // The target never left replication, so it took no write: undo the freeze and make sure it replicates.
      const { accounts, events } = (ctx.journal.step('cutover:freeze-source')!.data ?? { accounts: [], events: [] }) as FreezeRecord;
      if (!targetStatus.sqlRunning || targetStatus.ioRunning === 'No') await ctx.dialect.startReplication(target);
      await unlockAccounts(source, accounts ?? []);
      await setEvents(source, await existingEvents(ctx, source, events ?? []), 'ENABLE');
      await archive(ctx, 'cutover aborted before the target was detached');
      ctx.log.info('cutover aborted: source-master takes writes again; the target still replicates from it');
      return { ok: true, kind: 'aborted', rollbackMs: Date.now() - started };
    }

    // The structure of cutover first, so the old source follows the target; then the same protocol back.
    await switchWrites(ctx, TO_TARGET);
    await switchWrites(ctx, TO_SOURCE);
    await finishSwitch(ctx, TO_SOURCE, trafficSwitch);
    await archive(ctx, 'cutover rolled back');
    const rollbackMs = Date.now() - started;
    ctx.log.info(
      `rolled back in ${rollbackMs} ms: source-master takes the writes, target-master replicates from it; verify before the next cutover`,
    );
    return { ok: true, kind: 'rolled-back', rollbackMs };
  } finally {
    release();
  }
}

/**
 * While a rollback is unfinished the target may already be frozen: a cutover would "resume" steps that are all
 * done and report success, and a finalize would end the reverse replication the rollback waits on.
 */
export function refuseDuringRollback(ctx: MigrationContext, command: 'cutover' | 'finalize', then: string): void {
  if (phaseOf(ctx.journal.snapshot()) !== 'rolling-back') return;
  throw new OperatorError(
    `${command} refused: a rollback is in progress (the target may already be frozen); nothing was changed`,
    `run \`rds-live-migrate rollback\` to finish it, then ${then}`,
    command,
  );
}
