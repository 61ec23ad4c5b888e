/**
 * The journal's format: what a migration has done, step by step. The engine
 * writes it; the stacks read it (through phases.ts) to know what to declare.
 * It holds positions, choices and timings, never a secret.
 */

/** The steps of `run`, in order; each is journaled and safe to re-run. */
export const RUN_STEPS = [
  'binlog-retention',
  'replication-user',
  'seed-method',
  'freeze-replica',
  'seed-target',
  'copy-users',
  'point-target',
  'catch-up',
  'teardown-replica',
] as const;
export type RunStep = (typeof RUN_STEPS)[number];

export const CUTOVER_STEPS = [
  'cutover:freeze-source',
  'cutover:drain',
  'cutover:detach-target',
  'cutover:open-target',
  'cutover:reverse-replication',
  'cutover:enable-events',
  'cutover:switch-traffic',
] as const;
export const ROLLBACK_STEPS = [
  'rollback:freeze-target',
  'rollback:drain',
  'rollback:detach-source',
  'rollback:reopen-source',
  'rollback:refollow',
  'rollback:enable-events',
  'rollback:switch-traffic',
] as const;

/** Records that close a workflow. */
export const CUTOVER_DONE = 'cutover' as const;
export const VERIFY = 'verify' as const;
export const FINALIZE = 'finalize' as const;
/** Recorded while `run --reseed` clears the target; moved to history when it is done. */
export const RESEED = 'reseed' as const;

/** Every name a journal entry can have: a typo is a compile error, not a step that silently never runs. */
export type JournalStep =
  | RunStep
  | (typeof CUTOVER_STEPS)[number]
  | (typeof ROLLBACK_STEPS)[number]
  | typeof CUTOVER_DONE
  | typeof VERIFY
  | typeof FINALIZE
  | typeof RESEED;

/** Reasons the journal's history uses when a cutover is undone (rollback.ts archives with them). */
export const ROLLED_BACK_REASONS = ['cutover rolled back', 'cutover aborted before the target was detached'] as const;

/** A binlog coordinate on the source-master. */
export interface BinlogPosition {
  file: string;
  pos: number;
}

/** Where source-slave was frozen: the journal's freeze-replica data. */
export interface FrozenPosition {
  /** Relay_Master_Log_File + Exec_Master_Log_Pos: what source-slave has applied. Replication resumes here. */
  readonly executed: BinlogPosition;
  /** How far it had read; recorded to show the difference, never used. */
  readonly read?: BinlogPosition;
  /** MariaDB @@gtid_slave_pos (or MySQL @@gtid_executed) at the same point. */
  readonly gtid?: string;
  readonly frozenAt: string;
}

export type SeedMethod = 'logical' | 'snapshot';

export interface StepRecord {
  status: 'started' | 'done';
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  data?: Record<string, unknown>;
}

export interface HistoryEntry {
  archivedAt: string;
  reason: string;
  steps: Record<string, StepRecord>;
}

/** A server as it answered at first contact: the engine refuses a role whose server later answers differently. */
export interface ServerPin {
  serverId: number;
  /** MySQL @@server_uuid, kept in the data directory. */
  uuid?: string;
  /** MariaDB @@server_uid: derived from the host and port, so only compared between servers seen at the same time. */
  uid?: string;
  hostname: string;
  port: number;
  version: string;
  /** host:port the outputs named. */
  endpoint: string;
  /** The RDS instance identifier (config or outputs). */
  identifier?: string;
  pinnedAt: string;
}

export interface JournalState {
  version: 1;
  /** "source -> target": a journal belongs to one migration. */
  migration: string;
  createdAt: string;
  steps: Record<string, StepRecord>;
  /** Steps of finished attempts (a cutover that was rolled back), kept for the record. */
  history?: HistoryEntry[];
  /** Each role's server, pinned at first contact (source-master, source-slave, target-master). */
  servers?: Record<string, ServerPin>;
}

export function emptyJournal(migration: string): JournalState {
  return { version: 1, migration, createdAt: new Date().toISOString(), steps: {} };
}

/** Parses a journal's text; a file that is not one is refused with the reason, never half-read. */
export function parseJournal(text: string, where: string): JournalState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not a journal (invalid JSON: ${(err as Error).message})`);
  }
  const j = parsed as Partial<JournalState>;
  if (j === null || typeof j !== 'object' || j.version !== 1 || typeof j.steps !== 'object' || j.steps === null) {
    throw new Error(`${where}: not a journal of this tool (expected {"version": 1, "steps": {...}})`);
  }
  return { migration: '', createdAt: '', ...j } as JournalState;
}
