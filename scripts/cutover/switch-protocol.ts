import { waitForPosition } from '../core/catch-up.js';
import type { MigrationContext } from '../core/context.js';
import type { BinlogPosition, JournalStep } from '../core/journal-format.js';
import { CUTOVER_STEPS, ROLLBACK_STEPS } from '../core/journal-format.js';
import { journaled } from '../core/journaled.js';
import { follow } from '../core/replication-link.js';
import { endOfFirstStatement } from '../db/binlog-events.js';
import type { Server } from '../db/connection.js';
import { formatPosition } from '../db/replica-status.js';
import { runHooks } from '../hooks/runner.js';
import type { Endpoint } from '../db/connection.js';
import { crashIfRequested } from '../support/faults.js';
import { existingEvents, type HeldBack, heldBackNow, migratedDatabases } from './events-now.js';
import type { SwitchRequest, TrafficSwitch } from './traffic-switch.js';
import { freezeWrites, setEvents, UNLOCK_STATEMENT, unlockAccounts } from './write-freeze.js';

type Role = 'source-master' | 'target-master';

/**
 * One direction of the write switch. Cutover and rollback run the same
 * protocol (docs/cutover.md) with the sides swapped; the step names and the
 * journal keys of each direction are the documented contract.
 */
export interface SwitchDirection {
  /** The side that stops taking writes, then follows the other. */
  readonly closing: Role;
  /** The side that takes the writes after. */
  readonly opening: Role;
  readonly traffic: SwitchRequest['direction'];
  readonly steps: {
    freeze: JournalStep;
    drain: JournalStep;
    detach: JournalStep;
    open: JournalStep;
    follow: JournalStep;
    enableEvents: JournalStep;
    switchTraffic: JournalStep;
  };
  /** Journal keys: the closing side's final position (drain), the opening side's first (open). */
  readonly finalKey: string;
  readonly startKey: string;
  /** Where the closing side reaches the opening side as its follower. */
  leaderAddress(ctx: MigrationContext): Endpoint;
  /** Where the application goes. */
  endpoint(ctx: MigrationContext): Endpoint;
}

const stepsOf = (names: readonly JournalStep[]): SwitchDirection['steps'] => {
  const [freeze, drain, detach, open, follow, enableEvents, switchTraffic] = names as [JournalStep, ...JournalStep[]];
  return {
    freeze,
    drain: drain!,
    detach: detach!,
    open: open!,
    follow: follow!,
    enableEvents: enableEvents!,
    switchTraffic: switchTraffic!,
  };
};

export const TO_TARGET: SwitchDirection = {
  closing: 'source-master',
  opening: 'target-master',
  traffic: 'to-target',
  steps: stepsOf(CUTOVER_STEPS),
  finalKey: 'sourceFinal',
  startKey: 'targetStart',
  leaderAddress: (ctx) => {
    const outputs = ctx.targetOutputs();
    return {
      host: ctx.config.migration.targetHostForSource ?? outputs.host,
      port: ctx.config.migration.targetPortForSource ?? outputs.port,
    };
  },
  endpoint: (ctx) => ctx.targetOutputs(),
};

export const TO_SOURCE: SwitchDirection = {
  closing: 'target-master',
  opening: 'source-master',
  traffic: 'to-source',
  steps: stepsOf(ROLLBACK_STEPS),
  finalKey: 'targetFinal',
  startKey: 'sourceStart',
  leaderAddress: (ctx) => {
    const { source } = ctx.outputs();
    return { host: ctx.config.migration.sourceHostForTarget ?? source.host, port: ctx.config.migration.sourcePortForTarget ?? source.port };
  },
  endpoint: (ctx) => ctx.outputs().source,
};

export interface FreezeRecord extends HeldBack {
  startedAtMs: number;
}

interface OpenRecord extends Record<string, unknown> {
  /** The opening side's position before its accounts were unlocked (recorded before the unlock). */
  before: BinlogPosition;
}

export function freezeRecord(ctx: MigrationContext, direction: SwitchDirection): FreezeRecord {
  return ctx.journal.data<FreezeRecord>(direction.steps.freeze)!;
}

/**
 * Steps 1-5: after them only the opening side takes writes and the closing side follows it.
 * freeze → drain → detach → open → follow.
 */
