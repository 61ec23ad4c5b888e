import type { BinlogPosition } from '../db/replica-status.js';
import { measureLag } from '../core/catch-up.js';
import type { MigrationContext } from '../core/context.js';
import { commandPreflight } from '../core/command-preflight.js';
import { acquireRunLock } from '../core/journal.js';
import { journaled } from '../core/journaled.js';
import { formatFindings } from '../run/preflight/index.js';
import { settingsFindings } from '../core/settings-diff.js';
import { weakerDurability } from '../core/durability.js';
import { OperatorError } from '../support/errors.js';
import { runHooks } from '../hooks/runner.js';
import { configuredSwitch, type TrafficSwitch } from './traffic-switch.js';
import { finishSwitch, freezeRecord, switchWrites, TO_TARGET } from './switch-protocol.js';
import { refuseDuringRollback } from './rollback.js';

export interface CutoverReport extends Record<string, unknown> {
  ok: true;
  cutoverMs: number;
  sourceFinal: BinlogPosition;
  targetStart: BinlogPosition;
}

/**
 * The switch to the target, as the protocol of switch-protocol.ts (see
 * docs/cutover.md for what a crash at each step leaves and how to go on):
 *  1. freeze-source: lock the application's accounts on the source, end their
 *     sessions, disable its events. From here only the target will take writes.
 *  2. drain: record the source's final binlog position; wait until the target applied it.
 *  3. detach-target: stop and reset replication on the target.
 *  4. open-target: unlock the accounts on the target and record the binlog
 *     position right after that statement (the unlock must not replicate back
 *     and reopen the old source; a write right after it must).
 *  5. reverse-replication: the old source follows the target from that position,
 *     so a rollback loses no write made on the target.
 *  6. enable-events on the target. 7. switch-traffic.
 */
export async function cutover(
  ctx: MigrationContext,
  options: { force?: boolean; trafficSwitch?: TrafficSwitch } = {},
): Promise<CutoverReport> {
  const release = acquireRunLock(ctx.journal);
  try {
    refuseDuringRollback(ctx, 'cutover', 'verify and cut over again');
    await commandPreflight(ctx);
    if (!ctx.journal.step('cutover:freeze-source')) {
      await checkReady(ctx, options.force === true);
      await runHooks(ctx, 'before-cutover');
    }
    await switchWrites(ctx, TO_TARGET);
    await finishSwitch(ctx, TO_TARGET, options.trafficSwitch ?? configuredSwitch(ctx));
    const report = await journaled(ctx, 'cutover', 'cutover complete', async () => ({
      ok: true as const,
      cutoverMs: Date.now() - freezeRecord(ctx, TO_TARGET).startedAtMs,
      sourceFinal: ctx.journal.data<{ sourceFinal: BinlogPosition }>('cutover:drain')!.sourceFinal,
      targetStart: ctx.journal.data<{ targetStart: BinlogPosition }>('cutover:open-target')!.targetStart,
    }));
    ctx.log.info(
      `cutover done in ${report.cutoverMs} ms: target-master takes the writes; the old source follows it (rollback: rds-live-migrate rollback; done: rds-live-migrate finalize)`,
    );
    return report as CutoverReport;
  } finally {
    release();
  }
}

async function checkReady(ctx: MigrationContext, force: boolean): Promise<void> {
  if (!ctx.journal.isDone('catch-up'))
    throw new OperatorError('the target has not caught up yet', 'run `rds-live-migrate run` to the end first', 'cutover');
  const problems: string[] = [];
  const lag = await measureLag(ctx, await ctx.server('target-master'), await ctx.server('source-master'));
  if (!lag.status.sqlRunning || lag.status.ioRunning !== 'Yes')
    problems.push(`replication is not running on the target (${lag.status.lastSqlError || lag.status.lastIoError || 'stopped'})`);
  else if (lag.secondsBehind === null || lag.secondsBehind > ctx.config.migration.cutoverMaxLagSeconds)
    problems.push(`the target is ${lag.secondsBehind ?? '?'} s behind (limit ${ctx.config.migration.cutoverMaxLagSeconds} s)`);
  const verify = ctx.journal.step('verify');
  if (verify?.data?.ok !== true)
    problems.push(verify ? 'the last verify found differences' : 'verify has not been run since the target started replicating');
  await refuseSettingsDifferences(ctx);
  await refuseWeakerDurability(ctx);
  if (!problems.length) return;
  if (!force)
    throw new OperatorError(
      `cutover refused: ${problems.join('; ')}`,
      'fix that (run `rds-live-migrate verify`), or pass --force to cut over anyway',
      'cutover',
    );
  ctx.log.warn(`CUTOVER FORCED despite: ${problems.join('; ')}`);
}

/** Not overridden by --force: the target would lose acknowledged writes in a crash that the source survives. */
async function refuseWeakerDurability(ctx: MigrationContext): Promise<void> {
  const weaker = await weakerDurability(await ctx.server('source-master'), await ctx.server('target-master'));
  if (!weaker) return;
  throw new OperatorError(
    `cutover refused; nothing was changed: ${weaker}`,
    "if `run` stopped for the deploy after catch-up, deploy it (it makes every commit durable again, without a restart); otherwise set both to the source's values in target.parameters and deploy",
    'cutover',
  );
}

/** Not overridden by --force: an intended difference is accepted by name in migration.acceptSettingsDifferences. */
async function refuseSettingsDifferences(ctx: MigrationContext): Promise<void> {
  const findings = await settingsFindings(
    await ctx.server('source-master'),
    await ctx.server('target-master'),
    ctx.config.migration.acceptSettingsDifferences,
  );
  const blockers = findings.filter((f) => f.severity === 'block');
  if (!blockers.length) return;
  throw new OperatorError(
    `cutover refused; nothing was changed: the target's settings differ from the source's:\n${formatFindings(blockers)}`,
    'set each setting on the target as said above (or accept it by name), then run cutover again',
    'cutover',
  );
}
