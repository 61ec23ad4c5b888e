import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type Result, type ResultPromise } from 'execa';
import { emptyJournal, type JournalState } from '../../scripts/core/journal-format.js';
import { LocalJournalStore } from '../../scripts/core/journal-store.js';
import { loadShop, startWorkload } from '../../scripts/dev/demo/scenario.js';
import type { Workload } from '../../scripts/dev/demo/workload.js';
import { rootConnection } from '../../scripts/dev/sandbox/mariadb-server.js';
import { sandboxDown, sandboxUp, type SandboxState } from '../../scripts/dev/sandbox/sandbox.js';
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

const migratedCopies = new Map<number, { dir: string; copy: string; app: TestSandbox['app'] }>();
process.on('exit', () => {
  for (const { copy } of migratedCopies.values()) rmSync(copy, { recursive: true, force: true });
});

/**
 * A sandbox where `run` has finished (the target caught up, the replica removed). The first call per
 * scale in a test file runs the migration and keeps a copy of the stopped servers; each later call
 * starts from that copy at the same path and ports (one test at a time holds them), in seconds
 * rather than a seed and catch-up. Every call gives its own, untouched servers.
 */
export async function migratedSandbox(scale = 0.05): Promise<TestSandbox> {
  const known = migratedCopies.get(scale);
  if (known) {
    // Servers a failed test left running there are stopped before their files are replaced.
    await sandboxDown(known.dir);
    cpSync(known.copy, known.dir, { recursive: true });
    const state = await sandboxUp(known.dir);
    await replicating(state);
    return handle(state, known.app);
  }
  const sb = await shopSandbox(scale);
  const run = await sb.cli(['run']);
  assert.equal(run.exitCode, 0, String(run.all));
  await sandboxDown(sb.state.dir, { keepData: true });
  const copy = mkdtempSync(join(tmpdir(), 'rlm-migrated-'));
  cpSync(sb.state.dir, copy, { recursive: true });
  migratedCopies.set(scale, { dir: sb.state.dir, copy, app: sb.app });
  const state = await sandboxUp(sb.state.dir);
  await replicating(state);
  return handle(state, sb.app);
}

/** Restarted, the target must be replicating again before a test asks it anything (verify checks that first). */
async function replicating(state: SandboxState): Promise<void> {
  const target = await rootConnection(join(state.dir, 'servers', 'target-master'));
  try {
    await until('target-master to replicate again after the restart', async () => {
      const [rows] = await target.query('SHOW SLAVE STATUS');
      const status = (rows as { Slave_IO_Running: string; Slave_SQL_Running: string }[])[0];
      return status?.Slave_IO_Running === 'Yes' && status.Slave_SQL_Running === 'Yes';
    });
  } finally {
    await target.end();
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
