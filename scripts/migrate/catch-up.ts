import { bytesBetween, comparePositions, formatPosition, masterPosition, type BinlogPosition, type ReplicaStatus } from '../db/replica-status.js';
import type { Server } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';
import { ApplyRateTracker, describeRates, sampleRate } from './apply-rate.js';
import type { MigrationContext } from './context.js';

export interface Lag {
  status: ReplicaStatus;
  secondsBehind: number | null;
  bytesBehind: number;
}

/** How far target-master is behind source-master, in seconds and in binlog bytes. */
export async function measureLag(ctx: MigrationContext, target: Server, source: Server): Promise<Lag> {
  const status = await ctx.dialect.replicaStatus(target);
  const head = await masterPosition(source);
  const bytesBehind = head && status.executed.file ? await bytesBetween(source, status.executed, head) : 0;
  return { status, secondsBehind: status.secondsBehind, bytesBehind };
}

/** Replication errors stop the run with the server's own words; nothing is ever skipped. */
export function assertHealthy(status: ReplicaStatus, ioErrorSince: number | undefined): void {
  if (status.lastSqlError && !status.sqlRunning) {
    throw new OperatorError(
      `target-master stopped applying at ${formatPosition(status.executed)}: ${status.lastSqlError}`,
      'the target has diverged from the source at that event. Find the cause (a write on the target? a missing user?) and fix it; this tool never skips events. Then CALL mysql.rds_start_replication on the target and run again',
      'replication',
    );
  }
  if (status.lastIoError && ioErrorSince !== undefined && Date.now() - ioErrorSince > 60_000) {
    throw new OperatorError(
      `target-master cannot read source-master's binlog for over 60 s: ${status.lastIoError}`,
      'check that the target can reach the source (security group rule from the target stack), that binlogs are still retained, and the replication user; then run again',
      'replication',
    );
  }
}

/** Waits until the target reads everything the source has written and applies within the allowed lag. */
export async function catchUp(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const target = await ctx.server('target-master');
  const source = await ctx.server('source-master');
  const { caughtUpLagSeconds, catchUpTimeoutSeconds } = ctx.config.migration;
  const deadline = Date.now() + catchUpTimeoutSeconds * 1000;
  let ioErrorSince: number | undefined;
  let peakBytes = 0;
  const rates = new ApplyRateTracker({ sustainMs: ctx.config.migration.applyRateWarnSeconds * 1000 });
  let base: BinlogPosition | undefined;
  let warnedAt = 0;
  for (;;) {
    const lag = await measureLag(ctx, target, source);
    base ??= lag.status.executed.file ? lag.status.executed : undefined;
    const rate = base ? rates.add(await sampleRate(source, base, lag.status.executed, lag.bytesBehind)) : { rates: null };
    peakBytes = Math.max(peakBytes, lag.bytesBehind);
    ioErrorSince = lag.status.lastIoError ? (ioErrorSince ?? Date.now()) : undefined;
    assertHealthy(lag.status, ioErrorSince);
    const running = lag.status.sqlRunning && lag.status.ioRunning === 'Yes';
    ctx.log.progress(`catch-up: ${lag.secondsBehind ?? '?'} s / ${(lag.bytesBehind / 1e6).toFixed(2)} MB behind source-master, applied up to ${formatPosition(lag.status.executed)}; ${describeRates(rate.rates)}`);
    // Once a minute at most: the warning stands until the target gains.
    if (rate.warning && Date.now() - warnedAt >= 60_000) {
      ctx.log.warn(rate.warning);
      warnedAt = Date.now();
    }
    if (running && lag.secondsBehind !== null && lag.secondsBehind <= caughtUpLagSeconds && lag.bytesBehind < 4 * 1024 * 1024) {
      ctx.log.done();
      ctx.log.info(`target-master caught up: ${lag.secondsBehind} s, ${lag.bytesBehind} bytes behind`);
      return { secondsBehind: lag.secondsBehind, bytesBehind: lag.bytesBehind, peakBytesBehind: peakBytes };
    }
    if (Date.now() > deadline) throw new OperatorError(`target-master did not catch up within ${catchUpTimeoutSeconds} s (${lag.secondsBehind ?? '?'} s behind)`, 'run again to keep waiting; consider a larger target instance class', 'catch-up');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until the target has applied everything up to `position` of the source's binlog. */
export async function waitForPosition(ctx: MigrationContext, target: Server, position: BinlogPosition, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ioErrorSince: number | undefined;
  for (;;) {
    const status = await ctx.dialect.replicaStatus(target);
    ioErrorSince = status.lastIoError ? (ioErrorSince ?? Date.now()) : undefined;
    assertHealthy(status, ioErrorSince);
    if (comparePositions(status.executed, position) >= 0) return;
    if (Date.now() > deadline) throw new OperatorError(`target-master did not reach ${formatPosition(position)} within ${timeoutMs / 1000} s (at ${formatPosition(status.executed)})`, 'check replication with `status` and run again', 'catch-up');
    await new Promise((r) => setTimeout(r, 100));
  }
}