export async function switchWrites(ctx: MigrationContext, direction: SwitchDirection): Promise<void> {
  const closing = await ctx.server(direction.closing);
  const opening = await ctx.server(direction.opening);
  const { steps } = direction;

  await journaled(
    ctx,
    steps.freeze,
    `stop writes on ${direction.closing} (lock application accounts, end sessions, disable events)`,
    async () => {
      const startedAtMs = Date.now();
      const held = await heldBackNow(ctx, closing, ctx.journal.data<HeldBack>(steps.freeze));
      // Recorded before the work: a redo must also undo what this attempt locks and disables.
      ctx.journal.started(steps.freeze, held);
      const killed = await freezeWrites(ctx, closing, { ...held, databases: migratedDatabases(ctx) });
      ctx.log.info(
        `${direction.closing} frozen: ${held.accounts.length} account(s) locked, ${killed} session(s) ended, ${held.events.length} event(s) disabled`,
      );
      return { ...held, startedAtMs } satisfies FreezeRecord;
    },
  );

  await journaled(ctx, steps.drain, `wait until ${direction.opening} applied ${direction.closing}'s last write`, async () => {
    const final = (await ctx.dialect.flavour.writePosition(closing))!;
    await waitForPosition(ctx, opening, final, 120_000);
    ctx.log.info(`${direction.opening} applied ${direction.closing} up to its final position ${formatPosition(final)}`);
    return { [direction.finalKey]: final };
  });

  await journaled(ctx, steps.detach, `stop and reset replication on ${direction.opening}`, async () => {
    await ctx.dialect.stopReplication(opening);
    await ctx.dialect.resetExternalMaster(opening);
    return {};
  });

  await journaled(ctx, steps.open, `unlock the application accounts on ${direction.opening}`, async () => {
    const start = await openAccounts(ctx, direction, opening);
    return { [direction.startKey]: start, before: ctx.journal.data<OpenRecord>(steps.open)!.before };
  });

  await journaled(ctx, steps.follow, `make ${direction.closing} follow ${direction.opening}`, async () => {
    const from = ctx.journal.data<Record<string, BinlogPosition>>(steps.open)![direction.startKey]!;
    const leader = direction.leaderAddress(ctx);
    // The replication user gets a new password on the leader; that ALTER replicates to the follower harmlessly.
    const { resumed } = await follow(ctx, {
      step: steps.follow,
      follower: closing,
      leader: opening,
      host: leader.host,
      port: leader.port,
      position: from,
    });
    return { from, resumed };
  });
}

/**
 * Unlocks the accounts the freeze locked (its lock replicated to this side) in
 * one statement, and returns the position right after that statement: the
 * closing side follows from there. Not before it (the unlock would replicate
 * back and reopen the closing side) and not the head read afterwards (the
 * application may already have written: those writes would never reach the
 * other side). A redo finds the first attempt's unlock and does not unlock again.
 */
async function openAccounts(ctx: MigrationContext, direction: SwitchDirection, opening: Server): Promise<BinlogPosition> {
  const step = direction.steps.open;
  const before = ctx.journal.data<OpenRecord>(step)?.before ?? (await ctx.dialect.flavour.writePosition(opening))!;
  ctx.journal.started(step, { before } satisfies OpenRecord);
  const accounts = freezeRecord(ctx, direction).accounts;
  const find = async () => endOfFirstStatement(opening, before, (await ctx.dialect.flavour.writePosition(opening))!, UNLOCK_STATEMENT);
  let start = accounts.length ? await find() : before;
  if (!start) {
    await unlockAccounts(opening, accounts);
    crashIfRequested('mid', step);
    start = await find();
  }
  if (start) return start;
  // Not in the binlog: every account was dropped meanwhile (nothing to log), or the server logged the
  // statement in words UNLOCK_STATEMENT does not know. Starting before the unlock would replay it and
  // reopen the closing side; the head now is the lesser risk, and it is said.
  const head = (await ctx.dialect.flavour.writePosition(opening))!;
  if (accounts.length && (head.file !== before.file || head.pos !== before.pos))
    ctx.log.warn(
      `${direction.opening}: the accounts' unlock was not found in the binlog after ${before.file}:${before.pos}; ${direction.closing} follows from the head, ${head.file}:${head.pos}: a write committed right after the unlock may be missing there (verify will say)`,
    );
  return head;
}

/** Steps 6-7: the held-back events run on the opening side; the application is moved there. */
export async function finishSwitch(ctx: MigrationContext, direction: SwitchDirection, trafficSwitch: TrafficSwitch): Promise<void> {
  await journaled(ctx, direction.steps.enableEvents, `enable the held-back events on ${direction.opening}`, async () => {
    const opening = await ctx.server(direction.opening);
    const events = await existingEvents(ctx, opening, freezeRecord(ctx, direction).events);
    await setEvents(opening, events, 'ENABLE');
    return { enabled: events };
  });
  await journaled(ctx, direction.steps.switchTraffic, `move the application to ${direction.opening}`, async () => {
    const request: SwitchRequest = { direction: direction.traffic, role: direction.opening, endpoint: direction.endpoint(ctx) };
    await trafficSwitch(request);
    await switchHooks(ctx, request);
    return {};
  });
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
