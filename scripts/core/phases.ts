import { CUTOVER_DONE, FINALIZE, ROLLED_BACK_REASONS, type FrozenPosition, type JournalState, type SeedMethod } from './journal-format.js';

/**
 * The migration's phases, in order. Each is read from the journal (phaseOf);
 * each says which infrastructure the stacks declare (declaredInfrastructure),
 * so that what is declared converges with what exists at every phase.
 */
export const PHASES = [
  'planned',
  'replica-ready',
  'frozen',
  'seeded',
  'replicating',
  'caught-up',
  'cutting-over',
  'rolling-back',
  'cut-over',
  'rolled-back',
  'finalized',
] as const;
export type Phase = (typeof PHASES)[number];

export const PHASE_MEANING: Record<Phase, string> = {
  planned: 'nothing done yet: the replica (and, for the logical seed, the empty target) is to be deployed',
  'replica-ready': 'the replica is up and the source prepared (binlog retention, replication user)',
  frozen: 'the replica is stopped at its executed position; the target is being seeded from it',
  seeded: 'the target holds the data as of the frozen position',
  replicating: 'the target replicates from the source',
  'caught-up': 'the target has caught up; the replica is no longer declared (the next deploy removes it); ready for verify and cutover',
  'cutting-over': 'cutover started: run `cutover` to finish it or `rollback`',
  'rolling-back': 'rollback started: run `rollback` to finish it',
  'cut-over': 'the target takes the writes; the old source follows it (rollback or finalize next)',
  'rolled-back': 'the source takes the writes again and the target replicates from it; verify, then cut over again',
  finalized: 'the target takes the writes; reverse replication ended; only the target is declared',
};

const done = (j: JournalState, step: string) => j.steps[step]?.status === 'done';

export function phaseOf(journal: JournalState): Phase {
  const has = (step: string) => journal.steps[step] !== undefined;
  if (done(journal, FINALIZE)) return 'finalized';
  // A rollback in progress outranks the cutover it undoes (rollback archives the cutover's steps when it ends).
  if (Object.keys(journal.steps).some((s) => s.startsWith('rollback:'))) return 'rolling-back';
  if (done(journal, CUTOVER_DONE)) return 'cut-over';
  if (has('cutover:freeze-source')) return 'cutting-over';
  if (done(journal, 'catch-up')) {
    // A rollback counts until a reseed started the migration over.
    const last = [...(journal.history ?? [])]
      .reverse()
      .find((h) => (ROLLED_BACK_REASONS as readonly string[]).includes(h.reason) || h.reason.startsWith(RESEED_REASON));
    const rolledBack = last !== undefined && !last.reason.startsWith(RESEED_REASON);
    return rolledBack ? 'rolled-back' : 'caught-up';
  }
  if (done(journal, 'point-target')) return 'replicating';
  if (done(journal, 'seed-target') && done(journal, 'copy-users')) return 'seeded';
  if (done(journal, 'freeze-replica')) return 'frozen';
  if (done(journal, 'binlog-retention')) return 'replica-ready';
  return 'planned';
}

/** The phase's place in PHASES: later phases compare greater. */
export const phaseIndex = (phase: Phase) => PHASES.indexOf(phase);
export const atOrAfter = (phase: Phase, other: Phase) => phaseIndex(phase) >= phaseIndex(other);

/** What the journal tells the stacks; the only view of the journal that stacks/ gets. */
export interface MigrationState {
  phase: Phase;
  /** The seed method `run` chose once it has (whatever the config says now); before that the config's, unless it is auto. */
  seedMethod?: SeedMethod;
  /** Recorded when source-slave was frozen. */
  frozen?: FrozenPosition;
  /** The config asks for the target's load mode during the logical seed. */
  loadMode?: boolean;
  /** The config asks for relaxed flushing on the target until it has caught up. */
  relaxedCatchUp?: boolean;
  /** How many times the target was seeded again from a new replica (`run --reseed`): each reseed takes a new replica. */
  reseeds: number;
}

/** The journal's history reason of a reseed; its count names the replica. */
export const RESEED_REASON = 'reseed';

