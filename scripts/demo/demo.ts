import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { Server, type Endpoint } from '../db/connection.js';
import { masterPosition } from '../db/replica-status.js';
import { waitForPosition } from '../migrate/catch-up.js';
import { MigrationContext } from '../migrate/context.js';
import { runMigration } from '../migrate/migrator.js';
import { rootConnection } from '../sandbox/mariadb-server.js';
import { readSandbox, sandboxDown, sandboxUp, type SandboxState } from '../sandbox/sandbox.js';
import type { Log } from '../support/log.js';
import { nativePasswordHash, randomPassword } from '../support/password.js';
import { compareTableChecksums } from '../verify/checksums.js';
import { DEMO_DATABASE, demoData, demoSchema } from './schema.js';
import { Workload } from './workload.js';

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

function adminOf(state: SandboxState, role: 'source-master' | 'target-master'): { endpoint: Endpoint; username: string; password: string } {
  const secret = JSON.parse(readFileSync(join(state.dir, 'secrets', `${role}.json`), 'utf8')) as { username: string; password: string };
  return { endpoint: { host: '127.0.0.1', port: state.servers[role].port }, ...secret };
}

async function connectAdmin(state: SandboxState, role: 'source-master' | 'target-master'): Promise<Server> {
  const a = adminOf(state, role);
  return Server.connect({ role, endpoint: a.endpoint, credentials: { username: a.username, password: a.password } });
}

/**
 * The whole product on the local sandbox: three RDS-like servers, a realistic
 * schema with bulk data, a live write workload that never stops during the
 * migration, then the migration itself, and a check that nothing was lost.
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const { log } = options;
  const durationsMs: Record<string, number> = {};
  if (readSandbox(options.dir) || existsSync(options.dir)) await sandboxDown(options.dir);
  const state = await timed(durationsMs, 'sandboxUp', () => sandboxUp(options.dir, (m) => log.info(m)));
  let workload: Workload | undefined;
  try {
    const source = await connectAdmin(state, 'source-master');
    const appPassword = randomPassword();
    await timed(durationsMs, 'loadData', async () => {
      for (const sql of demoSchema) await source.query(sql);
      log.info(`loading demo data (scale ${options.scale}) into source-master`);
      for (const sql of demoData(options.scale)) await source.query(sql);
      await source.query(`CREATE USER 'shop_app'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash(appPassword)}'`);
      await source.query(`GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON ${DEMO_DATABASE}.* TO 'shop_app'@'%'`);
    });

    workload = new Workload(adminOf(state, 'source-master').endpoint, { user: 'shop_app', password: appPassword });
    workload.start();
    log.info('live workload started on source-master: 4 writers committing continuously');

    const config = loadConfig(state.configFile);
    const ctx = MigrationContext.open(config, log);
    let run;
    try {
      run = await timed(durationsMs, 'migrate', () => runMigration(ctx));
    } finally {
      await ctx.close();
    }
    Object.assign(durationsMs, Object.fromEntries(Object.entries(run.durationsMs).map(([k, v]) => [`step:${k}`, v])));
    log.info(`migration done while the workload kept writing (${workload.committed} commits so far); letting it run 2 s more`);
    await new Promise((r) => setTimeout(r, 2000));

    const written = await workload.stop();
    workload = undefined;
    const report = await timed(durationsMs, 'verify', async () => {
      // The application goes quiet (writers stopped, its scheduled event paused) so both sides can be compared at one point.
      const root = await rootConnection(join(state.dir, 'servers', 'source-master'));
      await root.query('SET GLOBAL event_scheduler = OFF');
      await root.end();
      const target = await connectAdmin(state, 'target-master');
      const verifyCtx = MigrationContext.open(config, log);
      try {
        await waitForPosition(verifyCtx, target, (await masterPosition(source))!);
        const tables = await compareTableChecksums(source, target, [DEMO_DATABASE]);
        const present = new Set((await target.query<{ k: string }>("SELECT CONCAT(writer, ':', seq) AS k FROM shop.workload_writes")).map((r) => r.k));
        const lost = written.acknowledged.filter((w) => !present.has(`${w.writer}:${w.seq}`)).length;
        return { tables, lost };
      } finally {
        await verifyCtx.close();
        await target.close();
      }
    });
    await source.close();

    const seed = run.steps['seed-target'] as { rowsCopied: number };
    const mismatched = report.tables.filter((t) => !t.equal).map((t) => t.table);
    const result: DemoReport = {
      ok: mismatched.length === 0 && report.lost === 0,
      seedMethod: 'logical',
      rowsCopied: seed.rowsCopied,
      tablesCompared: report.tables.length,
      checksumsMatch: mismatched.length === 0,
      mismatchedTables: mismatched,
      acknowledgedWrites: written.committed,
      acknowledgedWritesLost: report.lost,
      workloadErrors: written.failed,
      durationsMs,
    };
    printSummary(log, result);
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
