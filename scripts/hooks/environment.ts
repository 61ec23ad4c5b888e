import type { BinlogPosition, FrozenPosition } from '../core/journal-format.js';
import { phaseOf, PHASE_MEANING } from '../core/phases.js';
import type { MigrationContext } from '../core/context.js';
import { childEnv } from '../support/child-env.js';
import { redact } from '../support/redact.js';
import type { HookEvent } from './events.js';

/** Who runs the hooks: the command and when it started (for RLM_ELAPSED_MS). */
export interface HookSession {
  command: string;
  startedAtMs: number;
}

const position = (p: BinlogPosition | undefined) => (p?.file ? `${p.file}:${p.pos}` : undefined);

/** The endpoints as the stack outputs say; before a deploy there may be none, and a hook still runs. */
function endpoints(ctx: MigrationContext): Record<string, string | undefined> {
  try {
    const { source, target } = ctx.outputs();
    return {
      RLM_SOURCE_HOST: source.host,
      RLM_SOURCE_PORT: String(source.port),
      RLM_TARGET_HOST: target?.host,
      RLM_TARGET_PORT: target && String(target.port),
    };
  } catch {
    return {};
  }
}

/** Positions, lag and timings the journal knows at this moment. */
function fromJournal(ctx: MigrationContext): Record<string, string | undefined> {
  const j = ctx.journal;
  const frozen = j.data<FrozenPosition>('freeze-replica');
  const caughtUp = j.data<{ secondsBehind?: number; bytesBehind?: number }>('catch-up');
  const freeze = j.data<{ startedAtMs?: number }>('cutover:freeze-source');
  const cutoverMs = j.data<{ cutoverMs?: number }>('cutover')?.cutoverMs;
  return {
    RLM_FROZEN_POSITION: position(frozen?.executed),
    RLM_FROZEN_GTID: frozen?.gtid || undefined,
    RLM_LAG_SECONDS: caughtUp?.secondsBehind?.toString(),
    RLM_LAG_BYTES: caughtUp?.bytesBehind?.toString(),
    RLM_SOURCE_FINAL_POSITION: position(j.data<{ sourceFinal: BinlogPosition }>('cutover:drain')?.sourceFinal),
    RLM_TARGET_START_POSITION: position(j.data<{ targetStart: BinlogPosition }>('cutover:open-target')?.targetStart),
    RLM_TARGET_FINAL_POSITION: position(j.data<{ targetFinal: BinlogPosition }>('rollback:drain')?.targetFinal),
    RLM_SOURCE_START_POSITION: position(j.data<{ sourceStart: BinlogPosition }>('rollback:reopen-source')?.sourceStart),
    RLM_CUTOVER_STARTED_AT: freeze?.startedAtMs ? new Date(freeze.startedAtMs).toISOString() : undefined,
    RLM_CUTOVER_MS: cutoverMs?.toString(),
  };
}

/**
 * A hook's environment: the allow-listed variables of this process (never a
 * secret, see child-env.ts) plus the RLM_* context. `extra` comes last, so an
 * event's own value (the lag status measured now) wins over the journal's.
 */
export function hookEnvironment(
  ctx: MigrationContext,
  session: HookSession,
  event: HookEvent,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const phase = phaseOf(ctx.journal.snapshot());
  const rlm: Record<string, string | undefined> = {
    RLM_MIGRATION: ctx.journal.migration,
    RLM_COMMAND: session.command,
    RLM_EVENT: event,
    RLM_PHASE: phase,
    RLM_PHASE_MEANING: PHASE_MEANING[phase],
    RLM_ELAPSED_MS: String(Date.now() - session.startedAtMs),
    ...endpoints(ctx),
    ...fromJournal(ctx),
    ...extra,
  };
  const defined = Object.entries(rlm).filter((e): e is [string, string] => e[1] !== undefined);
  return childEnv(Object.fromEntries(defined.map(([k, v]) => [k, redact(v)])), process.env, [ctx.config.source.passwordFrom]);
}

/** The command's result as RLM_RESULT_<FIELD> (top-level scalars only: ok, cutoverMs, rollbackMs, kind, …). */
export function resultEnvironment(result: unknown): Record<string, string> {
  if (result === null || typeof result !== 'object') return {};
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(result)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) continue;
    env[`RLM_RESULT_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`] = String(value);
  }
  return env;
}
