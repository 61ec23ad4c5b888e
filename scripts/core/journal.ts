import { hostname } from 'node:os';
import { emptyJournal, type JournalState, type JournalStep, type ServerPin, type StepRecord } from './journal-format.js';
import { JournalConflictError, newHolder, type JournalStore, type LockHolder } from './journal-store.js';
import { OperatorError } from '../support/errors.js';
import { isAlive } from '../support/process.js';

export type { StepRecord } from './journal-format.js';

/**
 * The record of what a migration has done. Every change is made under the
 * migration's lock on a fresh read of the stored journal and written back
 * atomically, so two processes never lose each other's entries, and a crash
 * at any point leaves a journal that tells the next run where to resume.
 * It never holds a secret.
 */
export class Journal {
  private holder?: LockHolder;

  private constructor(
    readonly store: JournalStore,
    private state: JournalState,
    private version: string | undefined,
  ) {}

  /** Opens (or starts, in memory) the journal of the migration `migration` (source -> target). */
  static open(store: JournalStore, migration: string): Journal {
    const read = store.read();
    if (read) assertJournalOf(store.where, read.state, migration);
    return new Journal(store, read?.state ?? emptyJournal(migration), read?.version);
  }

  get where(): string {
    return this.store.where;
  }

  get migration(): string {
    return this.state.migration;
  }

  /** The journal as last read or written; the phase model reads this. */
  snapshot(): JournalState {
    return structuredClone(this.state);
  }

  /** Reads the stored journal again (another process may have written it). */
  refresh(): void {
    const read = this.store.read();
    if (read) [this.state, this.version] = [read.state, read.version];
  }

  step(name: JournalStep): StepRecord | undefined {
    return this.state.steps[name];
  }

  isDone(name: JournalStep): boolean {
    return this.state.steps[name]?.status === 'done';
  }

  data<T>(name: JournalStep): T | undefined {
    return this.state.steps[name]?.data as T | undefined;
  }

  started(name: JournalStep, data?: Record<string, unknown>): void {
    this.change((s) => {
      const previous = s.steps[name];
      const kept = data ?? previous?.data;
      s.steps[name] = { status: 'started', startedAt: previous?.startedAt ?? new Date().toISOString(), ...(kept ? { data: kept } : {}) };
    });
  }

  done(name: JournalStep, data?: Record<string, unknown>, durationMs?: number): void {
    this.change((s) => {
      const previous = s.steps[name];
      const finishedAt = new Date().toISOString();
      s.steps[name] = {
        status: 'done',
        startedAt: previous?.startedAt ?? finishedAt,
        finishedAt,
        ...(durationMs !== undefined ? { durationMs } : {}),
        ...(data || previous?.data ? { data: { ...previous?.data, ...data } } : {}),
      };
    });
  }

  /** Records the server that answered for `role` at first contact; a pin already there is kept. */
  pin(role: string, identity: ServerPin): void {
    this.change((s) => {
      s.servers = { ...s.servers, [role]: s.servers?.[role] ?? identity };
    });
  }

  /** Forgets a role's server, when a new one takes the role (a reseed's new replica). */
  unpin(role: string): void {
    this.change((s) => {
      if (s.servers?.[role]) delete s.servers[role];
    });
  }

  /** Whether this process holds the migration's lock (only then does it pin servers: read-only commands never write). */
  get locked(): boolean {
    return this.holder !== undefined;
  }

  /** Moves the matching steps into history, so that the phase they belong to can run again. */
  archive(matches: (name: string) => boolean, reason: string): void {
    this.change((s) => {
      const moved = Object.fromEntries(Object.entries(s.steps).filter(([name]) => matches(name)));
      if (!Object.keys(moved).length) return;
      for (const name of Object.keys(moved)) delete s.steps[name];
      s.history = [...(s.history ?? []), { archivedAt: new Date().toISOString(), reason, steps: moved }];
    });
  }

