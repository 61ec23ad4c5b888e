import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { MigrationConfig } from '../config/schema.js';
import type { FrozenPosition } from './frozen-replica-snapshot.js';

/** The journal step in which `run` records the seed method it chose (seedMethod auto resolves there, once). */
export const SEED_METHOD_STEP = 'seed-method';

/** How the target stack declares the target, given the config and how far the migration is. */
export type TargetSeed =
  | { kind: 'empty' }
  /** finalized: the migration is over, so the unencrypted snapshot of the replica is no longer declared. */
  | { kind: 'restore'; frozen: FrozenPosition; finalized: boolean }
  /** Not declared yet: a snapshot of a replica that still applies changes would match no position. */
  | { kind: 'deferred'; reason: string };

type JournalSteps = Record<string, { status: string; data?: Record<string, unknown> }>;

function journalSteps(workDir: string): { file: string; steps: JournalSteps } {
  const file = join(workDir, 'journal.json');
  const steps = existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as { steps?: JournalSteps }).steps ?? {}) : {};
  return { file, steps };
}

/**
 * Reads the frozen position from the migration journal in `workDir`; throws
 * when the replica has not been frozen yet, so that a stack built from it
 * cannot synthesize a snapshot of a replica that is still moving.
 */
export function frozenPositionFromJournal(workDir: string): FrozenPosition {
  const { file, steps } = journalSteps(workDir);
  const step = steps['freeze-replica'];
  if (step?.status !== 'done' || !step.data) {
    throw new Error(`${file}: the replica has not been frozen yet (no completed freeze-replica step); the snapshot path can only be declared after \`rds-live-migrate run\` has frozen it`);
  }
  return step.data as unknown as FrozenPosition;
}

/**
 * The logical seed needs an empty target before `run`; the snapshot seed
 * needs the frozen position first, so until the journal has it the target is
 * not declared at all and `cdktf deploy target` cannot create it early.
 */
export function targetSeed(config: MigrationConfig): TargetSeed {
  const workDir = resolve(config.migration.workDir);
  const configured = config.migration.seedMethod;
  const { steps } = journalSteps(workDir);
  const chosen = steps[SEED_METHOD_STEP];
  const method = configured === 'auto' ? (chosen?.status === 'done' ? (chosen.data?.method as string | undefined) : undefined) : configured;
  if (method === 'logical') return { kind: 'empty' };
  if (method === undefined) {
    return { kind: 'deferred', reason: `seedMethod is auto and \`rds-live-migrate run\` has not chosen yet (journal in ${workDir}); it deploys the target stack itself once it has` };
  }
  try {
    return { kind: 'restore', frozen: frozenPositionFromJournal(workDir), finalized: steps.finalize?.status === 'done' };
  } catch {
    return { kind: 'deferred', reason: `the snapshot seed declares the target only after \`rds-live-migrate run\` has frozen the replica (journal in ${workDir}); run deploys it then` };
  }
}
