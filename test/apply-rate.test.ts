import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../scripts/db/connection.js';
import { bytesBetween } from '../scripts/db/replica-status.js';
import { mariadb, mysql8 } from '../scripts/db/flavour.js';
import { ApplyRateTracker, describeRates, ratesBetween, sampleRate } from '../scripts/core/apply-rate.js';
import { freePort } from '../scripts/dev/sandbox/sandbox.js';
import { installMariadb, rootConnection, startMariadb, stopMariadb } from '../scripts/dev/sandbox/mariadb-server.js';

const MB = 1_000_000;

test('rates and ETA: a growing backlog has no ETA; 4 MB behind and gaining 2 MB/s is 2 s', () => {
  const rates = ratesBetween({ atMs: 0, appliedBytes: 0, headBytes: 4 * MB }, { atMs: 2000, appliedBytes: 6 * MB, headBytes: 16 * MB });
  assert.deepEqual(rates, { applyBytesPerSec: 3 * MB, writeBytesPerSec: 6 * MB, behindBytes: 10 * MB, etaSeconds: null });
  const gaining = ratesBetween({ atMs: 0, appliedBytes: 0, headBytes: 8 * MB }, { atMs: 2000, appliedBytes: 6 * MB, headBytes: 10 * MB });
  assert.deepEqual(gaining, { applyBytesPerSec: 3 * MB, writeBytesPerSec: 1 * MB, behindBytes: 4 * MB, etaSeconds: 2 });
});

test('rates: caught up is ETA 0; samples at the same instant give no rate; the ETA rounds up', () => {
  assert.equal(ratesBetween({ atMs: 0, appliedBytes: 5, headBytes: 5 }, { atMs: 1000, appliedBytes: 9, headBytes: 9 })!.etaSeconds, 0);
  assert.equal(ratesBetween({ atMs: 7, appliedBytes: 0, headBytes: 0 }, { atMs: 7, appliedBytes: 1, headBytes: 1 }), null);
  assert.equal(ratesBetween({ atMs: 0, appliedBytes: 0, headBytes: 3 }, { atMs: 1000, appliedBytes: 2, headBytes: 3 })!.etaSeconds, 1);
});

test('tracker: warns only after the target has been behind and not gaining for the whole sustained period, and says what to do', () => {
  const tracker = new ApplyRateTracker({ sustainMs: 600_000, windowMs: 60_000 });
  // Source writes 2 MB/s, target applies 1 MB/s: the backlog grows.
  const at = (s: number) => tracker.add({ atMs: s * 1000, appliedBytes: s * MB, headBytes: 10 * MB + 2 * s * MB });
  assert.equal(at(0).rates, null);
  for (let s = 10; s < 600; s += 10) assert.equal(at(s).warning, undefined, `no warning at ${s} s`);
  const late = at(600);
  assert.ok(late.warning, 'a warning after 600 s not gaining');
  assert.match(late.warning!, /not catching up: for 600 s it applied 1\.00 MB\/s while source-master wrote 2\.00 MB\/s/);
  assert.match(late.warning!, /larger instance class/);
  assert.match(late.warning!, /slave_parallel_threads/);
  assert.match(late.warning!, /reduce the write load/);
  assert.equal(late.rates!.etaSeconds, null);
  assert.match(describeRates(late.rates), /applying 1\.00 MB\/s, source writing 2\.00 MB\/s, not gaining/);
});

test('tracker: a spell of gaining resets the sustained period', () => {
  const tracker = new ApplyRateTracker({ sustainMs: 30_000, windowMs: 10_000 });
  let applied = 0;
  let head = 50 * MB;
  const step = (s: number, apply: number, write: number) => {
    applied += apply * 10 * MB;
    head += write * 10 * MB;
    return tracker.add({ atMs: s * 1000, appliedBytes: applied, headBytes: head });
  };
  step(0, 0, 0);
  assert.equal(step(10, 1, 2).warning, undefined);
  assert.equal(step(20, 1, 2).warning, undefined);
  assert.equal(step(30, 3, 1).warning, undefined, 'gaining: period restarts');
  assert.equal(step(40, 1, 2).warning, undefined);
  assert.equal(step(50, 1, 2).warning, undefined);
  assert.ok(step(60, 1, 2).warning, 'behind and not gaining from 30 s to 60 s');
});

test('tracker: caught up is never a warning, even when the rates are equal', () => {
  const tracker = new ApplyRateTracker({ sustainMs: 1000 });
  for (let s = 0; s <= 10; s++) assert.equal(tracker.add({ atMs: s * 1000, appliedBytes: s * MB, headBytes: s * MB }).warning, undefined);
});

test('samples on a real binlog: the applied and head offsets stay right across a binlog rotation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlm-apply-rate-'));
  const spec = { name: 'apply-rate', dir, port: await freePort(), serverId: 41 };
  const password = randomBytes(12).toString('hex');
  await installMariadb(spec);
  await startMariadb(spec);
  const root = await rootConnection(dir);
  let server: Server | undefined;
  try {
    await root.query("CREATE USER 'rate'@'127.0.0.1' IDENTIFIED BY ?", [password]);
    await root.query("GRANT ALL ON *.* TO 'rate'@'127.0.0.1'");
    await root.query('CREATE DATABASE r; CREATE TABLE r.t (id INT PRIMARY KEY, v VARCHAR(200))');
    server = await Server.connect({
      role: 'source-master',
      endpoint: { host: '127.0.0.1', port: spec.port },
      credentials: { username: 'rate', password },
    });
    const base = (await mariadb.writePosition(server))!;
    await root.query("INSERT INTO r.t SELECT seq, REPEAT('x', 200) FROM r.seq_1_to_100");
    const executed = (await mariadb.writePosition(server))!;
    await root.query('FLUSH BINARY LOGS');
    await root.query("INSERT INTO r.t SELECT seq, REPEAT('y', 200) FROM r.seq_101_to_300");
    const head = (await mariadb.writePosition(server))!;
    assert.notEqual(head.file, base.file, 'the binlog rotated');
    // MySQL 8's statement (8.2 and later) is a syntax error here, as on MySQL 8.0: it falls back to SHOW MASTER STATUS.
    assert.deepEqual(await mysql8.writePosition(server), head);
    const behind = await bytesBetween(server, executed, head);
    const first = await sampleRate(server, base, base, await bytesBetween(server, base, executed), 0);
    const second = await sampleRate(server, base, executed, behind, 1000);
    assert.deepEqual(first, { atMs: 0, appliedBytes: 0, headBytes: executed.pos - base.pos });
    assert.equal(second.appliedBytes, executed.pos - base.pos);
    assert.equal(second.headBytes, second.appliedBytes + behind);
    assert.ok(behind > 200 * 200, `the second insert's ${behind} bytes are behind`);
    const rates = ratesBetween(first, second)!;
    assert.equal(rates.applyBytesPerSec, executed.pos - base.pos);
    assert.equal(rates.behindBytes, behind);
  } finally {
    await server?.close();
    await root.end();
    await stopMariadb(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});
