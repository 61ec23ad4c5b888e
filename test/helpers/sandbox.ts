import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type Result, type ResultPromise } from 'execa';
import { emptyJournal, type JournalState } from '../../scripts/core/journal-format.js';
import { LocalJournalStore } from '../../scripts/core/journal-store.js';
import { loadShop, startWorkload } from '../../scripts/dev/demo/scenario.js';
import type { Workload } from '../../scripts/dev/demo/workload.js';
import { installMariadb, rootConnection, startMariadb, stopMariadb } from '../../scripts/dev/sandbox/mariadb-server.js';
import {
  freePort,
  readSandbox,
  SANDBOX_ROLES,
  type SandboxRole,
  type SandboxState,
  sandboxDown,
  sandboxUp,
  serverDir,
  serverSpec,
  writeSandbox,
} from '../../scripts/dev/sandbox/sandbox.js';
import { until } from './wait.js';

const CLI = resolve(import.meta.dirname, '../../scripts/cli.ts');

export interface TestSandbox {
  state: SandboxState;
  app: { user: string; password: string };
  /** Every line the CLI printed in this sandbox, for the secret-leak checks. */
  output: string[];
  cli(args: string[], env?: Record<string, string>): Promise<Result>;
  /** The CLI started, not awaited: for killing it at a moment of the test's choosing. */
  spawnCli(args: string[]): ResultPromise;
  workload(): Workload;
  down(): Promise<void>;
}

/** A fresh sandbox with the shop schema at a small scale, in its own temp directory. */
export async function shopSandbox(scale = 0.05, options: Parameters<typeof sandboxUp>[2] = {}): Promise<TestSandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'rlm-test-'));
  const state = await sandboxUp(dir, undefined, options);
  return handle(state, await loadShop(state, scale));
}

/**
 * A sandbox where `run` has finished (the target caught up, the replica removed). The first call per scale in a
 * test file runs the migration; every call gets its own copy of that state (see `sandboxAfter`).
 */
export async function migratedSandbox(scale = 0.05): Promise<TestSandbox> {
  return sandboxAfter(
    `migrated at scale ${scale}`,
    async (sb) => {
      const run = await sb.cli(['run']);
      assert.equal(run.exitCode, 0, String(run.all));
    },
    () => shopSandbox(scale),
  );
}

type Threads = { io: string; sql: string };
interface Kept {
  dir: string;
  copy: string;
  app: TestSandbox['app'];
  output: string[];
  threads: Partial<Record<SandboxRole, Threads>>;
}
const keptStates = new Map<string, Kept>();
process.on('exit', () => {
  for (const { copy } of keptStates.values()) rmSync(copy, { recursive: true, force: true });
});

/**
 * A sandbox in the state `build` leaves it in, for tests that each must run on their own. The first call per
 * key in a test file starts a sandbox (`start`, a fresh shop by default), runs `build` on it and keeps a copy of
 * the stopped servers; every call, that first one included, gets its own copy at the same path and ports (one
 * test at a time holds them), restarted with each replication thread as it was. `build` must stop any workload
 * it starts. What the CLI printed during the build comes with each copy's `output`, for the secret-leak checks.
 */
export async function sandboxAfter(
  key: string,
  build: (sb: TestSandbox) => Promise<void>,
  start: () => Promise<TestSandbox> = () => shopSandbox(),
): Promise<TestSandbox> {
  const known = keptStates.get(key);
  const kept = known ?? (await keepState(key, build, start));
  if (known) {
    // Servers a failed test left running there are stopped before their files are replaced.
    await sandboxDown(kept.dir);
    await copySparse(kept.copy, kept.dir);
  }
  const sb = handle(await restartAsKept(kept), kept.app);
  sb.output.push(...kept.output);
  return sb;
}

async function keepState(key: string, build: (sb: TestSandbox) => Promise<void>, start: () => Promise<TestSandbox>): Promise<Kept> {
  const sb = await start();
  try {
    await build(sb);
    const threads = await replicationThreads(sb.state);
    await sandboxDown(sb.state.dir, { keepData: true });
    const copy = mkdtempSync(join(tmpdir(), 'rlm-kept-'));
    await copySparse(sb.state.dir, copy);
    const kept = { dir: sb.state.dir, copy, app: sb.app, output: [...sb.output], threads };
    keptStates.set(key, kept);
    return kept;
  } catch (err) {
    await sb.down();
    throw err;
  }
}

