import {
  bytesBetween,
  classifyReplicationError,
  comparePositions,
  formatPosition,
  type BinlogPosition,
  type ReplicaStatus,
  type ReplicationFault,
} from '../db/replica-status.js';
import type { Server } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';
import { ApplyRateTracker, describeRates, sampleRate } from './apply-rate.js';
import { positionGoneError } from './binlog-availability.js';
import type { MigrationContext } from './context.js';
import { rekeyTarget, resumeRekey } from './replication-link.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface Lag {
  status: ReplicaStatus;
  secondsBehind: number | null;
  bytesBehind: number;
}

/**
 * Within the allowed lag, while the target follows source-master. A target that has not yet applied from a known
 * binlog file (just pointed by GTID, its first events not yet read) says 0 s and 0 bytes behind: no evidence.
 */
export function caughtUp(lag: Lag, running: boolean, maxSeconds: number): boolean {
  return (
    running &&
    lag.status.executed.file !== '' &&
    lag.secondsBehind !== null &&
    lag.secondsBehind <= maxSeconds &&
    lag.bytesBehind < 4 * 1024 * 1024
  );
}

/** How far target-master is behind source-master, in seconds and in binlog bytes. */
export async function measureLag(ctx: MigrationContext, target: Server, source: Server): Promise<Lag> {
  const status = await ctx.dialect.replicaStatus(target);
  const head = await ctx.dialect.flavour.writePosition(source);
  const bytesBehind = head && status.executed.file ? await bytesBetween(source, status.executed, head) : 0;
  return { status, secondsBehind: status.secondsBehind, bytesBehind };
}

interface Fault {
  kind: ReplicationFault | 'stopped';
  thread: 'io' | 'sql';
  detail: string;
}

/** What is wrong with replication now, if anything. An IO thread still (re)connecting without an error is not a fault. */
export function currentFault(status: ReplicaStatus): Fault | undefined {
  if (!status.sqlRunning && status.lastSqlError)
    return {
      kind: classifyReplicationError(status.lastSqlErrno, status.lastSqlError, 'sql'),
      thread: 'sql',
      detail: `error ${status.lastSqlErrno}: ${status.lastSqlError}`,
    };
  if (status.ioRunning !== 'Yes' && status.lastIoError)
    return {
      kind: classifyReplicationError(status.lastIoErrno, status.lastIoError, 'io'),
      thread: 'io',
      detail: `error ${status.lastIoErrno}: ${status.lastIoError}`,
    };
  if (!status.sqlRunning || status.ioRunning === 'No')
    return { kind: 'stopped', thread: status.sqlRunning ? 'io' : 'sql', detail: 'replication is stopped' };
  return undefined;
}

const ADVICE: Record<Fault['kind'], string> = {
  network:
    'the follower cannot reach its leader: check the security group rules (the target stack adds them both ways), routes and network ACLs between the two, and that the leader is up; replication restarts by itself once the link is back, and running again keeps waiting',
  auth: "the replication user cannot log in: someone or something on the leader dropped it or changed its password or allowed host. Find out who and stop it; its password is never shown, so then run the command again: `run`'s catch-up gives the user a new password and re-points target-master where it stopped applying",
  'binlog-gone': '',
  apply:
    'the follower has diverged from its leader at that event. Find the cause (a write on the follower? a missing user?) and fix it; this tool never skips events. Then CALL mysql.rds_start_replication on the follower and run again',
  unknown:
    "see the server's message above; replication restarts by itself while the fault lasts less than migration.replicationGiveUpSeconds. Fix the cause and run again",
  stopped: 'someone or something keeps stopping replication on the follower; find out who, then run again',
};

/** Restart back-off: 2 s, doubling up to a minute. */
const backoffMs = (restarts: number) => Math.min(2000 * 2 ** restarts, 60_000);

/**
 * Keeps a follower replicating: faults a restart can heal (network, broken relay log, stopped threads)
 * get a restart with back-off and a log line, until they have lasted giveUpSeconds; the others stop the
 * run at once with advice for their kind. Nothing is ever skipped.
 */
export class ReplicationHealer {
  private faultSince?: number;
  private restarts = 0;
  private nextRestartAt = 0;

  constructor(
    private readonly ctx: MigrationContext,
    private readonly follower: Server,
    private readonly giveUpSeconds = ctx.config.migration.replicationGiveUpSeconds,
  ) {}

