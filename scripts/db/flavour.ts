import mysql from 'mysql2';
import type { Server } from './connection.js';
import { comparePositions, type BinlogPosition } from './replica-status.js';

export interface AccountRow {
  user: string;
  host: string;
  /** A role rather than a login (MariaDB's is_role; MySQL 8: a FROM_USER of role_edges). */
  role: boolean;
}

/**
 * The SQL that differs between MariaDB and MySQL 8, whoever runs the server.
 * Everything in the engine that names a flavour-specific table, variable or
 * statement asks this instead.
 */
export interface Flavour {
  readonly name: 'MariaDB' | 'MySQL 8';
  /** The leader's current binlog write position. */
  writePosition(server: Server): Promise<BinlogPosition | undefined>;
  /**
   * The leader's GTID state at a binlog position, for pointing a follower by GTID; undefined where the
   * flavour follows by file and position (MySQL 8: auto-position needs the seed in gtid_executed), null
   * when the leader cannot tell.
   */
  gtidAt(leader: Server, position: BinlogPosition): Promise<string | null | undefined>;
  /** The GTID state a follower has applied (recorded at the freeze, checked on a restored target). */
  appliedGtid(server: Server): Promise<string>;
  /** Accounts whose logins are locked. */
  lockedAccounts(server: Server): Promise<{ user: string; host: string }[]>;
  /** Every account of mysql.user with whether it is a role. */
  accounts(server: Server): Promise<AccountRow[]>;
  /** `IDENTIFIED …` clause that sets a password from its mysql_native_password hash. */
  identifiedByHash(hash: string): string;
  /** Statements of self-managed replication (RDS wraps them in procedures). */
  readonly replication: {
    status: string;
    stop: string;
    start: string;
    resetAll: string;
    /** CHANGE … TO with placeholders for host, port, user, password, ssl, connect retry, then file and position. */
    pointByPosition: string;
    /** The same by GTID (MariaDB only), after `setGtid` with the GTID as its one placeholder. */
    pointByGtid?: { setGtid: string; change: string };
  };
}

export const mariadb: Flavour = {
  name: 'MariaDB',
  async writePosition(server) {
    return positionOf(await server.one('SHOW MASTER STATUS'));
  },
  // BINLOG_GTID_POS reads the binlog file from its start, which takes long on a large file; cutover points the
  // old source inside the write stop, at the leader's current position, where @@gtid_binlog_pos is the answer
  // (the position read before and after it shows no commit came in between).
  async gtidAt(leader, position) {
    const isCurrent = async () => {
      const head = await mariadb.writePosition(leader);
      return head !== undefined && comparePositions(head, position) === 0;
    };
    if (await isCurrent()) {
      const current = await leader.value<string>('SELECT @@GLOBAL.gtid_binlog_pos');
      if (await isCurrent()) return current;
    }
    return (await leader.value<string | null>('SELECT BINLOG_GTID_POS(?, ?)', [position.file, position.pos])) ?? null;
  },
  async appliedGtid(server) {
    return String((await server.value('SELECT @@GLOBAL.gtid_slave_pos')) ?? '');
  },
  lockedAccounts(server) {
    return server.query<{ user: string; host: string }>(
      "SELECT User AS user, Host AS host FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.account_locked') IN ('true', '1')",
    );
  },
  async accounts(server) {
    const rows = await server.query<{ user: string; host: string; role: string }>(
      'SELECT User AS user, Host AS host, is_role AS role FROM mysql.user ORDER BY User, Host',
    );
    return rows.map((r) => ({ user: r.user, host: r.host, role: r.role === 'Y' }));
  },
  identifiedByHash: (hash) => mysql.format('IDENTIFIED BY PASSWORD ?', [hash]),
  replication: {
    status: 'SHOW SLAVE STATUS',
    stop: 'STOP SLAVE',
    start: 'START SLAVE',
    resetAll: 'RESET SLAVE ALL',
    pointByPosition:
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_SSL = ?, MASTER_CONNECT_RETRY = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?',
    pointByGtid: {
      setGtid: 'SET GLOBAL gtid_slave_pos = ?',
      change:
        'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_SSL = ?, MASTER_CONNECT_RETRY = ?, MASTER_USE_GTID = slave_pos',
    },
  },
};

/** MySQL 8.0.23 and later (the REPLICA/SOURCE statements); 8.4 has only SHOW BINARY LOG STATUS. */
export const mysql8: Flavour = {
  name: 'MySQL 8',
  async writePosition(server) {
    const row = await server.one('SHOW BINARY LOG STATUS').catch((err: Error) => {
      // 8.0 knows only the old statement (8.4 only the new one).
      if (!/SQL syntax/i.test(err.message)) throw err;
      return server.one('SHOW MASTER STATUS');
    });
    return positionOf(row);
  },
  async gtidAt() {
    return undefined;
  },
  async appliedGtid(server) {
    return String((await server.value('SELECT @@GLOBAL.gtid_executed')) ?? '');
  },
  lockedAccounts(server) {
    return server.query<{ user: string; host: string }>("SELECT User AS user, Host AS host FROM mysql.user WHERE account_locked = 'Y'");
  },
  async accounts(server) {
    const rows = await server.query<{ user: string; host: string; role: number | string }>(
      'SELECT u.User AS user, u.Host AS host, EXISTS (SELECT 1 FROM mysql.role_edges e WHERE e.FROM_USER = u.User AND e.FROM_HOST = u.Host) AS role FROM mysql.user u ORDER BY u.User, u.Host',
    );
    return rows.map((r) => ({ user: r.user, host: r.host, role: Number(r.role) === 1 }));
  },
  identifiedByHash: (hash) => mysql.format('IDENTIFIED WITH mysql_native_password AS ?', [hash]),
  replication: {
    status: 'SHOW REPLICA STATUS',
    stop: 'STOP REPLICA',
    start: 'START REPLICA',
    resetAll: 'RESET REPLICA ALL',
    pointByPosition:
      'CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, SOURCE_SSL = ?, SOURCE_CONNECT_RETRY = ?, SOURCE_LOG_FILE = ?, SOURCE_LOG_POS = ?',
  },
};

function positionOf(row: Record<string, unknown> | undefined): BinlogPosition | undefined {
  return row ? { file: String(row.File), pos: Number(row.Position) } : undefined;
}
