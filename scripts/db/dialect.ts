import type { EngineFamily } from '../../config/schema.js';
import type { Server } from './connection.js';
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
 * How replication is driven on a kind of server. RDS gives the master user no
 * SUPER, so there everything goes through the mysql.rds_* procedures.
 */
export interface ReplicationDialect {
  readonly name: string;
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

/** RDS MariaDB and RDS MySQL 8 differ only in the names of the procedures and of the status statement. */
function rdsDialect(
  name: string,
  names: { setExternal: string; setExternalGtid?: string; resetExternal: string; status: string },
): ReplicationDialect {
  return {
    name,
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
      return parseReplicaStatus(await server.one(names.status));
    },
    killConnection: rdsKill,
  };
}

// RDS MySQL's auto-position needs the target's gtid_executed to cover the seed, which a logical seed does not give: file and position there.
export const rdsMariadb = rdsDialect('RDS MariaDB', {
  setExternal: 'rds_set_external_master',
  setExternalGtid: 'rds_set_external_master_gtid',
  resetExternal: 'rds_reset_external_master',
  status: 'SHOW SLAVE STATUS',
});
export const rdsMysql = rdsDialect('RDS MySQL 8', {
  setExternal: 'rds_set_external_source',
  resetExternal: 'rds_reset_external_source',
  status: 'SHOW REPLICA STATUS',
});

/** A self-managed MariaDB/MySQL where the admin user may run CHANGE MASTER itself. */
export const selfManaged: ReplicationDialect = {
  name: 'self-managed',
  async setBinlogRetentionHours(server, hours) {
    await server.query('SET GLOBAL binlog_expire_logs_seconds = ?', [hours * 3600]);
  },
  async binlogRetentionHours(server) {
    const seconds = Number(await server.value('SELECT @@GLOBAL.binlog_expire_logs_seconds'));
    return seconds === 0 ? Infinity : seconds / 3600;
  },
  async stopReplication(server) {
    await server.query('STOP SLAVE');
  },
  async startReplication(server) {
    await server.query('START SLAVE');
  },
  async setExternalMaster(server, m) {
    const common =
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_SSL = ?, MASTER_CONNECT_RETRY = ?';
    const params = [m.host, m.port, m.user, m.password, m.tls ? 1 : 0, CONNECT_RETRY_SECONDS];
    if (m.gtid) {
      await server.query('SET GLOBAL gtid_slave_pos = ?', [m.gtid]);
      await server.querySecret(`${common}, MASTER_USE_GTID = slave_pos`, params, 'CHANGE MASTER TO');
      return;
    }
    await server.querySecret(
      `${common}, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?`,
      [...params, m.position.file, m.position.pos],
      'CHANGE MASTER TO',
    );
  },
  async resetExternalMaster(server) {
    await server.query('STOP SLAVE');
    await server.query('RESET SLAVE ALL');
  },
  async replicaStatus(server) {
    return parseReplicaStatus(await server.one('SHOW SLAVE STATUS'));
  },
  async killConnection(server, id) {
    await server.query(`KILL CONNECTION ${Number(id)}`).catch((err: Error) => {
      if (!/Unknown thread id/i.test(err.message)) throw err;
    });
  },
};

export function dialectFor(engine: EngineFamily, serverKind: 'rds' | 'self-managed'): ReplicationDialect {
  if (serverKind === 'self-managed') return selfManaged;
  return engine === 'mariadb' ? rdsMariadb : rdsMysql;
}