  /**
   * Takes the migration's lock for `command`. Exclusive create: of two
   * processes started together exactly one gets it. A lock left by a process
   * that died on this host is taken over; one held elsewhere is reported.
   */
  lock(command: string, options: { waitMs?: number } = {}): () => void {
    if (this.holder) return () => {};
    const holder = newHolder(command);
    const deadline = Date.now() + (options.waitMs ?? 0);
    while (!this.store.tryLock(holder) && Date.now() < deadline) sleepSync(50);
    if (this.store.readLock()?.token !== holder.token) {
      const current = this.store.readLock();
      const dead = current && current.host === hostname() && current.pid !== process.pid && !isAlive(current.pid);
      if (!dead || !this.store.takeOver(current, holder)) {
        const who = this.store.readLock() ?? current;
        throw new OperatorError(
          `${this.store.where} is locked by \`${who?.command ?? '?'}\` (pid ${who?.pid ?? '?'} on ${who?.host ?? '?'}, since ${who?.since ?? '?'})`,
          `wait for it to finish; if that process is gone for good (a lost CI runner), run \`rds-live-migrate unlock\` and then this command again`,
          'locked',
        );
      }
    }
    this.holder = holder;
    this.refresh();
    return () => this.unlock();
  }

  private unlock(): void {
    if (!this.holder) return;
    this.store.unlock(this.holder);
    this.holder = undefined;
  }

  /**
   * An operator's `unlock` may remove the lock of a process that only looked gone (a CI runner cut off
   * from GitHub, still running in the VPC); once another command holds it, this one must stop, not write beside it.
   */
  private assertStillLocked(): void {
    const current = this.store.readLock();
    if (current?.token === this.holder?.token) return;
    // The holder stays: every later write refuses too, and the release (by token) leaves the new lock alone.
    const mine = this.holder!;
    const now = current ? `\`${current.command}\` (pid ${current.pid} on ${current.host}) holds it now` : 'nobody holds it now';
    throw new OperatorError(
      `\`${mine.command}\` (pid ${mine.pid} on ${mine.host}) no longer holds the lock of ${this.store.where} (removed by \`rds-live-migrate unlock\`?); ${now}. It stopped before writing the journal`,
      'let the command that holds the lock finish; run this command again afterwards: it resumes from the journal',
      'locked',
    );
  }

  /** Applies a change to a fresh read of the stored journal, under the lock (taken for this write if not held). */
  private change(mutate: (state: JournalState) => void): void {
    // A short write (verify's record) waits for a command that holds the lock only briefly, such as a cutover.
    const release = this.holder ? undefined : this.lock('journal write', { waitMs: 30_000 });
    try {
      for (let attempt = 0; ; attempt++) {
        this.assertStillLocked();
        this.refresh();
        const next = structuredClone(this.state);
        mutate(next);
        try {
          this.version = this.store.write(next, this.version);
          this.state = next;
          return;
        } catch (err) {
          if (!(err instanceof JournalConflictError) || attempt >= 3) throw err;
        }
      }
    } finally {
      release?.();
    }
  }
}

/** Refuses a journal of another migration (another source or target): acting on it would act on the wrong phase. */
export function assertJournalOf(where: string, state: JournalState, migration: string): void {
  if (state.migration === migration) return;
  throw new OperatorError(
    `${where} belongs to migration ${state.migration}, not ${migration}`,
    'give this migration its own name (config `name`) or workDir, or remove that journal if the other migration is finished',
    'journal',
  );
}

/** One command at a time per migration: a second one would race the first on the same servers. */
export function acquireRunLock(journal: Journal, command = commandLine()): () => void {
  return journal.lock(command);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const COMMANDS = ['run', 'verify', 'cutover', 'rollback', 'finalize', 'unlock'];
const commandLine = () => `rds-live-migrate ${process.argv.find((a) => COMMANDS.includes(a)) ?? ''}`.trim();
