import { OperatorError } from './support/errors.js';
import { keepBinlogRetention, setBinlogRetention } from './run/binlog-retention.js';
import { catchUp, measureLag } from './core/catch-up.js';
import { copyUsers } from './run/copy-users.js';
import type { MigrationContext } from './core/context.js';
import { converge, type InfrastructureChange } from './core/infrastructure.js';
import { assertStillFrozen, type FrozenPosition } from './run/freeze-replica.js';
import { phaseOf, PHASE_MEANING, type Phase } from './core/phases.js';
import { RESEED, VERIFY } from './core/journal-format.js';
import { reseed } from './run/reseed.js';
import { finalize } from './cutover/finalize.js';
import { verifyMigration, type VerifyReport } from './verify/verify.js';
import { freezeReplica } from './run/freeze-replica.js';
import { acquireRunLock } from './core/journal.js';
import { journaled } from './core/journaled.js';
import { pointTarget } from './run/point-target.js';
import { blocking, formatFindings, preflight, type Finding } from './run/preflight/index.js';
import { ensureReplicationUser } from './run/replication-user.js';
import { restoreTarget } from './run/restore-target.js';
import { chooseSeedMethod, type SeedChoice } from './run/seed-method.js';
import { seedTarget } from './run/seed-target.js';
import { STEP_NAMES, STEP_TITLES, type StepName } from './run/steps.js';
import { teardownReplica } from './run/teardown-replica.js';
import { ratesOfLags } from './core/apply-rate.js';
import { setTimeout as delay } from 'node:timers/promises';

type StepRun = (ctx: MigrationContext) => Promise<Record<string, unknown>>;

const RUNNERS: Record<StepName, StepRun> = {
  'binlog-retention': setBinlogRetention,
  'replication-user': async (ctx) => {
    await ensureReplicationUser(ctx, [await ctx.server('source-master')]);
    return { user: ctx.config.migration.replicationUser };
  },
  'seed-method': chooseSeedMethod,
  'freeze-replica': freezeReplica,
  'seed-target': async (ctx) => (ctx.journal.data<SeedChoice>('seed-method')?.method === 'snapshot' ? restoreTarget(ctx) : seedTarget(ctx)),
  'copy-users': copyUsers,
  'point-target': pointTarget,
  'catch-up': catchUp,
  'teardown-replica': teardownReplica,
};

/** Preflight, with its notes logged; throws when anything blocks. */
async function assertPreflight(ctx: MigrationContext, options: { freshTarget?: boolean } = {}): Promise<Finding[]> {
  const findings = await preflight(ctx, options);
  for (const f of findings.filter((f) => f.severity !== 'block')) ctx.log.info(`preflight [${f.severity}] ${f.server}: ${f.message}`);
  const blockers = blocking(findings);
  if (blockers.length) {
    throw new OperatorError(
      `preflight found ${blockers.length} problem(s) that stop the migration; nothing was changed:\n${formatFindings(blockers)}`,
      'fix each finding above and run again',
      'preflight',
    );
  }
  return findings;
}

export interface RunReport {
  ok: true;
  findings: Finding[];
  durationsMs: Record<string, number>;
  steps: Record<string, unknown>;
}

/**
 * Brings the infrastructure to what the phase declares before a step needs
 * it (see infrastructure.ts): in review mode this is where `run` stops for a
 * reviewed deploy. A target that appears here is checked as preflight would
 * have checked it; a snapshot is only taken of a replica still frozen.
 */
async function convergeBefore(ctx: MigrationContext): Promise<void> {
  const applied = await converge(ctx, async (changes: InfrastructureChange[]) => {
    const frozen = ctx.journal.data<FrozenPosition>('freeze-replica');
    if (frozen && changes.some((c) => c.kind === 'restore-target')) await assertStillFrozen(ctx, frozen);
  });
  if (applied.some((c) => c.kind === 'create-target') && ctx.journal.isDone('freeze-replica'))
    await assertPreflight(ctx, { freshTarget: true });
}

/** Preflight, then each step not yet done, in order, each journaled as it finishes. */
export async function runMigration(ctx: MigrationContext, options: { reseed?: boolean } = {}): Promise<RunReport> {
  const release = acquireRunLock(ctx.journal, 'rds-live-migrate run');
  try {
    const t0 = Date.now();
    if (options.reseed) await reseed(ctx, 'run --reseed: the position the target needed is gone from the source');
    else if (ctx.journal.step(RESEED))
      throw new OperatorError('a reseed was interrupted', 'run `rds-live-migrate run --reseed` again to finish it', 'reseed');
    await convergeBefore(ctx);
    const findings = await assertPreflight(ctx);
    await keepBinlogRetention(ctx);
    const durationsMs: Record<string, number> = { preflight: Date.now() - t0 };
    for (const name of STEP_NAMES) {
      if (!ctx.journal.isDone(name)) await convergeBefore(ctx);
      await journaled(ctx, name, STEP_TITLES[name], () => RUNNERS[name](ctx));
      durationsMs[name] = ctx.journal.step(name)?.durationMs ?? 0;
    }
    const steps = Object.fromEntries(STEP_NAMES.map((n) => [n, ctx.journal.data(n)]));
    return { ok: true, findings, durationsMs, steps };
  } finally {
    release();
  }
}