/** Each server's redo log is 256 MB of mostly zeros: copied sparse, a sandbox copies in a fraction of the time. */
async function copySparse(from: string, to: string): Promise<void> {
  mkdirSync(to, { recursive: true });
  await execa('cp', ['-a', '--sparse=always', `${from}/.`, to]);
}

const presentRoles = (dir: string) => SANDBOX_ROLES.filter((role) => existsSync(serverDir(dir, role)));

async function replicationThreads(state: SandboxState): Promise<Kept['threads']> {
  const threads: Kept['threads'] = {};
  for (const role of presentRoles(state.dir)) {
    const root = await rootConnection(serverDir(state.dir, role));
    try {
      const [rows] = await root.query('SHOW SLAVE STATUS');
      const status = (rows as { Slave_IO_Running: string; Slave_SQL_Running: string }[])[0];
      if (status) threads[role] = { io: status.Slave_IO_Running, sql: status.Slave_SQL_Running };
    } finally {
      await root.end();
    }
  }
  return threads;
}

/**
 * A server restarts every replication it has settings for, a frozen replica's too; so each starts with none
 * running, and only the threads that ran when the state was kept are started again, once every server listens.
 */
async function restartAsKept(kept: Kept): Promise<SandboxState> {
  const state = readSandbox(kept.dir)!;
  const roles = presentRoles(kept.dir);
  const pids = await Promise.all(roles.map((role) => startMariadb({ ...serverSpec(state, role), skipSlaveStart: true })));
  for (const [i, role] of roles.entries()) state.servers[role].pid = pids[i];
  writeSandbox(state);
  for (const [role, threads] of Object.entries(kept.threads) as [SandboxRole, Threads][]) await resume(state, role, threads);
  return state;
}

async function resume(state: SandboxState, role: SandboxRole, threads: Threads): Promise<void> {
  const root = await rootConnection(serverDir(state.dir, role));
  try {
    if (threads.io !== 'No') await root.query('START SLAVE IO_THREAD');
    if (threads.sql === 'Yes') await root.query('START SLAVE SQL_THREAD');
    await until(`${role}'s replication to run again as it did when the state was kept`, async () => {
      const [rows] = await root.query('SHOW SLAVE STATUS');
      const now = (rows as { Slave_IO_Running: string; Slave_SQL_Running: string }[])[0]!;
      return (threads.io !== 'Yes' || now.Slave_IO_Running === 'Yes') && now.Slave_SQL_Running === threads.sql;
    });
  } finally {
    await root.end();
  }
}

function handle(state: SandboxState, app: TestSandbox['app']): TestSandbox {
  const dir = state.dir;
  const output: string[] = [];
  const workloads: Workload[] = [];
  return {
    state,
    app,
    output,
    async cli(args, env = {}) {
      const result = await execa(process.execPath, ['--import', 'tsx', CLI, '--config', state.configFile, ...args], {
        env,
        reject: false,
        all: true,
      });
      output.push(result.all ?? '');
      return result;
    },
    spawnCli(args) {
      return execa(process.execPath, ['--import', 'tsx', CLI, '--config', state.configFile, ...args], {
        reject: false,
        all: true,
        buffer: true,
      });
    },
    workload() {
      const w = startWorkload(state, app);
      workloads.push(w);
      return w;
    },
    // Writers left running by a failed test would retry forever against stopped servers.
    async down() {
      await Promise.all(workloads.map((w) => w.stop()));
      await sandboxDown(dir);
    },
  };
}

/** The last line of stdout, as JSON (what --json promises). */
export function lastJson<T = Record<string, unknown>>(result: Result): T {
  const lines = String(result.stdout).trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** The sandbox migration's journal as stored (empty before the first step). */
export function journalOf(state: SandboxState): JournalState {
  return new LocalJournalStore(join(state.dir, 'work')).read()?.state ?? emptyJournal('');
}

export function secretOf(state: SandboxState, role: 'source-master' | 'target-master'): string {
  return (JSON.parse(readFileSync(join(state.dir, 'secrets', `${role}.json`), 'utf8')) as { password: string }).password;
}

/** One throw-away MariaDB server of a test file's own, for tests that need no sandbox roles; root connects by socket. */
export async function singleServer(name: string): Promise<{
  port: number;
  root: Awaited<ReturnType<typeof rootConnection>>;
  stop(): Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), `rlm-${name}-`));
  const port = await freePort();
  const spec = { name, dir, port, serverId: 1 };
  await installMariadb(spec);
  await startMariadb(spec);
  const root = await rootConnection(dir);
  return {
    port,
    root,
    async stop() {
      await root.end();
      await stopMariadb(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
