import type { BinlogPosition } from '../db/replica-status.js';
import { waitForPosition } from '../core/catch-up.js';
import type { MigrationContext } from '../core/context.js';
import { commandPreflight } from '../core/command-preflight.js';
import { acquireRunLock } from '../core/journal.js';
import { journaled } from '../core/journaled.js';
import { follow } from '../core/replication-link.js';
import { OperatorError } from '../support/errors.js';
import { cutoverStructure, type freezeRecord, switchHooks } from './cutover.js';
import { phaseOf } from '../core/phases.js';
import type { ROLLED_BACK_REASONS } from '../core/journal-format.js';
import { phaseChangeHooks, runHooks } from '../hooks/runner.js';
import { configuredSwitch, type TrafficSwitch } from './traffic-switch.js';
import { existingEvents, heldBackNow, type HeldBack } from './events-now.js';
import { freezeWrites, setEvents, unlockAccounts } from './write-freeze.js';

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
 *    follows the target), then the target is frozen, the source catches up,
 *    is detached and reopened, and the target follows it again.
 */
export async function rollback(ctx: MigrationContext, options: { trafficSwitch?: TrafficSwitch } = {}): Promise<RollbackReport> {
  const release = acquireRunLock(ctx.journal);
  try {
    if (!ctx.journal.step('cutover:freeze-source'))
      throw new OperatorError('there is no cutover to roll back', 'nothing to do: the source still takes the writes', 'rollback');
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
      const { accounts, events } = (ctx.journal.step('cutover:freeze-source')!.data ?? { accounts: [], events: [] }) as ReturnType<
        typeof freezeRecord
      >;
      if (!targetStatus.sqlRunning || targetStatus.ioRunning === 'No') await ctx.dialect.startReplication(target);
      await unlockAccounts(source, accounts ?? []);
      await setEvents(source, await existingEvents(ctx, source, events ?? []), 'ENABLE');
      await archive(ctx, 'cutover aborted before the target was detached');
      ctx.log.info('cutover aborted: source-master takes writes again; the target still replicates from it');
      return { ok: true, kind: 'aborted', rollbackMs: Date.now() - started };
    }

    await cutoverStructure(ctx);

    await journaled(ctx, 'rollback:freeze-target', 'stop writes on target-master', async () => {
      const held = await heldBackNow(ctx, target, ctx.journal.data<HeldBack>('rollback:freeze-target'));
      // Recorded before the work: a redo must also undo what this attempt locks and disables.
      ctx.journal.started('rollback:freeze-target', held);
      await freezeWrites(ctx, target, held.accounts, held.events);
      return held;
    });
    const held = () => ctx.journal.data<HeldBack>('rollback:freeze-target')!;
    await journaled(ctx, 'rollback:drain', "wait until the old source applied the target's last write", async () => {
      const targetFinal = (await ctx.dialect.flavour.writePosition(target))!;
      await waitForPosition(ctx, source, targetFinal, 120_000);
      return { targetFinal };
    });
    await journaled(ctx, 'rollback:detach-source', 'stop and reset reverse replication on the old source', async () => {
      await ctx.dialect.stopReplication(source);
      await ctx.dialect.resetExternalMaster(source);
      return {};
    });
    await journaled(ctx, 'rollback:reopen-source', 'unlock the application accounts on the source', async () => {
      await unlockAccounts(source, held().accounts);
      return { sourceStart: (await ctx.dialect.flavour.writePosition(source))! };
    });
    await journaled(ctx, 'rollback:refollow', 'make the target follow the source again', async () => {
      const from = ctx.journal.data<{ sourceStart: BinlogPosition }>('rollback:reopen-source')!.sourceStart;
      const outputs = ctx.outputs();
      await follow(ctx, {
        step: 'rollback:refollow',
        follower: target,
        leader: source,
        host: ctx.config.migration.sourceHostForTarget ?? outputs.source.host,
        port: ctx.config.migration.sourcePortForTarget ?? outputs.source.port,
        position: from,
      });
      return { from };
    });
    await journaled(ctx, 'rollback:enable-events', 'enable the events on the source again', async () => {
      const events = await existingEvents(ctx, source, held().events);
      await setEvents(source, events, 'ENABLE');
      return { enabled: events };
    });
    await journaled(ctx, 'rollback:switch-traffic', 'move the application back to the source', async () => {
      const request = { direction: 'to-source', role: 'source-master', endpoint: ctx.outputs().source } as const;
      await trafficSwitch(request);
      await switchHooks(ctx, request);
      return {};
    });
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
