import type { Server } from '../db/connection.js';
import { formatPosition, type BinlogPosition } from '../db/replica-status.js';
import { OperatorError } from '../support/errors.js';
import { crashIfRequested } from '../support/faults.js';
import { randomPassword } from '../support/password.js';
import type { MigrationContext } from './context.js';
import { applyReplicationUser } from '../run/replication-user.js';

export interface FollowRequest {
  /** The journal step doing this, for crash injection between pointing and starting. */
  step: string;
  follower: Server;
  leader: Server;
  /** The leader's address as the follower reaches it. */
  host: string;
  port: number;
  position: BinlogPosition;
  /** The leader's GTID state at `position` as recorded (at the freeze), used when the leader cannot compute it. */
  gtid?: string;
  /** The GTID state the follower itself applied (a re-key): it is the point, whatever the leader reads at `position`. */
  appliedGtid?: string;
  /** The replication user's password when it is already set on the leader; otherwise a new one is set. */
  password?: string;
}

/**
 * Makes `follower` replicate from `leader` starting at `position` — once. If an
 * earlier, interrupted run already pointed it there, it is only (re)started:
 * the follower may have applied events past `position`, and pointing it back
 * would apply them twice. Pointed elsewhere, it is left alone and reported.
 */
export async function follow(ctx: MigrationContext, request: FollowRequest): Promise<{ resumed: boolean }> {
  const { follower, host, port, position } = request;
  const status = await ctx.dialect.replicaStatus(follower);
  if (status.configured) {
    if (status.masterHost !== host || status.masterPort !== port) {
      throw new OperatorError(
        `${follower.role} already replicates from ${status.masterHost}:${status.masterPort}, not ${host}:${port}`,
        'someone changed its replication; reset it only if you are sure nothing was applied from elsewhere, then run again',
        'replication',
      );
    }
    ctx.log.info(`${follower.role} already follows ${host}:${port} from an earlier run; not pointing it again`);
    if (!status.sqlRunning || status.ioRunning === 'No') await ctx.dialect.startReplication(follower);
    return { resumed: true };
  }
  const password = request.password ?? randomPassword();
  // Creating or re-keying the user on the leader is harmless when it replicates onward: the follower has the user too.
  await applyReplicationUser(ctx, [request.leader], password);
  const gtid = await gtidAt(ctx, request);
  await ctx.dialect.setExternalMaster(follower, {
    host,
    port,
    user: ctx.config.migration.replicationUser,
    password,
    position,
    gtid,
    tls: ctx.config.migration.requireTls,
  });
  crashIfRequested('mid', request.step);
  await ctx.dialect.startReplication(follower);
  ctx.log.info(`${follower.role} follows ${host}:${port} from ${formatPosition(position)}${gtid ? ` by GTID (${gtid})` : ''}`);
  return { resumed: false };
}

/**
 * MariaDB's GTID state at the position, as the leader's binlog says (exact, every domain), else the
 * one recorded with the position. Undefined where GTID pointing is not used (MySQL: see flavour.ts)
 * or neither is known; then file and position serve.
 */
async function gtidAt(ctx: MigrationContext, request: FollowRequest): Promise<string | undefined> {
  if (request.appliedGtid) return request.appliedGtid;
  const fromLeader = await ctx.dialect.flavour.gtidAt(request.leader, request.position);
  if (fromLeader === undefined) return undefined;
  const gtid = fromLeader ?? request.gtid;
  if (gtid === undefined || gtid === null)
    ctx.log.warn(
      `${request.leader.role} cannot tell the GTID at ${formatPosition(request.position)}; ${request.follower.role} follows by file and position`,
    );
  if (fromLeader !== null && fromLeader !== undefined && request.gtid !== undefined && fromLeader !== request.gtid) {
    ctx.log.info(
      `GTID at ${formatPosition(request.position)}: ${fromLeader} on ${request.leader.role} (recorded: ${request.gtid}); following the leader's`,
    );
  }
  return gtid ?? undefined;
}

