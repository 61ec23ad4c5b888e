import { existsSync } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import { MigrationContext } from '../migrate/context.js';
import { runMigration } from '../migrate/migrator.js';
import { sandboxDown, sandboxUp } from '../sandbox/sandbox.js';
import type { Log } from '../support/log.js';
import { loadShop, startWorkload, verifyAgainstSource } from './scenario.js';
import type { Workload } from './workload.js';

export interface DemoOptions {
  dir: string;
  scale: number;
  keep: boolean;
  log: Log;
}

export interface DemoReport {
  ok: boolean;
  seedMethod: 'logical';
  rowsCopied: number;
  tablesCompared: number;
  checksumsMatch: boolean;
  mismatchedTables: string[];
  acknowledgedWrites: number;
  acknowledgedWritesLost: number;
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

/**
 * The whole product on the local sandbox: three RDS-like servers, a realistic
 * schema with bulk data, a live write workload that never stops during the
 * migration, then the migration itself, and a check that nothing was lost.
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const { log } = options;
  const durationsMs: Record<string, number> = {};
  if (existsSync(options.dir)) await sandboxDown(options.dir);
  const state = await timed(durationsMs, 'sandboxUp', () => sandboxUp(options.dir, (m) => log.info(m)));
  let workload: Workload | undefined;
  try {
    log.info(`loading the shop schema and demo data (scale ${options.scale}) into source-master`);
    const app = await timed(durationsMs, 'loadData', () => loadShop(state, options.scale));
    workload = startWorkload(state, app);
    log.info('live workload started on source-master: 4 writers committing continuously');

    const ctx = MigrationContext.open(loadConfig(state.configFile), log);
    const run = await timed(durationsMs, 'migrate', () => runMigration(ctx)).finally(() => ctx.close());
    for (const [step, ms] of Object.entries(run.durationsMs)) durationsMs[`step:${step}`] = ms;
    log.info(`migration done while the workload kept writing (${workload.committed} commits so far); letting it run 2 s more`);
    await new Promise((r) => setTimeout(r, 2000));

    const written = await workload.stop();
    workload = undefined;
    const verification = await timed(durationsMs, 'verify', () => verifyAgainstSource(state, written, log));
    const mismatched = verification.tables.filter((t) => !t.equal).map((t) => t.table);
    const result: DemoReport = {
      ok: verification.checksumsMatch && verification.acknowledgedWritesLost === 0,
      seedMethod: 'logical',
      rowsCopied: (run.steps['seed-target'] as { rowsCopied: number }).rowsCopied,
      tablesCompared: verification.tables.length,
      checksumsMatch: verification.checksumsMatch,
      mismatchedTables: mismatched,
      acknowledgedWrites: written.committed,
      acknowledgedWritesLost: verification.acknowledgedWritesLost,
      workloadErrors: written.failed,
      durationsMs,
    };
    printSummary(log, result);
    if (!result.ok) process.exitCode = 1;
    return result;
  } finally {
    await workload?.stop();
    if (!options.keep) await sandboxDown(options.dir);
    else log.info(`sandbox left running in ${state.dir} (config: ${state.configFile}); stop it with: npm run cli -- sandbox down --dir ${options.dir}`);
  }
}

function printSummary(log: Log, r: DemoReport): void {
  log.info(
    [
      `ok: ${r.ok}`,
      `rows copied by the seed: ${r.rowsCopied}`,
      `tables compared: ${r.tablesCompared}, checksums match: ${r.checksumsMatch}${r.mismatchedTables.length ? ` (differ: ${r.mismatchedTables.join(', ')})` : ''}`,
      `acknowledged writes: ${r.acknowledgedWrites}, lost: ${r.acknowledgedWritesLost}`,
      `durations (ms): ${Object.entries(r.durationsMs).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    ].join('\n  '),
  );
}
