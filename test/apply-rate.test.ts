import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyRateTracker, describeRates, ratesBetween } from '../scripts/migrate/apply-rate.js';

const MB = 1_000_000;

test('rates and ETA: 10 MB behind, applying 3 MB/s while the source writes 1 MB/s, catches up in 5 s', () => {
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
