import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../../config/load.js';
import { Server, type Endpoint } from '../../db/connection.js';
import { waitForPosition } from '../../core/catch-up.js';
import { MigrationContext } from '../../core/context.js';
import { rootConnection } from '../sandbox/mariadb-server.js';
import type { SandboxState } from '../sandbox/sandbox.js';
import type { Log } from '../../support/log.js';
import { nativePasswordHash, randomPassword } from '../../support/password.js';
import { compareTableChecksums, type TableComparison } from '../../verify/checksums.js';
import { DEMO_DATABASE, demoData, demoSchema } from './schema.js';
import { Workload, type WorkloadResult } from './workload.js';

// The pieces of the demo that tests reuse: fill the sandbox's source, run an
// application against it, and check the target against the source at the end.

export type AdminRole = 'source-master' | 'target-master';

export function sandboxAdmin(state: SandboxState, role: AdminRole): { endpoint: Endpoint; username: string; password: string } {
  const secret = JSON.parse(readFileSync(join(state.dir, 'secrets', `${role}.json`), 'utf8')) as { username: string; password: string };
  return { endpoint: { host: '127.0.0.1', port: state.servers[role].port }, ...secret };
}

export async function connectSandboxAdmin(state: SandboxState, role: AdminRole): Promise<Server> {
  const a = sandboxAdmin(state, role);
  return Server.connect({ role, endpoint: a.endpoint, credentials: { username: a.username, password: a.password } });
}

/** Creates the shop schema and bulk data on source-master, as its admin, plus the application's user. */
export async function loadShop(state: SandboxState, scale: number): Promise<{ user: string; password: string }> {
  const source = await connectSandboxAdmin(state, 'source-master');
  try {
    for (const sql of demoSchema) await source.query(sql);
    for (const sql of demoData(scale)) await source.query(sql);
    const password = randomPassword();
    await source.query(`CREATE USER 'shop_app'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash(password)}'`);
    await source.query(`GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE ON ${DEMO_DATABASE}.* TO 'shop_app'@'%'`);
    return { user: 'shop_app', password };
  } finally {
    await source.close();
  }
}

export function startWorkload(state: SandboxState, app: { user: string; password: string }): Workload {
  const workload = new Workload(sandboxAdmin(state, 'source-master').endpoint, app);
  workload.start();
  return workload;
}

export interface Verification {
  tables: TableComparison[];
  checksumsMatch: boolean;
  acknowledgedWritesLost: number;
}

/**
 * Quiesces the application (writers stopped by the caller, scheduled events
 * paused on both servers), waits until the follower has applied the writable
 * side's last event, then compares every table and looks up every
 * acknowledged write on the writable side. `writable` is the source before
 * cutover and the target after it.
 */
export async function verifyAtRest(
  state: SandboxState,
  written: WorkloadResult,
  log: Log,
  writable: AdminRole = 'source-master',
): Promise<Verification> {
  for (const role of ['source-master', 'target-master'] as const) {
    const root = await rootConnection(join(state.dir, 'servers', role));
    await root.query('SET GLOBAL event_scheduler = OFF');
    await root.end();
  }
  const source = await connectSandboxAdmin(state, 'source-master');
  const target = await connectSandboxAdmin(state, 'target-master');
  const [leader, follower] = writable === 'source-master' ? [source, target] : [target, source];
  const ctx = MigrationContext.open(loadConfig(state.configFile), log);
  try {
    await waitForPosition(ctx, follower, (await ctx.dialect.flavour.writePosition(leader))!);
    const tables = await compareTableChecksums(source, target, [DEMO_DATABASE]);
    const present = new Set(
      (await leader.query<{ k: string }>(`SELECT CONCAT(writer, ':', seq) AS k FROM ${DEMO_DATABASE}.workload_writes`)).map((r) => r.k),
    );
    const lost = written.acknowledged.filter((w) => !present.has(`${w.writer}:${w.seq}`)).length;
    return { tables, checksumsMatch: tables.length > 0 && tables.every((t) => t.equal), acknowledgedWritesLost: lost };
  } finally {
    await Promise.all([ctx.close(), source.close(), target.close()]);
  }
}
