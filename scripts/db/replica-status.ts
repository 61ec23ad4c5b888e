import type { Row, Server } from './connection.js';

import type { BinlogPosition } from '../core/journal-format.js';

export type { BinlogPosition } from '../core/journal-format.js';

/** SHOW SLAVE STATUS / SHOW REPLICA STATUS, with MariaDB's and MySQL 8's names folded together. */
export interface ReplicaStatus {
  configured: boolean;
  ioRunning: string;
  sqlRunning: boolean;
  masterHost: string;
  masterPort: number;
  masterServerId: number;
  /** How far the IO thread has read (may be ahead of what was applied). */
  read: BinlogPosition;
  /** How far the SQL thread has applied: the only safe point to resume from. */
  executed: BinlogPosition;
  secondsBehind: number | null;
  lastIoError: string;
  lastIoErrno: number;
  lastSqlError: string;
  lastSqlErrno: number;
}

const pick = (row: Row, ...names: string[]): unknown => names.map((n) => row[n]).find((v) => v !== undefined);

export function parseReplicaStatus(row: Row | undefined): ReplicaStatus {
  if (!row) {
    return {
      configured: false,
      ioRunning: 'No',
      sqlRunning: false,
      masterHost: '',
      masterPort: 0,
      masterServerId: 0,
      read: { file: '', pos: 0 },
      executed: { file: '', pos: 0 },
      secondsBehind: null,
      lastIoError: '',
      lastIoErrno: 0,
      lastSqlError: '',
      lastSqlErrno: 0,
    };
  }
  const behind = pick(row, 'Seconds_Behind_Master', 'Seconds_Behind_Source');
  return {
    configured: true,
    ioRunning: String(pick(row, 'Slave_IO_Running', 'Replica_IO_Running') ?? 'No'),
    sqlRunning: pick(row, 'Slave_SQL_Running', 'Replica_SQL_Running') === 'Yes',
    masterHost: String(pick(row, 'Master_Host', 'Source_Host') ?? ''),
    masterPort: Number(pick(row, 'Master_Port', 'Source_Port') ?? 0),
    masterServerId: Number(pick(row, 'Master_Server_Id', 'Source_Server_Id') ?? 0),
    read: {
      file: String(pick(row, 'Master_Log_File', 'Source_Log_File') ?? ''),
      pos: Number(pick(row, 'Read_Master_Log_Pos', 'Read_Source_Log_Pos') ?? 0),
    },
    executed: {
      file: String(pick(row, 'Relay_Master_Log_File', 'Relay_Source_Log_File') ?? ''),
      pos: Number(pick(row, 'Exec_Master_Log_Pos', 'Exec_Source_Log_Pos') ?? 0),
    },
    secondsBehind: behind === null || behind === undefined ? null : Number(behind),
    lastIoError: String(pick(row, 'Last_IO_Error') ?? ''),
    lastIoErrno: Number(pick(row, 'Last_IO_Errno') ?? 0),
    lastSqlError: String(pick(row, 'Last_SQL_Error') ?? ''),
    lastSqlErrno: Number(pick(row, 'Last_SQL_Errno') ?? 0),
  };
}

/** Compares binlog positions: negative when a is before b. */
export function comparePositions(a: BinlogPosition, b: BinlogPosition): number {
  return a.file === b.file ? a.pos - b.pos : a.file < b.file ? -1 : 1;
}

export function formatPosition(p: BinlogPosition): string {
  return `${p.file}:${p.pos}`;
}

/** Bytes of binlog between two positions, using the file sizes the source lists. */
export async function bytesBetween(source: Server, from: BinlogPosition, to: BinlogPosition): Promise<number> {
  if (from.file === to.file) return Math.max(0, to.pos - from.pos);
  const logs = await source.query<{ Log_name: string; File_size: string }>('SHOW BINARY LOGS');
  let bytes = 0;
  for (const log of logs) {
    if (log.Log_name < from.file || log.Log_name > to.file) continue;
    if (log.Log_name === from.file) bytes += Number(log.File_size) - from.pos;
    else if (log.Log_name === to.file) bytes += to.pos;
    else bytes += Number(log.File_size);
  }
  return bytes;
}

/**
 * What a replication error means for the operator. Transient faults heal by
 * restarting replication; the others need a person, each a different one.
 */
export type ReplicationFault = 'network' | 'auth' | 'binlog-gone' | 'apply' | 'unknown';

/**
 * Errnos a restart of replication recovers from: the link dropped or was refused
 * (2002, 2003, 2006, 2013, 2026 TLS handshake cut short, 1040 too many connections,
 * 1158-1161 network read/write), or the relay log broke because of it (1594 read,
 * 1595 write: an event group cut in the middle, re-fetched whole with GTID).
 */
export const TRANSIENT_REPLICATION_ERRNOS: readonly number[] = [
  1040, 1158, 1159, 1160, 1161, 1594, 1595, 2002, 2003, 2005, 2006, 2013, 2026,
];
const AUTH_ERRNOS: readonly number[] = [1045, 1044, 1251, 2061, 3159];

/** 1236 is "fatal error reading the binlog": only a missing file or GTID means the position is gone. */
export function isBinlogGone(errno: number, message: string): boolean {
  return (
    errno === 1236 &&
    /could not find first log file|purged|not in the master's binlog|could not find gtid|which is not in the master|binary log.*not found/i.test(
      message,
    )
  );
}

export function classifyReplicationError(errno: number, message: string, thread: 'io' | 'sql'): ReplicationFault {
  if (isBinlogGone(errno, message)) return 'binlog-gone';
  if (TRANSIENT_REPLICATION_ERRNOS.includes(errno)) return 'network';
  if (AUTH_ERRNOS.includes(errno) || /access denied/i.test(message)) return 'auth';
  return thread === 'sql' ? 'apply' : 'unknown';
}