  async check(status: ReplicaStatus): Promise<void> {
    const fault = currentFault(status);
    if (!fault) return this.healed();
    const where = `${this.follower.role} (replicating from ${status.masterHost}:${status.masterPort}, applied up to ${formatPosition(status.executed)})`;
    if (fault.kind === 'binlog-gone')
      throw positionGoneError(
        `${status.masterHost}:${status.masterPort}`,
        `no longer has the binlog ${this.follower.role} needs (${fault.detail})`,
      );
    if (fault.kind === 'apply' || fault.kind === 'auth')
      throw new OperatorError(`${where}: ${fault.thread.toUpperCase()} thread stopped: ${fault.detail}`, ADVICE[fault.kind], 'replication');
    const now = Date.now();
    if (this.faultSince === undefined) {
      this.faultSince = now;
      // A short grace: a thread stopped for a moment on purpose, or a reconnect in progress, is not touched.
      this.nextRestartAt = now + backoffMs(0);
    }
    if (now - this.faultSince > this.giveUpSeconds * 1000) {
      throw new OperatorError(
        `${where}: replication has been failing for over ${this.giveUpSeconds} s (${this.restarts} restart(s)): ${fault.detail}`,
        ADVICE[fault.kind],
        'replication',
      );
    }
    if (now >= this.nextRestartAt) await this.restart(fault);
  }

  private async restart(fault: Fault): Promise<void> {
    this.restarts += 1;
    this.nextRestartAt = Date.now() + backoffMs(this.restarts);
    this.ctx.log.done();
    this.ctx.log.warn(
      `${this.follower.role}: restarting replication (attempt ${this.restarts}; ${fault.kind}, ${fault.thread} thread: ${fault.detail}); giving up after ${this.giveUpSeconds} s of failure`,
    );
    await this.ctx.dialect.stopReplication(this.follower);
    await this.ctx.dialect.startReplication(this.follower);
  }

  private healed(): void {
    if (this.faultSince === undefined) return;
    if (this.restarts)
      this.ctx.log.info(
        `${this.follower.role}: replication runs again after ${Math.round((Date.now() - this.faultSince) / 1000)} s and ${this.restarts} restart(s)`,
      );
    this.faultSince = undefined;
    this.restarts = 0;
  }
}

const serverIdOf = async (server: Server) => Number(await server.value('SELECT @@GLOBAL.server_id'));

/**
 * Lag is measured against source-master as this tool reaches it; the target reaches its leader by
 * another address (sourceHostForTarget), which may name another server, such as the replica. Its
 * coordinates then mean nothing on source-master and "caught up" would be a lie. A failover shows
 * the same mismatch until the target reconnects, so only one that lasts stops the run.
 */
class LeaderCheck {
  private mismatchSince?: number;
  /** Read once: source-master's server_id is pinned on every connect and survives a failover (server-identity.ts). */
  private sourceId?: number;

  constructor(
    private readonly ctx: MigrationContext,
    private readonly source: Server,
    private readonly giveUpSeconds = ctx.config.migration.replicationGiveUpSeconds,
  ) {}

  /** Whether the target is connected to source-master itself; false while it is not connected. */
  async followsSource(status: ReplicaStatus): Promise<boolean> {
    if (status.ioRunning !== 'Yes' || status.masterServerId === 0) return false;
    this.sourceId ??= await serverIdOf(this.source);
    const sourceId = this.sourceId;
    if (status.masterServerId === sourceId) {
      this.mismatchSince = undefined;
      return true;
    }
    const what = `target-master replicates from server_id ${status.masterServerId} (${status.masterHost}:${status.masterPort}), but source-master is server_id ${sourceId}`;
    if (this.mismatchSince === undefined) {
      this.mismatchSince = Date.now();
      this.ctx.log.warn(`${what}; not caught up while this lasts (a failover?), giving up after ${this.giveUpSeconds} s`);
    }
    if (Date.now() - this.mismatchSince <= this.giveUpSeconds * 1000) return false;
    throw new OperatorError(
      `${what}: it follows another server`,
      'set migration.sourceHostForTarget and sourcePortForTarget (or the source outputs) to an address where target-master reaches source-master itself, then run `rds-live-migrate run --reseed`: what the target applied came from that other server',
      'replication',
    );
  }
}

/** Re-keys per run: a user that keeps being dropped or changed is someone else's doing, not a fault to heal forever. */
const MAX_REKEYS = 3;

