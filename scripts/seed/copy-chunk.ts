import { Readable } from 'node:stream';
import type { Server } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';
import { loadDataSql, loadLineSelectSql, type TableDefinition } from './table-definition.js';

/** Lines are handed to the loader in blocks of about this size. */
const BLOCK_BYTES = 256 * 1024;

/**
 * Copies one chunk with a single LOAD DATA LOCAL statement fed straight from
 * the source's result stream: one statement, so the chunk is committed whole
 * or not at all. The lines are rendered by the source server, so this process
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
  async function* lines(): AsyncGenerator<Buffer> {
    let block: Buffer[] = [];
    let size = 0;
    let rows = 0;
    for await (const [line] of source.stream(`${loadLineSelectSql(def)} ${where.sql}`, where.params)) {
      const buf = line as Buffer;
      block.push(buf, NEWLINE);
      size += buf.length + 1;
      rows += 1;
      if (size >= BLOCK_BYTES) {
        yield Buffer.concat(block, size);
        onBlock(rows, size);
        bytes += size;
        block = [];
        size = 0;
        rows = 0;
      }
    }
    if (size) {
      yield Buffer.concat(block, size);
      onBlock(rows, size);
      bytes += size;
    }
  }
  const result = await target.loadLocal(loadDataSql(def), [], Readable.from(lines(), { objectMode: false }));
  if (result.warnings > 0) {
    const warnings = (await target.query('SHOW WARNINGS LIMIT 3')).map((w) => String(w.Message)).join(' | ');
    throw new OperatorError(
      `target-master: loading ${def.schema}.${def.name} gave ${result.warnings} warning(s): ${warnings}`,
      'a value did not survive the copy as is; report this with the table definition',
      'seed',
    );
  }
  return { rows: result.rows, bytes };
}

const NEWLINE = Buffer.from('\n');

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