/** Catch-up's journal record of a re-key: where the target was re-pointed (or is to be), written before it is reset. */
export interface RekeyRecord {
  host: string;
  port: number;
  /** What the target had applied (never what it had read) when it was stopped. */
  position: BinlogPosition;
  /** The GTID state the target had applied, where MariaDB GTID pointing is used. */
  gtid?: string;
  state: 'pending' | 'done';
  at: string;
}

const rekeyRecord = (ctx: MigrationContext) => ctx.journal.data<{ rekey?: RekeyRecord }>('catch-up')?.rekey;

function recordRekey(ctx: MigrationContext, rekey: RekeyRecord): void {
  ctx.journal.started('catch-up', { ...ctx.journal.data<Record<string, unknown>>('catch-up'), rekey });
}

/**
 * The replication user could not log in: the target is stopped where it applied, that point is journaled,
 * the target reset (RDS points only after a reset) and pointed there again with a new password. A kill at
 * any moment leaves either a configured target (see resumeRekey) or the journaled point to resume from.
 */
export async function rekeyTarget(ctx: MigrationContext, target: Server, source: Server, cause: string): Promise<void> {
  // The SQL thread may still apply relay log when the IO thread is refused: only a stopped target's position is final.
  await ctx.dialect.stopReplication(target);
  const status = await ctx.dialect.replicaStatus(target);
  const gtid = (await followsByGtid(ctx, target)) ? await ctx.dialect.flavour.appliedGtid(target) : '';
  const record: RekeyRecord = {
    host: status.masterHost,
    port: status.masterPort,
    position: status.executed,
    ...(gtid ? { gtid } : {}),
    state: 'pending',
    at: new Date().toISOString(),
  };
  // Just pointed by GTID, a target reports no position until it applies: only its GTID state says where it is.
  if (!record.gtid && !record.position.file)
    throw new OperatorError(
      `target-master was refused by source-master (${cause}) and reports neither an applied position nor a GTID state; it was not reset`,
      'restore the replication user on source-master with the password it had, or run `rds-live-migrate run --reseed`',
      'replication',
    );
  recordRekey(ctx, record);
  await ctx.dialect.resetExternalMaster(target);
  crashIfRequested('mid', 'rekey-target');
  await repoint(ctx, target, source, record);
  ctx.log.warn(
    `the replication user ${ctx.config.migration.replicationUser} could not log in to source-master (${cause}): it was given a new password and target-master was re-pointed at ${where(record)}, where it had stopped applying; find out who changed or dropped that user on source-master`,
  );
}

/** Finishes a re-key a killed run left: re-points a target left reset; one configured again only closes the record. */
export async function resumeRekey(ctx: MigrationContext, target: Server, source: Server): Promise<void> {
  const record = rekeyRecord(ctx);
  if (record?.state !== 'pending') return;
  // Configured, it may have applied past the recorded point: pointing it there again would apply events twice.
  if ((await ctx.dialect.replicaStatus(target)).configured) {
    recordRekey(ctx, { ...record, state: 'done' });
    return;
  }
  await repoint(ctx, target, source, record);
  ctx.log.warn(
    `an interrupted re-key had left target-master without replication: the replication user was given a new password and target-master re-pointed at ${where(record)}, as journaled before the reset`,
  );
}

async function repoint(ctx: MigrationContext, target: Server, source: Server, record: RekeyRecord): Promise<void> {
  const password = randomPassword();
  await follow(ctx, {
    step: 'catch-up',
    follower: target,
    leader: source,
    host: record.host,
    port: record.port,
    position: record.position,
    appliedGtid: record.gtid,
    password,
  });
  ctx.replicationPassword = password;
  recordRekey(ctx, { ...record, state: 'done' });
}

const where = (record: RekeyRecord) =>
  record.gtid ? `GTID ${record.gtid} (${formatPosition(record.position)})` : formatPosition(record.position);

/** MariaDB's Using_Gtid: a follower pointed by file and position keeps only the domains it applied since in its GTID state. */
async function followsByGtid(ctx: MigrationContext, follower: Server): Promise<boolean> {
  if (!ctx.dialect.flavour.replication.pointByGtid) return false;
  const using = (await follower.one(ctx.dialect.flavour.replication.status))?.Using_Gtid;
  return using !== undefined && using !== 'No';
}
