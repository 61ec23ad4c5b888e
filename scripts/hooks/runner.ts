import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { phaseOf, type Phase } from '../core/phases.js';
import type { MigrationContext } from '../core/context.js';
import { describeError, OperatorError } from '../support/errors.js';
import { eventOfFile, type HookEvent } from './events.js';
import { hookEnvironment, resultEnvironment, type HookSession } from './environment.js';
import { loadExeca } from '../support/child-env.js';

const sessions = new WeakMap<MigrationContext, HookSession>();

function sessionOf(ctx: MigrationContext): HookSession {
  let session = sessions.get(ctx);
  if (!session) {
    session = { command: 'api', startedAtMs: Date.now() };
    sessions.set(ctx, session);
  }
  return session;
}

/** The hooks for `event` in the folder, in name order; a hook that cannot be run is an error before any runs. */
export function hooksFor(folder: string, event: HookEvent): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (err) {
    throw new OperatorError(
      `migration.hooksPath ${folder}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      'create the folder, or correct migration.hooksPath (or --hooks-path)',
      'hooks',
    );
  }
  const files = names.filter((n) => eventOfFile(n) === event && statSync(join(folder, n)).isFile()).sort();
  for (const name of files) {
    try {
      accessSync(join(folder, name), constants.X_OK);
    } catch {
      throw new OperatorError(
        `hook ${join(folder, name)} is not executable`,
        `chmod +x ${join(folder, name)}, or rename it so that it does not start with rds-live-migrate-on-`,
        'hooks',
      );
    }
  }
  return files;
}

/**
 * Runs the hooks for `event` one after the other, each to its end. The first
 * that exits non-zero (or outlives migration.hookTimeoutSeconds) fails the
 * step it belongs to: the others are not run.
 */
export async function runHooks(ctx: MigrationContext, event: HookEvent, extra: Record<string, string | undefined> = {}): Promise<void> {
  const folder = ctx.config.migration.hooksPath;
  if (!folder) return;
  for (const name of hooksFor(folder, event)) {
    const env = hookEnvironment(ctx, sessionOf(ctx), event, extra);
    const started = Date.now();
    const result = await (await loadExeca())(join(folder, name), [], {
      cwd: folder,
      env,
      extendEnv: false,
      stdin: 'ignore',
      all: true,
      reject: false,
      timeout: ctx.config.migration.hookTimeoutSeconds * 1000,
    });
    for (const line of String(result.all ?? '')
      .split('\n')
      .filter(Boolean))
      ctx.log.info(`hook ${name}: ${line}`);
    if (result.exitCode === 0 && !result.timedOut) {
      ctx.log.info(`hook ${name} (${event}) done in ${Date.now() - started} ms`);
      continue;
    }
    const why = result.timedOut
      ? `was killed after ${ctx.config.migration.hookTimeoutSeconds} s (migration.hookTimeoutSeconds)`
      : `exited with ${result.exitCode ?? result.signal ?? '?'}`;
    throw new OperatorError(`hook ${name} (${event}) ${why}`, failureFix(event), 'hook');
  }
}

function failureFix(event: HookEvent): string {
  if (event === 'before-cutover')
    return 'nothing was changed: the cutover did not start. Fix what the hook reports (or remove the hook), then run cutover again';
  if (event === 'startup') return 'nothing was changed: the command did not start. Fix what the hook reports, then run it again';
  if (event === 'switch-traffic' || event === 'after-switch')
    return 'the step is not recorded as done: fix what the hook reports, then run the same command again (the switch and its hooks run again, so they must be idempotent)';
  return 'fix what the hook reports (see its output above), then run the same command again; it resumes from the journal';
}

/** After a journaled step: the phase-change hooks, when the step moved the migration to another phase. */
export async function phaseChangeHooks(ctx: MigrationContext, before: Phase, step: string): Promise<void> {
  const after = phaseOf(ctx.journal.snapshot());
  if (after !== before) await runHooks(ctx, 'phase-change', { RLM_PREVIOUS_PHASE: before, RLM_STEP: step });
}

/** A failure hook that fails is reported, never in place of the error it was told about. */
async function failureHooks(ctx: MigrationContext, err: unknown): Promise<void> {
  try {
    await runHooks(ctx, 'failure', { RLM_ERROR: describeError(err).message });
  } catch (hookErr) {
    ctx.log.warn(`failure hook: ${describeError(hookErr).message}`);
  }
}

/** A command with its startup, success and failure hooks. */
export async function withHooks<T>(ctx: MigrationContext, command: string, fn: () => Promise<T>): Promise<T> {
  sessions.set(ctx, { command, startedAtMs: Date.now() });
  try {
    await runHooks(ctx, 'startup');
    const result = await fn();
    await runHooks(ctx, 'success', resultEnvironment(result));
    return result;
  } catch (err) {
    await failureHooks(ctx, err);
    throw err;
  }
}
