import type { EngineFamily } from '../../config/schema.js';
import type { Server } from './connection.js';
import { parseReplicaStatus, type BinlogPosition, type ReplicaStatus } from './replica-status.js';

export interface ExternalMaster {
  host: string;
  port: number;
  user: string;
  password: string;
  position: BinlogPosition;
  tls: boolean;
}

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
function rdsDialect(name: string, names: { setExternal: string; resetExternal: string; status: string }): ReplicationDialect {
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
      await server.querySecret(`CALL mysql.${names.setExternal}(?, ?, ?, ?, ?, ?, ?)`, [m.host, m.port, m.user, m.password, m.position.file, m.position.pos, m.tls ? 1 : 0], `mysql.${names.setExternal}`);
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

export const rdsMariadb = rdsDialect('RDS MariaDB', { setExternal: 'rds_set_external_master', resetExternal: 'rds_reset_external_master', status: 'SHOW SLAVE STATUS' });
export const rdsMysql = rdsDialect('RDS MySQL 8', { setExternal: 'rds_set_external_source', resetExternal: 'rds_reset_external_source', status: 'SHOW REPLICA STATUS' });

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
    await server.querySecret(
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?, MASTER_SSL = ?',
      [m.host, m.port, m.user, m.password, m.position.file, m.position.pos, m.tls ? 1 : 0],
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
