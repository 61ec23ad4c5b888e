import { bytesBetween, type BinlogPosition } from '../db/replica-status.js';
import type { Server } from '../db/connection.js';

/**
 * One look at replication: the target's executed position and the source's
 * binlog head, both as byte offsets into the source's binlog from a common
 * base (so that rates stay right across binlog rotations).
 */
export interface RateSample {
  atMs: number;
  appliedBytes: number;
  headBytes: number;
}

export interface Rates {
  applyBytesPerSec: number;
  writeBytesPerSec: number;
  behindBytes: number;
  /** Seconds until the target has applied the backlog at these rates; 0 when caught up; null when it is not gaining. */
  etaSeconds: number | null;
}

/** Rates between the first and the last sample; null until two samples at least 1 ms apart. */
export function ratesBetween(first: RateSample, last: RateSample): Rates | null {
  const seconds = (last.atMs - first.atMs) / 1000;
  if (!(seconds > 0)) return null;
  const applyBytesPerSec = Math.max(0, last.appliedBytes - first.appliedBytes) / seconds;
  const writeBytesPerSec = Math.max(0, last.headBytes - first.headBytes) / seconds;
  const behindBytes = Math.max(0, last.headBytes - last.appliedBytes);
  const gain = applyBytesPerSec - writeBytesPerSec;
  const etaSeconds = behindBytes === 0 ? 0 : gain > 0 ? Math.ceil(behindBytes / gain) : null;
  return { applyBytesPerSec: Math.round(applyBytesPerSec), writeBytesPerSec: Math.round(writeBytesPerSec), behindBytes, etaSeconds };
}

export interface ApplyRateOptions {
  /** Warn once the target has been behind and not gaining for this long. */
  sustainMs: number;
  /** Rates are taken over the samples of this trailing window. @default 60000 */
  windowMs?: number;
}

/**
 * Follows successive samples and says when the target will have applied the
 * backlog, or that it is not catching up: behind and applying no faster than
 * the source writes for `sustainMs` in a row.
 */
export class ApplyRateTracker {
  private samples: RateSample[] = [];
  private notGainingSince: number | undefined;

  constructor(private readonly options: ApplyRateOptions) {}

  add(sample: RateSample): { rates: Rates | null; warning?: string } {
    const windowMs = this.options.windowMs ?? 60_000;
    this.samples.push(sample);
    // Keep one sample older than the window, so the window is always spanned in full.
    while (this.samples.length > 2 && this.samples[1]!.atMs <= sample.atMs - windowMs) this.samples.shift();
    const rates = ratesBetween(this.samples[0]!, sample);
    if (!rates) return { rates };
    const gaining = rates.behindBytes === 0 || rates.applyBytesPerSec > rates.writeBytesPerSec;
    this.notGainingSince = gaining ? undefined : (this.notGainingSince ?? this.samples[0]!.atMs);
    const stuckMs = this.notGainingSince === undefined ? 0 : sample.atMs - this.notGainingSince;
    return stuckMs >= this.options.sustainMs ? { rates, warning: notConvergingWarning(rates, stuckMs) } : { rates };
  }
}

export function notConvergingWarning(rates: Rates, stuckMs: number): string {
  return (
    `target-master is not catching up: for ${Math.round(stuckMs / 1000)} s it applied ${formatRate(rates.applyBytesPerSec)} while source-master wrote ${formatRate(rates.writeBytesPerSec)}, ` +
    `${(rates.behindBytes / 1e6).toFixed(1)} MB behind. Give the target a larger instance class, check its parallel replication parameters ` +
    '(slave_parallel_threads and slave_parallel_mode on MariaDB, replica_parallel_workers on MySQL), or reduce the write load on the source until it catches up'
  );
}

export function formatRate(bytesPerSec: number): string {
  return `${(bytesPerSec / 1e6).toFixed(2)} MB/s`;
}

export function describeRates(rates: Pick<Rates, 'applyBytesPerSec' | 'writeBytesPerSec' | 'etaSeconds'> | null): string {
  if (!rates) return 'rates: measuring';
  const eta = rates.etaSeconds === null ? 'not gaining' : `ETA ${rates.etaSeconds} s`;
  return `applying ${formatRate(rates.applyBytesPerSec)}, source writing ${formatRate(rates.writeBytesPerSec)}, ${eta}`;
}

/**
 * A sample from a lag measurement: `base` is a position of the source's binlog
 * at or before the executed one (the first executed position seen); the head is
 * `bytesBehind` past the executed position.
 */
export async function sampleRate(
  source: Server,
  base: BinlogPosition,
  executed: BinlogPosition,
  bytesBehind: number,
  atMs = Date.now(),
): Promise<RateSample> {
  const appliedBytes = executed.file ? await bytesBetween(source, base, executed) : 0;
  return { atMs, appliedBytes, headBytes: appliedBytes + bytesBehind };
}

/** Rates between two lag measurements of the same follower (the earlier one's executed position is the base). */
export async function ratesOfLags(leader: Server, first: LagLook, second: LagLook): Promise<Rates | null> {
  const base = first.status.executed;
  if (!base.file) return null;
  return ratesBetween(
    await sampleRate(leader, base, base, first.bytesBehind, first.atMs),
    await sampleRate(leader, base, second.status.executed, second.bytesBehind, second.atMs),
  );
}

interface LagLook {
  status: { executed: BinlogPosition };
  bytesBehind: number;
  atMs: number;
}