/** Gives the replication user a new password when the target's IO thread is refused, a few times per run. */
class Rekeyer {
  private count = 0;

  constructor(
    private readonly ctx: MigrationContext,
    private readonly target: Server,
    private readonly source: Server,
  ) {}

  /** Whether it re-keyed for this status (then the status is stale). */
  async check(status: ReplicaStatus): Promise<boolean> {
    const fault = currentFault(status);
    if (fault?.kind !== 'auth' || fault.thread !== 'io') return false;
    if (this.count >= MAX_REKEYS)
      throw new OperatorError(
        `target-master: the replication user ${this.ctx.config.migration.replicationUser} was refused by source-master again after ${this.count} new passwords in this run (${fault.detail})`,
        'something on source-master keeps dropping or changing that user (a password rotation, a user cleanup script, another person): find it and stop it, then run again; the target resumes where it stopped applying',
        'replication',
      );
    this.count += 1;
    this.ctx.log.done();
    await rekeyTarget(this.ctx, this.target, this.source, fault.detail);
    return true;
  }
}

/** Waits until the target reads everything the source has written and applies within the allowed lag. */
export async function catchUp(ctx: MigrationContext): Promise<Record<string, unknown>> {
  const target = await ctx.server('target-master');
  const source = await ctx.server('source-master');
  const { caughtUpLagSeconds, catchUpTimeoutSeconds } = ctx.config.migration;
  const deadline = Date.now() + catchUpTimeoutSeconds * 1000;
  const healer = new ReplicationHealer(ctx, target);
  const leader = new LeaderCheck(ctx, source);
  const rekeyer = new Rekeyer(ctx, target, source);
  await resumeRekey(ctx, target, source);
  let peakBytes = 0;
  const rates = new ApplyRateTracker({ sustainMs: ctx.config.migration.applyRateWarnSeconds * 1000 });
  let base: BinlogPosition | undefined;
  let warnedAt = 0;
  for (;;) {
    const lag = await measureLag(ctx, target, source);
    if (await rekeyer.check(lag.status)) continue;
    base ??= lag.status.executed.file ? lag.status.executed : undefined;
    const rate = base ? rates.add(await sampleRate(source, base, lag.status.executed, lag.bytesBehind)) : { rates: null };
    peakBytes = Math.max(peakBytes, lag.bytesBehind);
    await healer.check(lag.status);
    const running = lag.status.sqlRunning && (await leader.followsSource(lag.status));
    ctx.log.progress(
      `catch-up: ${lag.secondsBehind ?? '?'} s / ${(lag.bytesBehind / 1e6).toFixed(2)} MB behind source-master, applied up to ${formatPosition(lag.status.executed)}; ${describeRates(rate.rates)}`,
    );
    // Once a minute at most: the warning stands until the target gains.
    if ('warning' in rate && rate.warning && Date.now() - warnedAt >= 60_000) {
      ctx.log.warn(rate.warning);
      warnedAt = Date.now();
    }
    if (caughtUp(lag, running, caughtUpLagSeconds)) {
      ctx.log.done();
      ctx.log.info(`target-master caught up: ${lag.secondsBehind} s, ${lag.bytesBehind} bytes behind`);
      return { secondsBehind: lag.secondsBehind, bytesBehind: lag.bytesBehind, peakBytesBehind: peakBytes };
    }
    if (Date.now() > deadline)
      throw new OperatorError(
        `target-master did not catch up within ${catchUpTimeoutSeconds} s (${lag.secondsBehind ?? '?'} s behind)`,
        'run again to keep waiting; consider a larger target instance class',
        'catch-up',
      );
    await delay(500);
  }
}

/** Waits until the target has applied everything up to `position` of the source's binlog. */
export async function waitForPosition(
  ctx: MigrationContext,
  follower: Server,
  position: BinlogPosition,
  timeoutMs = 300_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const healer = new ReplicationHealer(ctx, follower);
  for (;;) {
    const status = await ctx.dialect.replicaStatus(follower);
    await healer.check(status);
    if (comparePositions(status.executed, position) >= 0) return;
    if (Date.now() > deadline)
      throw new OperatorError(
        `${follower.role} did not reach ${formatPosition(position)} within ${timeoutMs / 1000} s (at ${formatPosition(status.executed)})`,
        'check replication with `status` and run again',
        'catch-up',
      );
    await delay(100);
  }
}