export interface PlanReport {
  findings: Finding[];
  blocked: boolean;
  steps: { name: StepName; title: string; status: 'done' | 'started' | 'pending' }[];
}

/** What `run` would do from here, and what preflight finds; changes nothing. */
export async function planMigration(ctx: MigrationContext): Promise<PlanReport> {
  const findings = await preflight(ctx);
  if (ctx.config.engine === 'mysql')
    findings.push({
      id: 'mysql8-untested',
      severity: 'warn',
      server: 'config',
      message: "engine mysql: no MySQL 8 server has run in this tool's tests; its MySQL 8 dialect follows the manual but is untested",
      fix: 'rehearse the whole migration (run, verify, cutover, rollback) on a restored snapshot of this database before production',
    });
  return {
    findings,
    blocked: blocking(findings).length > 0,
    steps: STEP_NAMES.map((name) => ({ name, title: STEP_TITLES[name], status: ctx.journal.step(name)?.status ?? 'pending' })),
  };
}

export interface StatusReport {
  migration: string;
  phase: Phase;
  meaning: string;
  steps: Record<string, string>;
  replication?: {
    follower: string;
    io: string;
    sql: boolean;
    secondsBehind: number | null;
    bytesBehind: number;
    executed: string;
    lastError: string;
    rates: { applyBytesPerSec: number; writeBytesPerSec: number; etaSeconds: number | null } | null;
  };
}

export async function migrationStatus(ctx: MigrationContext): Promise<StatusReport> {
  const { journal } = ctx;
  const steps = Object.fromEntries(STEP_NAMES.map((n) => [n, journal.step(n)?.status ?? 'pending']));
  const cutOver = journal.isDone('cutover:detach-target');
  const phase = phaseOf(journal.snapshot());
  const report: StatusReport = { migration: journal.migration, phase, meaning: PHASE_MEANING[phase], steps };
  // Before cutover the target follows the source; after it, the old source follows the target.
  if (journal.step('point-target') && !journal.isDone('finalize')) {
    const [follower, leader] = cutOver ? (['source-master', 'target-master'] as const) : (['target-master', 'source-master'] as const);
    const [followerServer, leaderServer] = [await ctx.server(follower), await ctx.server(leader)];
    const first = { ...(await measureLag(ctx, followerServer, leaderServer)), atMs: Date.now() };
    // Two looks a few seconds apart: enough for a rate without making status slow.
    await delay(2000);
    const lag = await measureLag(ctx, followerServer, leaderServer);
    const rates = await ratesOfLags(leaderServer, first, { ...lag, atMs: Date.now() });
    report.replication = {
      follower,
      io: lag.status.ioRunning,
      sql: lag.status.sqlRunning,
      secondsBehind: lag.secondsBehind,
      bytesBehind: lag.bytesBehind,
      executed: `${lag.status.executed.file}:${lag.status.executed.pos}`,
      lastError: lag.status.lastSqlError || lag.status.lastIoError,
      rates: rates && { applyBytesPerSec: rates.applyBytesPerSec, writeBytesPerSec: rates.writeBytesPerSec, etaSeconds: rates.etaSeconds },
    };
  }
  return report;
}

/**
 * Runs verify and records it, as cutover's gate reads it. Verify changes no
 * server, so it runs beside other commands; its record is written under the
 * lock on a fresh read of the journal, and only if the migration is still in
 * the phase it verified (a result from before a cutover or rollback says
 * nothing about the state after it).
 */
export async function recordVerify(
  ctx: MigrationContext,
  options: Parameters<typeof verifyMigration>[1] = {},
): Promise<VerifyReport & { recorded: boolean }> {
  const phaseAtStart = phaseOf(ctx.journal.snapshot());
  const report = await verifyMigration(ctx, options);
  ctx.journal.refresh();
  const phaseNow = phaseOf(ctx.journal.snapshot());
  if (phaseNow !== phaseAtStart) {
    ctx.log.warn(`verify not recorded: the migration moved from phase ${phaseAtStart} to ${phaseNow} while it ran; run verify again`);
    return { ...report, recorded: false };
  }
  ctx.journal.done(VERIFY, { ...report, phase: phaseAtStart }, report.durationMs);
  return { ...report, recorded: true };
}

/**
 * Finalize, then bring the infrastructure to what the finalized phase declares
 * (with the snapshot seed: the snapshots are no longer declared). In review
 * mode that is a deploy for someone to approve: exit 3 says which.
 */
export async function finalizeMigration(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const report = await finalize(ctx);
  const release = acquireRunLock(ctx.journal, 'rds-live-migrate finalize');
  try {
    await converge(ctx);
  } finally {
    release();
  }
  return report;
}
