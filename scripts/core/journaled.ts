import { crashIfRequested } from '../support/faults.js';
import type { JournalStep } from './journal-format.js';
import { phaseOf } from './phases.js';
import { phaseChangeHooks } from '../hooks/runner.js';
import type { MigrationContext } from './context.js';

/**
 * Runs one named step unless the journal says it is done, and records it when
 * it finishes. Each step must be safe to redo: a crash after its work and
 * before its record means it runs again.
 */
export async function journaled<T extends Record<string, unknown>>(
  ctx: MigrationContext,
  name: JournalStep,
  title: string,
  work: () => Promise<T>,
): Promise<T> {
  if (ctx.journal.isDone(name)) return (ctx.journal.data<T>(name) ?? {}) as T;
  crashIfRequested('before', name);
  ctx.log.info(`step ${name}: ${title}`);
  const phaseBefore = phaseOf(ctx.journal.snapshot());
  const started = Date.now();
  ctx.journal.started(name);
  const data = await work();
  crashIfRequested('after', name);
  ctx.journal.done(name, data, Date.now() - started);
  await phaseChangeHooks(ctx, phaseBefore, name);
  return data;
}
