import type { Server } from '../db/connection.js';
import { insertPrefixSql, tupleSelectSql, type TableDefinition } from './table-definition.js';

/** Multi-row INSERTs of about this size: large enough to amortize parsing, far below max_allowed_packet. */
const BATCH_BYTES = 1 << 20;

/**
 * Copies one chunk in one target transaction: either all of its rows are
 * committed or none. Rows arrive already rendered as SQL tuples by the source,
 * so this process only joins strings; memory is one batch per worker.
 */
export async function copyChunk(source: Server, target: Server, def: TableDefinition, where: { sql: string; params: unknown[] }, onBatch: (rows: number, bytes: number) => void): Promise<{ rows: number; bytes: number }> {
  const prefix = insertPrefixSql(def);
  let batch: string[] = [];
  let size = 0;
  let rows = 0;
  let bytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    await target.query(prefix + batch.join(','));
    onBatch(batch.length, size);
    rows += batch.length;
    bytes += size;
    batch = [];
    size = 0;
  };
  await target.query('START TRANSACTION');
  try {
    for await (const [tuple] of source.stream(`${tupleSelectSql(def)} ${where.sql}`, where.params)) {
      const text = String(tuple);
      batch.push(text);
      size += text.length + 1;
      if (size >= BATCH_BYTES) await flush();
    }
    await flush();
    await target.query('COMMIT');
  } catch (err) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return { rows, bytes };
}

/** Session settings for bulk loading that RDS allows without SUPER. */
export async function prepareLoadSession(target: Server): Promise<void> {
  await target.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00', unique_checks = 0, foreign_key_checks = 0");
}

export async function prepareReadSession(source: Server): Promise<void> {
  await source.query("SET SESSION time_zone = '+00:00', net_write_timeout = 600");
}
