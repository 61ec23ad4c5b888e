import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { Chunk } from '../db/key-chunks.js';

interface TableProgress {
  chunks: Chunk[];
  done: number[];
}

interface ProgressFile {
  version: 3;
  /** Which copy the chunks belong to (see SeedProgress). */
  copyOf: string;
  tables: Record<string, TableProgress>;
}

// Chunk bounds are key values; binary keys come back as Buffers, which JSON cannot hold as such.
const encode = (_key: string, value: unknown) =>
  value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)
    ? { $hex: Buffer.from((value as { data: number[] }).data).toString('hex') }
    : value;
const decode = (_key: string, value: unknown) =>
  value && typeof value === 'object' && '$hex' in (value as object) ? Buffer.from((value as { $hex: string }).$hex, 'hex') : value;

/** The progress key of a table: unambiguous whatever dots its names hold (`a.b`+`c` vs `a`+`b.c`). */
export function tableKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

/**
 * Which chunks of which table are committed on the target, saved atomically
 * after each one (a chunk is tens of thousands of rows, so this is cheap).
 * After a crash, chunks not marked done are emptied on the target and copied
 * again: one committed but not yet marked costs time, not data.
 *
 * `copyOf` names the copy (the freeze it reads from). A file left by another
 * copy, say on a CI runner that seeded before a reseed, is set aside: its
 * chunks marked done are not on this target, and skipping them would lose rows.
 */
export class SeedProgress {
  private state: ProgressFile;
  /** The copy a file found on disk was written for, when it was another one (or of another format). */
  readonly setAside?: string;

  constructor(
    private readonly file: string,
    copyOf: string,
  ) {
    const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8'), decode) as Partial<ProgressFile>) : undefined;
    // Planning afresh is always safe: chunks not marked done are cleared on the target before loading.
    if (saved?.version === 3 && saved.copyOf === copyOf && saved.tables) this.state = saved as ProgressFile;
    else {
      this.state = { version: 3, copyOf, tables: {} };
      if (saved) this.setAside = saved.copyOf ?? `a file of format ${String(saved.version)}`;
    }
  }

  plan(table: string): Chunk[] | undefined {
    return this.state.tables[table]?.chunks;
  }

  setPlan(table: string, chunks: Chunk[]): void {
    this.state.tables[table] = { chunks, done: [] };
    this.save();
  }

  isDone(table: string, index: number): boolean {
    return this.state.tables[table]?.done.includes(index) ?? false;
  }

  markDone(table: string, index: number): void {
    this.state.tables[table]!.done.push(index);
    this.save();
  }

  counts(): { chunks: number; done: number } {
    const all = Object.values(this.state.tables);
    return { chunks: all.reduce((n, t) => n + t.chunks.length, 0), done: all.reduce((n, t) => n + t.done.length, 0) };
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(this.state, encode));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}
