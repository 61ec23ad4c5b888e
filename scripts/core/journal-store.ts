import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseJournal, type JournalState } from './journal-format.js';

/** Who holds a migration's lock: enough to tell whether it is still alive. */
export interface LockHolder {
  token: string;
  host: string;
  pid: number;
  command: string;
  since: string;
}

export function newHolder(command: string): LockHolder {
  return { token: randomUUID(), host: hostname(), pid: process.pid, command, since: new Date().toISOString() };
}

/** The lock is held by someone else. */
export class LockHeldError extends Error {
  constructor(
    readonly holder: LockHolder | undefined,
    readonly where: string,
  ) {
    super(`${where} is locked${holder ? ` by \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : ''}`);
  }
}

/** Someone wrote the journal between our read and our write: re-read and merge. */
export class JournalConflictError extends Error {}

/**
 * Where a migration's journal and its lock live. Both implementations give
 * the same guarantees: the lock is taken by an exclusive create (two racing
 * processes cannot both get it), and a journal write names the version it
 * read, so a write from a stale copy is refused rather than lost.
 * Synchronous on purpose: `cdktf synth` reads the journal while building the app.
 */
export interface JournalStore {
  /** For messages: a path or an s3:// URL. */
  readonly where: string;
  read(): { state: JournalState; version: string } | undefined;
  /** Writes the journal if it is still at `expected` (undefined: it must not exist); returns the new version. */
  write(state: JournalState, expected: string | undefined): string;
  tryLock(holder: LockHolder): boolean;
  readLock(): LockHolder | undefined;
  /** Removes the lock if `holder` (by token) still holds it. */
  unlock(holder: LockHolder): void;
  /**
   * Replaces `dead`'s lock with `holder`'s. Of several processes taking over
   * the same lock at once, at most one succeeds: a takeover guard, created
   * exclusively like the lock, admits one at a time.
   */
  takeOver(dead: LockHolder, holder: LockHolder): boolean;
  /** Removes whatever lock there is, and a takeover guard left by a crash (the operator's `unlock`). */
  breakLock(): void;
}

/** The takeover protocol, the same for every store: guard, re-check, replace, unguard. */
function takeOver(
  store: Pick<JournalStore, 'readLock' | 'tryLock'>,
  guard: { create(): boolean; remove(): void; breakLock(): void },
  dead: LockHolder,
  holder: LockHolder,
): boolean {
  if (!guard.create()) return false;
  try {
    if (store.readLock()?.token !== dead.token) return false;
    guard.breakLock();
    return store.tryLock(holder);
  } finally {
    guard.remove();
  }
}

/** A journal file in a directory, with a lock file beside it. */
export class LocalJournalStore implements JournalStore {
  readonly where: string;
  private readonly file: string;
  private readonly lockFile: string;

  constructor(readonly dir: string) {
    this.file = join(dir, 'journal.json');
    this.lockFile = join(dir, 'journal.lock');
    this.where = this.file;
  }

  read() {
    if (!existsSync(this.file)) return undefined;
    const text = readFileSync(this.file, 'utf8');
    return { state: parseJournal(text, this.file), version: versionOf(text) };
  }

  write(state: JournalState, expected: string | undefined): string {
    const current = existsSync(this.file) ? versionOf(readFileSync(this.file, 'utf8')) : undefined;
    if (current !== expected) throw new JournalConflictError(`${this.file} changed since it was read`);
    mkdirSync(this.dir, { recursive: true });
    const text = `${JSON.stringify(state, null, 2)}\n`;
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    return versionOf(text);
  }

  tryLock(holder: LockHolder): boolean {
    return this.create(this.lockFile, holder);
  }

  takeOver(dead: LockHolder, holder: LockHolder): boolean {
    const guard = `${this.lockFile}.takeover`;
    return takeOver(
      this,
      {
        create: () => this.create(guard, holder),
        remove: () => rmSync(guard, { force: true }),
        breakLock: () => rmSync(this.lockFile, { force: true }),
      },
      dead,
      holder,
    );
  }

  private create(file: string, holder: LockHolder): boolean {
    mkdirSync(this.dir, { recursive: true });
    // Written whole under another name, then linked: link() fails if the file exists, so exactly one process wins.
    const tmp = `${file}.${holder.token}`;
    writeFileSync(tmp, JSON.stringify(holder), { mode: 0o600 });
    try {
      linkSync(tmp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return false;
    } finally {
      unlinkSync(tmp);
    }
  }

  readLock(): LockHolder | undefined {
    try {
      return JSON.parse(readFileSync(this.lockFile, 'utf8')) as LockHolder;
    } catch {
      return undefined;
    }
  }

  unlock(holder: LockHolder): void {
    if (this.readLock()?.token === holder.token) rmSync(this.lockFile, { force: true });
  }

  breakLock(): void {
    rmSync(this.lockFile, { force: true });
    rmSync(`${this.lockFile}.takeover`, { force: true });
  }
}

function versionOf(text: string): string {
  // Content is the version: equal text, equal journal.
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `${text.length}-${h.toString(16)}`;
}

export interface S3Location {
  bucket: string;
  /** Key prefix of this migration: <keyPrefix>/<name>. */
  prefix: string;
  region: string;
}

/**
 * The journal in S3, next to the Terraform state, so that every CI runner
 * sees the same one. Conditional writes make it safe across runners: the lock
 * is created with If-None-Match: * and the journal written with If-Match on
 * the ETag that was read. Through the aws CLI, whose credentials chain the job
 * already has for Terraform.
 */
export class S3JournalStore implements JournalStore {
  readonly where: string;
  private readonly key: string;
  private readonly lockKey: string;

  constructor(private readonly location: S3Location) {
    this.key = `${location.prefix}/journal.json`;
    this.lockKey = `${location.prefix}/journal.lock`;
    this.where = `s3://${location.bucket}/${this.key}`;
  }

