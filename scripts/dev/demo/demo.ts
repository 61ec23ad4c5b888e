import { existsSync } from 'node:fs';
import { loadConfig } from '../../../config/load.js';
import { cutover } from '../../cutover/cutover.js';
import { rollback } from '../../cutover/rollback.js';
import type { TrafficSwitch } from '../../cutover/traffic-switch.js';
import { MigrationContext } from '../../core/context.js';
import { recordVerify, runMigration } from '../../workflows.js';
import { sandboxDown, sandboxUp } from '../sandbox/sandbox.js';
import type { MigrationConfig } from '../../../config/schema.js';
import type { SeedChoice, SeedMethod } from '../../run/seed-method.js';
import type { Log } from '../../support/log.js';
import type { VerifyReport } from '../../verify/verify.js';
import { loadShop, startWorkload, verifyAtRest } from './scenario.js';
import type { Workload } from './workload.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface DemoOptions {
  dir: string;
  scale: number;
  keep: boolean;
  /** Cut over, write on the target, roll back, then cut over again. @default true */
  rollback: boolean;
  /** migration.seedMethod of the sandbox's config. @default logical */
  seedMethod?: MigrationConfig['migration']['seedMethod'];
  log: Log;
}

export interface DemoReport {
  ok: boolean;
  seedMethod: SeedMethod;
  /** Rows on the target right after the seed, counted there. */
  rowsSeeded: number;
  tablesCompared: number;
  checksumsMatch: boolean;
  mismatchedTables: string[];
  onlineVerify: { ok: boolean; chunksCompared: number; rowsCompared: number; differences: number };
  acknowledgedWrites: number;
  acknowledgedWritesLost: number;
  /** The longest window in which the workload could not commit, over the whole run (cutovers and rollback included). */
  writeDowntimeMs: number;
  cutoverMs: number;
  rollbackTested: boolean;
  rollbackMs: number | null;
  workloadErrors: number;
  durationsMs: Record<string, number>;
}

async function timed<T>(durations: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    durations[name] = Date.now() - t0;
  }
}

const pause = delay;

/**
 * The whole product on the local sandbox: three RDS-like servers, a realistic
 * schema with bulk data and a live write workload that never stops; then the
 * migration, an online verify under writes, cutover (the workload follows the
 * switch), writes on the target, a rollback that must lose none of them, a
 * second cutover, and a check at rest that nothing was lost.
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const { log } = options;
  const durationsMs: Record<string, number> = {};
  if (existsSync(options.dir)) await sandboxDown(options.dir);
  const state = await timed(durationsMs, 'sandboxUp', () => sandboxUp(options.dir, (m) => log.info(m), { seedMethod: options.seedMethod }));
  let workload: Workload | undefined;
  const ctx = MigrationContext.open(loadConfig(state.configFile), log);
  try {
    log.info(`loading the shop schema and demo data (scale ${options.scale}) into source-master`);
    const app = await timed(durationsMs, 'loadData', () => loadShop(state, options.scale));
    const live = startWorkload(state, app);
    workload = live;
    log.info('live workload started on source-master: 4 writers committing continuously');
    const follow: TrafficSwitch = async ({ endpoint }) => live.switchTo(endpoint);

    const run = await timed(durationsMs, 'migrate', () => runMigration(ctx));
    for (const [step, ms] of Object.entries(run.durationsMs)) durationsMs[`step:${step}`] = ms;

    const verifyOnline = async (name: string): Promise<VerifyReport> => {
      const report = await timed(durationsMs, name, () => recordVerify(ctx));
      log.info(
        `online verify under writes: ${report.ok ? 'no difference' : 'DIFFERENCES'} (${report.chunksCompared} chunks, ${report.rowsCompared} rows; ${live.committed} commits so far)`,
      );
      return report;
    };
    const online = await verifyOnline('verify');

    let rollbackMs: number | null = null;
    if (options.rollback) {
      await timed(durationsMs, 'cutover:first', () => cutover(ctx, { trafficSwitch: follow }));
      await pause(2000);
      log.info(`${live.committed} commits so far; rolling back to the source`);
      rollbackMs = (await timed(durationsMs, 'rollback', () => rollback(ctx, { trafficSwitch: follow }))).rollbackMs;
      await pause(1000);
      await verifyOnline('verify:after-rollback');
    }
    const final = await timed(durationsMs, 'cutover', () => cutover(ctx, { trafficSwitch: follow }));
    log.info(`cut over; the workload writes on target-master now (${live.committed} commits so far)`);
    await pause(2000);

    const written = await live.stop();
    workload = undefined;
    const atRest = await timed(durationsMs, 'verifyAtRest', () => verifyAtRest(state, written, log, 'target-master'));
    const mismatched = atRest.tables.filter((t) => !t.equal).map((t) => t.table);
    const result: DemoReport = {
      ok: atRest.checksumsMatch && atRest.acknowledgedWritesLost === 0 && online.ok,
      seedMethod: (run.steps['seed-method'] as SeedChoice).method,
      rowsSeeded: seededRows(run.steps['seed-target'] as { rowsCopied?: number; rows?: number }),
      tablesCompared: atRest.tables.length,
      checksumsMatch: atRest.checksumsMatch,
      mismatchedTables: mismatched,
      onlineVerify: {
        ok: online.ok,
        chunksCompared: online.chunksCompared,
        rowsCompared: online.rowsCompared,
        differences: online.differences.length,
      },
      acknowledgedWrites: written.committed,
      acknowledgedWritesLost: atRest.acknowledgedWritesLost,
      writeDowntimeMs: written.longestWriteGapMs,
      cutoverMs: final.cutoverMs,
      rollbackTested: rollbackMs !== null,
      rollbackMs,
      workloadErrors: written.failed,
      durationsMs,
    };
    printSummary(log, result);
    if (!result.ok) process.exitCode = 1;
    return result;
  } finally {
    await workload?.stop();
    await ctx.close();
    if (!options.keep) await sandboxDown(options.dir);
    else
      log.info(
        `sandbox left running in ${state.dir} (config: ${state.configFile}); stop it with: npm run cli -- sandbox down --dir ${options.dir}`,
      );
  }
}

function seededRows(seed: { rowsCopied?: number; rows?: number }): number {
  return seed.rowsCopied ?? seed.rows ?? 0;
}

function printSummary(log: Log, r: DemoReport): void {
  log.info(
    [
      `ok: ${r.ok}`,
      `seed: ${r.seedMethod}, ${r.rowsSeeded} rows`,
      `online verify under writes: ${r.onlineVerify.ok ? 'no difference' : `${r.onlineVerify.differences} differing chunk(s)`} (${r.onlineVerify.rowsCompared} rows)`,
      `tables compared at rest: ${r.tablesCompared}, checksums match: ${r.checksumsMatch}${r.mismatchedTables.length ? ` (differ: ${r.mismatchedTables.join(', ')})` : ''}`,
      `acknowledged writes: ${r.acknowledgedWrites}, lost: ${r.acknowledgedWritesLost}`,
      `write downtime: ${r.writeDowntimeMs} ms (longest gap between commits), cutover: ${r.cutoverMs} ms, rollback tested: ${r.rollbackTested}${r.rollbackMs !== null ? ` (${r.rollbackMs} ms)` : ''}`,
      `durations (ms): ${Object.entries(r.durationsMs)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    ].join('\n  '),
  );
}
