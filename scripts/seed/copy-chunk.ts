import type { Server } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';
import { loadDataSql, loadLineSelectSql, type TableDefinition } from './table-definition.js';

/** Lines are handed to the loader in blocks of about this size. */
const BLOCK_BYTES = 256 * 1024;

/**
 * Copies one chunk with a single LOAD DATA LOCAL statement fed straight from
 * the source's result stream, in one transaction, so the chunk is committed
 * whole or not at all. The lines are rendered by the source server, so this process
 * only forwards bytes; memory is a block per worker, whatever the chunk size.
 */
export async function copyChunk(
  source: Server,
  target: Server,
  def: TableDefinition,
  where: { sql: string; params: unknown[] },
  onBlock: (rows: number, bytes: number) => void,
): Promise<{ rows: number; bytes: number }> {
  let bytes = 0;
  // Opened when the target asks for the data, which is when the driver starts listening to
  // it: a source that fails before then is an error of this load, not an unheard one.
  const lines = () =>
    source.lines(`${loadLineSelectSql(def)} ${where.sql}`, where.params, BLOCK_BYTES, (rows, size) => {
      bytes += size;
      onBlock(rows, size);
    });
  // The driver ends a LOAD DATA whose input failed as if the input had ended, and the
  // server then keeps what it received: only a transaction makes the chunk all or nothing.
  await target.query('START TRANSACTION');
  try {
    const result = await target.loadLocal(loadDataSql(def), [], lines);
    if (result.warnings > 0) {
      const warnings = (await target.query('SHOW WARNINGS LIMIT 3')).map((w) => String(w.Message)).join(' | ');
      throw new OperatorError(
        `target-master: loading ${def.schema}.${def.name} gave ${result.warnings} warning(s): ${warnings}`,
        'a value did not survive the copy as is; report this with the table definition',
        'seed',
      );
    }
    await target.query('COMMIT');
    return { rows: result.rows, bytes };
  } catch (err) {
    // A connection the watchdog dropped cannot roll back; the server does when it sees it gone.
    await target.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Session settings for bulk loading that RDS allows without SUPER; strict, so a value that would change is an error. */
export async function prepareLoadSession(target: Server): Promise<void> {
  await target.query(
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00', unique_checks = 0, foreign_key_checks = 0",
  );
}

/** Results in the columns' own bytes (no conversion), times in UTC. */
export async function prepareReadSession(source: Server): Promise<void> {
  await source.query("SET SESSION time_zone = '+00:00', net_write_timeout = 600, character_set_results = binary");
}
