import type { Connection } from 'mysql2/promise';

export const BENCH_DATABASE = 'bench';
export const BENCH_TABLES = ['t1', 't2', 't3', 't4'];

/**
 * The runbook's measuring set: 4 tables with a secondary index, `rowsPerTable`
 * rows each (~280 bytes a row: 500k rows a table is about 0.5 GB in all).
 * Generated server-side without binlogging, as root on the source's socket.
 */
export async function createBenchData(root: Connection, rowsPerTable: number): Promise<void> {
  await root.query('SET SESSION sql_log_bin = 0');
  await root.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE}`);
  await root.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  for (const t of BENCH_TABLES) {
    await root.query(`CREATE TABLE ${BENCH_DATABASE}.${t} (
      id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
      account INT NOT NULL,
      label VARCHAR(64) NOT NULL,
      body VARCHAR(255) NULL,
      amount DECIMAL(12,2) NOT NULL,
      created DATETIME NOT NULL,
      KEY ix_account (account)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
    await root.query(`INSERT INTO ${BENCH_DATABASE}.${t}
      SELECT seq, seq * 7919 % 100000, CONCAT('label-', seq, '-', MD5(seq)), IF(seq % 10 = 0, NULL, CONCAT(REPEAT(SHA2(seq, 256), 2), ' ñ ', seq)),
             (seq * 31 % 1000000) / 100, '2020-01-01' + INTERVAL (seq % 100000) MINUTE
        FROM ${BENCH_DATABASE}.seq_1_to_${rowsPerTable}`);
  }
}
