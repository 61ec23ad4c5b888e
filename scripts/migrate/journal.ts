import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OperatorError } from '../support/errors.js';
import { isAlive } from '../support/process.js';

export interface StepRecord {
  status: 'started' | 'done';
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  data?: Record<string, unknown>;
}

interface JournalFile {
  version: 1;
  migration: string;
  createdAt: string;
  steps: Record<string, StepRecord>;
  /** Steps of finished attempts (a cutover that was rolled back), kept for the record. */
  history?: { archivedAt: string; reason: string; steps: Record<string, StepRecord> }[];
}

/**
 * The record of what a migration has done, written atomically after every
 * change so that a crash at any point leaves a journal that tells the next
 * run where to resume. It never holds a secret.
 */
export class Journal {
  private constructor(
    readonly file: string,
    private state: JournalFile,
  ) {}

  /** Opens (or starts) the journal of the migration `migration` (source → target) in workDir. */
  static open(workDir: string, migration: string): Journal {
    mkdirSync(workDir, { recursive: true });
    const file = join(workDir, 'journal.json');
    if (!existsSync(file)) return new Journal(file, { version: 1, migration, createdAt: new Date().toISOString(), steps: {} });
    const state = JSON.parse(readFileSync(file, 'utf8')) as JournalFile;
    if (state.migration !== migration) {
      throw new OperatorError(
        `${file} belongs to migration ${state.migration}, not ${migration}`,
        'use another migration.workDir for this migration, or remove that journal if the other migration is finished',
        'journal',
      );
    }
    return new Journal(file, state);
  }

  get migration(): string {
    return this.state.migration;
  }

  step(name: string): StepRecord | undefined {
    return this.state.steps[name];
  }

  isDone(name: string): boolean {
    return this.state.steps[name]?.status === 'done';
  }

  data<T>(name: string): T | undefined {
    return this.state.steps[name]?.data as T | undefined;
  }

  started(name: string, data?: Record<string, unknown>): void {
    const previous = this.state.steps[name];
    const kept = data ?? previous?.data;
    this.state.steps[name] = { status: 'started', startedAt: previous?.startedAt ?? new Date().toISOString(), ...(kept ? { data: kept } : {}) };
    this.save();
  }

  done(name: string, data?: Record<string, unknown>, durationMs?: number): void {
    const previous = this.state.steps[name];
    const finishedAt = new Date().toISOString();
    this.state.steps[name] = {
      status: 'done',
      startedAt: previous?.startedAt ?? finishedAt,
      finishedAt,
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(data || previous?.data ? { data: { ...previous?.data, ...data } } : {}),
    };
    this.save();
  }

  /** Moves the matching steps into history, so that the phase they belong to can run again. */
  archive(matches: (name: string) => boolean, reason: string): void {
    const moved = Object.fromEntries(Object.entries(this.state.steps).filter(([name]) => matches(name)));
    if (!Object.keys(moved).length) return;
    for (const name of Object.keys(moved)) delete this.state.steps[name];
    this.state.history = [...(this.state.history ?? []), { archivedAt: new Date().toISOString(), reason, steps: moved }];
    this.save();
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(this.state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}

/** One run at a time per migration: a second one would race the first on the same servers. */
export function acquireRunLock(journal: Journal): () => void {
  const lock = join(dirname(journal.file), 'run.lock');
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new OperatorError(`another rds-live-migrate run (pid ${pid}) is working on this migration`, `wait for it, or stop it (kill ${pid}) and run again; the journal resumes where it stopped`, 'locked');
    }
  }
  writeFileSync(lock, String(process.pid));
  return () => rmSync(lock, { force: true });
}