export function migrationState(
  journal: JournalState,
  configured: SeedMethod | 'auto',
  loadMode = false,
  relaxedCatchUp = false,
): MigrationState {
  const chosen = done(journal, 'seed-method') ? (journal.steps['seed-method']!.data?.method as SeedMethod | undefined) : undefined;
  // Once run has chosen, the journal decides: the engine seeds (and finalize cleans up) by the journaled method, and a
  // config changed afterwards must not make the stacks drop snapshots a rollback needs or snapshot a replica that is gone.
  const seedMethod = chosen ?? (configured === 'auto' ? undefined : configured);
  const freeze = journal.steps['freeze-replica'];
  const frozen = freeze?.status === 'done' && freeze.data ? (freeze.data as unknown as FrozenPosition) : undefined;
  const reseeds = (journal.history ?? []).filter((h) => h.reason.startsWith(RESEED_REASON)).length;
  return {
    phase: phaseOf(journal),
    ...(seedMethod ? { seedMethod } : {}),
    ...(frozen ? { frozen } : {}),
    reseeds,
    loadMode,
    relaxedCatchUp,
  };
}

/** How the target instance is declared. */
export type TargetDeclaration =
  /** loadMode: backups (and so the binary log) off and single-AZ while the logical seed loads it. */
  | { kind: 'empty'; loadMode: boolean }
  /** Restored from the encrypted copy of a snapshot of the frozen replica. snapshots: the two snapshots are still declared. */
  | { kind: 'restore'; frozen: FrozenPosition; snapshots: boolean }
  /** Not declared yet: a snapshot of a replica that still applies changes would match no position. */
  | { kind: 'deferred'; reason: string };

export interface DeclaredInfrastructure {
  /** The temporary source-slave: from the start until the target has caught up. */
  replica: boolean;
  /** Which replica: 0 the first, n after n reseeds (a new identifier, so the deploy replaces the old one). */
  replicaGeneration: number;
  target: TargetDeclaration;
  /**
   * How the target flushes commits: relaxed (once a second) while it only catches up, strict (every
   * commit, or the user's own parameters) from caught-up on, before it can take a write.
   */
  targetDurability: Durability;
}

export type Durability = 'relaxed' | 'strict';

const REPLICA_PHASES: readonly Phase[] = ['planned', 'replica-ready', 'frozen', 'seeded', 'replicating'];
/** Until caught-up the target takes no application write: it may flush lazily. The deploy that removes the replica ends it. */
const CATCH_UP_PHASES = REPLICA_PHASES;

export function declaredInfrastructure(state: MigrationState): DeclaredInfrastructure {
  const targetDurability: Durability = state.relaxedCatchUp && CATCH_UP_PHASES.includes(state.phase) ? 'relaxed' : 'strict';
  return { ...declaredWithoutDurability(state), targetDurability };
}
/** The target takes the production settings once seeded, before it is pointed at the source. */
const LOAD_PHASES: readonly Phase[] = ['planned', 'replica-ready', 'frozen'];

function declaredWithoutDurability(state: MigrationState): Omit<DeclaredInfrastructure, 'targetDurability'> {
  const replica = REPLICA_PHASES.includes(state.phase);
  const replicaGeneration = state.reseeds;
  if (state.seedMethod === 'logical')
    return {
      replica,
      replicaGeneration,
      target: { kind: 'empty', loadMode: (state.loadMode ?? false) && LOAD_PHASES.includes(state.phase) },
    };
  if (state.seedMethod === undefined) {
    return {
      replica,
      replicaGeneration,
      target: {
        kind: 'deferred',
        reason: 'seedMethod is auto and `rds-live-migrate run` has not chosen yet; the target is declared once it has',
      },
    };
  }
  if (!state.frozen || !atOrAfter(state.phase, 'frozen')) {
    return {
      replica,
      replicaGeneration,
      target: {
        kind: 'deferred',
        reason: 'the snapshot seed declares the target only after `rds-live-migrate run` has frozen the replica',
      },
    };
  }
  // After finalize the way back is closed: the unencrypted snapshot and its copy are only a copy of old data.
  return { replica, replicaGeneration, target: { kind: 'restore', frozen: state.frozen, snapshots: state.phase !== 'finalized' } };
}
