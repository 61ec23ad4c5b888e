import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { LocalJournalStore, S3JournalStore, type JournalStore } from '../scripts/core/journal-store.js';
import { Journal } from '../scripts/core/journal.js';
import { s3StandInOnPath } from './helpers/aws-s3-standin.js';

const s3 = s3StandInOnPath();

type StoreSpec = { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };
const open = (spec: StoreSpec): JournalStore =>
  spec.kind === 'local'
    ? new LocalJournalStore(spec.dir)
    : new S3JournalStore({ bucket: spec.bucket, prefix: spec.prefix, region: 'eu-west-1' });
const stores: [string, () => StoreSpec][] = [
  ['local file', () => ({ kind: 'local', dir: mkdtempSync(join(tmpdir(), 'rlm-journal-')) })],
  [
    'S3 (stand-in aws CLI with conditional writes)',
    () => ({ kind: 's3', bucket: 'state-bucket', prefix: `rlm/${Math.random().toString(36).slice(2)}` }),
  ],
];

// A child process that tries the lock once, says whether it got it, and holds it until its stdin closes.
const CONTENDER = resolve(import.meta.dirname, 'helpers', 'lock-contender.ts');

/** Eight contenders started together; each says whether it got the lock. */
async function race(spec: StoreSpec): Promise<string[]> {
  const children = Array.from({ length: 8 }, () =>
    execa(process.execPath, ['--import', 'tsx', CONTENDER, JSON.stringify(spec)], {
      env: { PATH: process.env.PATH! },
      stdin: 'pipe',
      reject: false,
    }),
  );
  const answers = await Promise.all(
    children.map((c) => new Promise<string>((ok) => c.stdout!.once('data', (d: Buffer) => ok(d.toString().trim())))),
  );
  for (const c of children) c.stdin!.end();
  await Promise.all(children);
  return answers;
}

describe('the migration lock and the journal', () => {
  for (const [name, make] of stores) {
    describe(name, () => {
      test('of eight processes started together, exactly one gets the lock', async () => {
        const spec = make();
        const answers = await race(spec);
        assert.equal(answers.filter((a) => a === 'got').length, 1, `answers: ${answers.join(' ')}`);
        assert.equal(answers.filter((a) => a === 'locked').length, 7);
      });

      test("of eight processes finding a dead holder's lock together, exactly one takes it over", async () => {
        const spec = make();
        const dead = await execa(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
        assert.ok(
          open(spec).tryLock({ token: 'dead', host: hostname(), pid: Number(dead.stdout), command: 'rds-live-migrate run', since: '' }),
        );
        const answers = await race(spec);
        assert.equal(answers.filter((a) => a === 'got').length, 1, `answers: ${answers.join(' ')}`);
      });

      test('releasing never removes a lock another process holds', () => {
        const spec = make();
        const a = Journal.open(open(spec), 'm');
        const b = Journal.open(open(spec), 'm');
        const release = a.lock('rds-live-migrate cutover');
        assert.throws(
          () => b.lock('rds-live-migrate run'),
          (err: Error & { code?: string }) =>
            err.code === 'locked' && /locked by `rds-live-migrate cutover` \(pid \d+ on /.test(err.message),
        );
        // The old release deleted the lock file whoever held it.
        open(spec).unlock({ token: 'someone-else', host: hostname(), pid: process.pid, command: 'x', since: '' });
        assert.equal(open(spec).readLock()?.command, 'rds-live-migrate cutover');
        release();
        assert.equal(open(spec).readLock(), undefined);
      });

      test('a write from a copy read earlier is merged into the stored journal, never written over it', () => {
        const spec = make();
        const verify = Journal.open(open(spec), 'm'); // read at start, like verify
        const cutover = Journal.open(open(spec), 'm');
        const release = cutover.lock('rds-live-migrate cutover');
        cutover.done('catch-up', { secondsBehind: 0 });
        cutover.started('cutover:freeze-source', { accounts: [] });
        release();
        verify.done('verify', { ok: true });
        const stored = open(spec).read()!.state;
        assert.deepEqual(Object.keys(stored.steps).sort(), ['catch-up', 'cutover:freeze-source', 'verify']);
        assert.equal(stored.steps['cutover:freeze-source']!.status, 'started');
      });
    });
  }

  test('a lock left by a process that died on this host is taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlm-journal-'));
    const dead = await execa(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    writeFileSync(
      join(dir, 'journal.lock'),
      JSON.stringify({ token: 't', host: hostname(), pid: Number(dead.stdout), command: 'rds-live-migrate run', since: '' }),
    );
    const release = Journal.open(new LocalJournalStore(dir), 'm').lock('rds-live-migrate run');
    assert.equal(new LocalJournalStore(dir).readLock()?.pid, process.pid);
    release();
  });

  test('the S3 journal is written with If-Match on the ETag read, the lock with If-None-Match', () => {
    const spec: StoreSpec = { kind: 's3', bucket: 'state-bucket', prefix: 'rlm/conditions' };
    const j = Journal.open(open(spec), 'm');
    j.done('binlog-retention');
    j.done('replication-user');
    const calls = readFileSync(s3.calls, 'utf8')
      .split('\n')
      .filter((l) => l.includes('rlm/conditions/'));
    assert.ok(calls.includes('s3api put-object rlm/conditions/journal.lock if-none-match'));
    assert.ok(
      calls.includes('s3api put-object rlm/conditions/journal.json if-none-match'),
      'the first write creates the journal only if absent',
    );
    assert.ok(calls.includes('s3api put-object rlm/conditions/journal.json if-match'), 'later writes name the ETag they read');
  });
});