  read() {
    const got = this.get(this.key);
    return got ? { state: parseJournal(got.body, this.where), version: got.etag } : undefined;
  }

  write(state: JournalState, expected: string | undefined): string {
    const condition = expected === undefined ? ['--if-none-match', '*'] : ['--if-match', expected];
    const etag = this.put(this.key, `${JSON.stringify(state, null, 2)}\n`, condition);
    if (etag === undefined) throw new JournalConflictError(`${this.where} changed since it was read`);
    return etag;
  }

  tryLock(holder: LockHolder): boolean {
    return this.put(this.lockKey, JSON.stringify(holder), ['--if-none-match', '*']) !== undefined;
  }

  takeOver(dead: LockHolder, holder: LockHolder): boolean {
    const guard = `${this.lockKey}.takeover`;
    return takeOver(
      this,
      {
        create: () => this.put(guard, JSON.stringify(holder), ['--if-none-match', '*']) !== undefined,
        remove: () => this.remove(guard),
        breakLock: () => this.remove(this.lockKey),
      },
      dead,
      holder,
    );
  }

  readLock(): LockHolder | undefined {
    const got = this.get(this.lockKey);
    return got ? (JSON.parse(got.body) as LockHolder) : undefined;
  }

  unlock(holder: LockHolder): void {
    if (this.readLock()?.token === holder.token) this.remove(this.lockKey);
  }

  breakLock(): void {
    this.remove(this.lockKey);
    this.remove(`${this.lockKey}.takeover`);
  }

  private remove(key: string): void {
    this.aws(['s3api', 'delete-object', '--bucket', this.location.bucket, '--key', key]);
  }

  private get(key: string): { body: string; etag: string } | undefined {
    const dir = mkdtempSync(join(tmpdir(), 'rlm-s3-'));
    try {
      const out = join(dir, 'body');
      const result = this.aws(
        ['s3api', 'get-object', '--bucket', this.location.bucket, '--key', key, out],
        ['NoSuchKey', 'Not Found', '404'],
      );
      if (result === undefined) return undefined;
      return { body: readFileSync(out, 'utf8'), etag: (JSON.parse(result) as { ETag: string }).ETag };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** undefined: the condition did not hold (412 Precondition Failed, or 409 from a racing conditional write). */
  private put(key: string, body: string, condition: string[]): string | undefined {
    const dir = mkdtempSync(join(tmpdir(), 'rlm-s3-'));
    try {
      const file = join(dir, 'body');
      writeFileSync(file, body, { mode: 0o600 });
      const result = this.aws(
        ['s3api', 'put-object', '--bucket', this.location.bucket, '--key', key, '--body', file, ...condition],
        ['PreconditionFailed', 'ConditionalRequestConflict', '(412)', '(409)'],
      );
      return result === undefined ? undefined : (JSON.parse(result) as { ETag: string }).ETag;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs the aws CLI; an error naming one of `expected` returns undefined, any other throws with the CLI's words. */
  private aws(args: string[], expected: string[] = []): string | undefined {
    try {
      return execFileSync('aws', [...args, '--region', this.location.region, '--output', 'json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      });
    } catch (err) {
      const e = err as { code?: string; stderr?: string };
      if (e.code === 'ENOENT') throw new Error(`the aws CLI is not installed; the journal lives in ${this.where} (state.backend s3)`);
      const reason =
        String(e.stderr ?? '')
          .trim()
          .split('\n')
          .pop() ?? '';
      if (expected.some((x) => reason.includes(x))) return undefined;
      throw new Error(`aws ${args.slice(0, 2).join(' ')} on s3://${this.location.bucket}/${args[args.indexOf('--key') + 1]}: ${reason}`);
    }
  }
}
