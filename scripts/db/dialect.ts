import type { EngineFamily } from '../../config/schema.js';
import type { Server } from './connection.js';
import { type Flavour, mariadb, mysql8 } from './flavour.js';
import { parseReplicaStatus, type BinlogPosition, type ReplicaStatus } from './replica-status.js';

export interface ExternalMaster {
  host: string;
  port: number;
  user: string;
  password: string;
  position: BinlogPosition;
  /**
   * The leader's GTID state at `position` (MariaDB). Given, the follower replicates by GTID from it:
   * after a cut link it re-fetches whole transactions instead of resuming inside a half-read one.
   */
  gtid?: string;
  tls: boolean;
}

/** Seconds between the follower's reconnect attempts where the dialect can set it; RDS keeps its own (60 s). */
export const CONNECT_RETRY_SECONDS = 5;

/**
 * One per flavour and deployment (MariaDB/MySQL 8 × RDS/self-managed): how
 * replication is driven there, and (`flavour`) every piece of SQL that differs
 * between MariaDB and MySQL 8. RDS gives the master user no SUPER, so there
 * replication goes through the mysql.rds_* procedures.
 */
export interface ReplicationDialect {
  readonly name: string;
  readonly flavour: Flavour;
  setBinlogRetentionHours(server: Server, hours: number): Promise<void>;
  binlogRetentionHours(server: Server): Promise<number | null>;
  stopReplication(server: Server): Promise<void>;
  startReplication(server: Server): Promise<void>;
  setExternalMaster(server: Server, master: ExternalMaster): Promise<void>;
  resetExternalMaster(server: Server): Promise<void>;
  replicaStatus(server: Server): Promise<ReplicaStatus>;
  /** Ends a client session (RDS: mysql.rds_kill, since KILL of other users' sessions needs SUPER there). */
  killConnection(server: Server, id: number): Promise<void>;
}

async function rdsKill(server: Server, id: number): Promise<void> {
  await server.query('CALL mysql.rds_kill(?)', [id]).catch((err: Error) => {
    if (!/Unknown thread id/i.test(err.message)) throw err;
  });
}

async function rdsRetention(server: Server): Promise<number | null> {
  const rows = await server.query<{ name: string; value: string | null }>('CALL mysql.rds_show_configuration');
  const flat = (Array.isArray(rows[0]) ? rows[0] : rows) as unknown as { name: string; value: string | null }[];
  const value = flat.find((r) => r.name === 'binlog retention hours')?.value;
  return value === null || value === undefined ? null : Number(value);
}

/** RDS MariaDB and RDS MySQL 8 differ in the names of the procedures; the status statement is the flavour's. */
function rdsDialect(
  name: string,
  flavour: Flavour,
  names: { setExternal: string; setExternalGtid?: string; resetExternal: string },
): ReplicationDialect {
  return {
    name,
    flavour,
    async setBinlogRetentionHours(server, hours) {
      await server.query("CALL mysql.rds_set_configuration('binlog retention hours', ?)", [hours]);
    },
    binlogRetentionHours: rdsRetention,
    async stopReplication(server) {
      await server.query('CALL mysql.rds_stop_replication');
    },
    async startReplication(server) {
      await server.query('CALL mysql.rds_start_replication');
    },
    async setExternalMaster(server, m) {
      if (m.gtid && names.setExternalGtid) {
        await server.querySecret(
          `CALL mysql.${names.setExternalGtid}(?, ?, ?, ?, ?, ?)`,
          [m.host, m.port, m.user, m.password, m.gtid, m.tls ? 1 : 0],
          `mysql.${names.setExternalGtid}`,
        );
        return;
      }
      await server.querySecret(
        `CALL mysql.${names.setExternal}(?, ?, ?, ?, ?, ?, ?)`,
        [m.host, m.port, m.user, m.password, m.position.file, m.position.pos, m.tls ? 1 : 0],
        `mysql.${names.setExternal}`,
      );
    },
    async resetExternalMaster(server) {
      await server.query(`CALL mysql.${names.resetExternal}`);
    },
    async replicaStatus(server) {
      return parseReplicaStatus(await server.one(flavour.replication.status));
    },
    killConnection: rdsKill,
  };
}

export const rdsMariadb = rdsDialect('RDS MariaDB', mariadb, {
  setExternal: 'rds_set_external_master',
  setExternalGtid: 'rds_set_external_master_gtid',
  resetExternal: 'rds_reset_external_master',
});
// RDS MySQL's auto-position needs the target's gtid_executed to cover the seed, which a logical seed does not give: file and position there.
export const rdsMysql = rdsDialect('RDS MySQL 8', mysql8, {
  setExternal: 'rds_set_external_source',
  resetExternal: 'rds_reset_external_source',
});

/** A self-managed server where the admin user may point replication itself. */
function selfManagedDialect(flavour: Flavour): ReplicationDialect {
  const sql = flavour.replication;
  // What a failed statement is called in errors: the statement's own words, never its parameters.
  const label = sql.pointByPosition.slice(0, sql.pointByPosition.indexOf(' TO ') + 3);
  return {
    name: `self-managed ${flavour.name}`,
    flavour,
    async setBinlogRetentionHours(server, hours) {
      await server.query('SET GLOBAL binlog_expire_logs_seconds = ?', [hours * 3600]);
    },
    async binlogRetentionHours(server) {
      const seconds = Number(await server.value('SELECT @@GLOBAL.binlog_expire_logs_seconds'));
      return seconds === 0 ? Infinity : seconds / 3600;
    },
    async stopReplication(server) {
      await server.query(sql.stop);
    },
    async startReplication(server) {
      await server.query(sql.start);
    },
    async setExternalMaster(server, m) {
      const params = [m.host, m.port, m.user, m.password, m.tls ? 1 : 0, CONNECT_RETRY_SECONDS];
      if (m.gtid && sql.pointByGtid) {
        await server.query(sql.pointByGtid.setGtid, [m.gtid]);
        await server.querySecret(sql.pointByGtid.change, params, label);
        return;
      }
      await server.querySecret(sql.pointByPosition, [...params, m.position.file, m.position.pos], label);
    },
    async resetExternalMaster(server) {
      await server.query(sql.stop);
      await server.query(sql.resetAll);
    },
    async replicaStatus(server) {
      return parseReplicaStatus(await server.one(sql.status));
    },
    async killConnection(server, id) {
      await server.query(`KILL CONNECTION ${Number(id)}`).catch((err: Error) => {
        if (!/Unknown thread id/i.test(err.message)) throw err;
      });
    },
  };
}

export const selfManagedMariadb = selfManagedDialect(mariadb);
export const selfManagedMysql = selfManagedDialect(mysql8);

export function dialectFor(engine: EngineFamily, serverKind: 'rds' | 'self-managed'): ReplicationDialect {
  if (serverKind === 'self-managed') return engine === 'mariadb' ? selfManagedMariadb : selfManagedMysql;
  return engine === 'mariadb' ? rdsMariadb : rdsMysql;
}
