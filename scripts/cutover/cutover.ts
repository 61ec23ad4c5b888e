import { formatPosition, masterPosition, type BinlogPosition } from '../db/replica-status.js';
import { measureLag, waitForPosition } from '../core/catch-up.js';
import type { MigrationContext } from '../core/context.js';
import type { Account } from '../run/copy-users.js';
import { commandPreflight } from '../core/command-preflight.js';
import { acquireRunLock } from '../core/journal.js';
import { journaled } from '../core/journaled.js';
import { follow } from '../core/replication-link.js';
import { formatFindings } from '../run/preflight/index.js';
import { settingsFindings } from '../core/settings-diff.js';
import type { EventInfo } from '../core/schema-inventory.js';
import { OperatorError } from '../support/errors.js';
import { runHooks } from '../hooks/runner.js';
import { configuredSwitch, type SwitchRequest, type TrafficSwitch } from './traffic-switch.js';
import { existingEvents, heldBackNow, type HeldBack } from './events-now.js';
import { freezeWrites, setEvents, unlockAccounts } from './write-freeze.js';

export interface FreezeRecord extends Record<string, unknown> {
  accounts: Account[];
  events: EventInfo[];
  startedAtMs: number;
}

export interface CutoverReport extends Record<string, unknown> {
  ok: true;
  cutoverMs: number;
  sourceFinal: BinlogPosition;
  targetStart: BinlogPosition;
}

export const CUTOVER_STEPS = [
  'cutover:freeze-source',
  'cutover:drain',
  'cutover:detach-target',
  'cutover:open-target',
  'cutover:reverse-replication',
  'cutover:enable-events',
  'cutover:switch-traffic',
] as const;

/**
 * The switch, as a protocol of journaled steps (see docs/cutover.md for what a
 * crash at each one leaves and how to go on):
 *  1. freeze-source: lock the application's accounts on the source, end their
 *     sessions, disable its events. From here only the target will take writes.
 *  2. drain: record the source's final binlog position; wait until the target applied it.
 *  3. detach-target: stop and reset replication on the target.
 *  4. open-target: unlock the accounts on the target and record its binlog
 *     position right after (the unlock itself must not replicate back and
 *     reopen the old source).
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
    await commandPreflight(ctx);
    if (!ctx.journal.step('cutover:freeze-source')) {
      await checkReady(ctx, options.force === true);
      await runHooks(ctx, 'before-cutover');
    }
    await cutoverStructure(ctx);
    await journaled(ctx, 'cutover:enable-events', 'enable the held-back events on the target', async () => {
      const target = await ctx.server('target-master');
      const events = await existingEvents(ctx, target, freezeRecord(ctx).events);
      await setEvents(target, events, 'ENABLE');
      return { enabled: events };
    });
    await journaled(ctx, 'cutover:switch-traffic', 'move the application to the target', async () => {
      const request = { direction: 'to-target', role: 'target-master', endpoint: ctx.targetOutputs() } as const;
      await (options.trafficSwitch ?? configuredSwitch(ctx))(request);
      await switchHooks(ctx, request);
      return {};
    });
    const report = await journaled(ctx, 'cutover', 'cutover complete', async () => ({
      ok: true as const,
      cutoverMs: Date.now() - freezeRecord(ctx).startedAtMs,
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

/** The switch-traffic hooks move the application (beside or instead of trafficSwitchCommand); after-switch ones are told it moved. */
export async function switchHooks(ctx: MigrationContext, request: SwitchRequest): Promise<void> {
  const env = {
    RLM_DIRECTION: request.direction,
    RLM_ROLE: request.role,
    RLM_HOST: request.endpoint.host,
    RLM_PORT: String(request.endpoint.port),
  };
  await runHooks(ctx, 'switch-traffic', env);
  await runHooks(ctx, 'after-switch', env);
}

export function freezeRecord(ctx: MigrationContext): FreezeRecord {
  return ctx.journal.data<FreezeRecord>('cutover:freeze-source')!;
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
  if (!problems.length) return;
  if (!force)
    throw new OperatorError(
      `cutover refused: ${problems.join('; ')}`,
      'fix that (run `rds-live-migrate verify`), or pass --force to cut over anyway',
      'cutover',
    );
  ctx.log.warn(`CUTOVER FORCED despite: ${problems.join('; ')}`);
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

/** Steps 1-5: after them only the target takes writes and the old source follows it. Rollback reuses them. */
export async function cutoverStructure(ctx: MigrationContext): Promise<void> {
  const source = await ctx.server('source-master');
  const target = await ctx.server('target-master');

  await journaled(
    ctx,
    'cutover:freeze-source',
    'stop writes on source-master (lock application accounts, end sessions, disable events)',
    async () => {
      const startedAtMs = Date.now();
      const held = await heldBackNow(ctx, source, ctx.journal.data<HeldBack>('cutover:freeze-source'));
      // Recorded before the work: a redo must also undo what this attempt locks and disables.
      ctx.journal.started('cutover:freeze-source', held);
      const killed = await freezeWrites(ctx, source, held.accounts, held.events);
      ctx.log.info(
        `source-master frozen: ${held.accounts.length} account(s) locked, ${killed} session(s) ended, ${held.events.length} event(s) disabled`,
      );
      return { ...held, startedAtMs } satisfies FreezeRecord;
    },
  );

  await journaled(ctx, 'cutover:drain', "wait until the target applied the source's last write", async () => {
    const sourceFinal = (await masterPosition(source))!;
    await waitForPosition(ctx, target, sourceFinal, 120_000);
    ctx.log.info(`target-master applied source-master up to its final position ${formatPosition(sourceFinal)}`);
    return { sourceFinal };
  });

  await journaled(ctx, 'cutover:detach-target', 'stop and reset replication on the target', async () => {
    await ctx.dialect.stopReplication(target);
    await ctx.dialect.resetExternalMaster(target);
    return {};
  });

  await journaled(ctx, 'cutover:open-target', 'unlock the application accounts on the target', async () => {
    await unlockAccounts(target, freezeRecord(ctx).accounts);
    const targetStart = (await masterPosition(target))!;
    return { targetStart };
  });

  await journaled(ctx, 'cutover:reverse-replication', 'make the old source follow the target (the way back)', async () => {
    const from = ctx.journal.data<{ targetStart: BinlogPosition }>('cutover:open-target')!.targetStart;
    const outputs = ctx.targetOutputs();
    // The user exists on the target since point-target; it gets a new password, and that ALTER replicates to the old source harmlessly.
    const { resumed } = await follow(ctx, {
      step: 'cutover:reverse-replication',
      follower: source,
      leader: target,
      host: ctx.config.migration.targetHostForSource ?? outputs.host,
      port: ctx.config.migration.targetPortForSource ?? outputs.port,
      position: from,
    });
    return { from, resumed };
  });
}
