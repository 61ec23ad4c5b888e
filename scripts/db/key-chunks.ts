import { ident, type Server } from './connection.js';

export interface TableShape {
  schema: string;
  name: string;
  columns: string[];
  /** Primary key columns in key order; empty when the table has none. */
  key: string[];
}

export async function tableShape(server: Server, schema: string, name: string): Promise<TableShape> {
  const columns = (await server.query<{ c: string }>('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [schema, name])).map((r) => r.c);
  const key = (await server.query<{ c: string }>("SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX", [schema, name])).map((r) => r.c);
  return { schema, name, columns, key };
}

export interface Chunk {
  /** Inclusive bounds on the first key column; undefined = open-ended (or the whole table when both are). */
  lower?: unknown;
  upper?: unknown;
}

export function chunkWhere(shape: TableShape, chunk: Chunk): { sql: string; params: unknown[] } {
  const first = shape.key[0];
  const parts: string[] = [];
  const params: unknown[] = [];
  if (first && chunk.lower !== undefined) {
    parts.push(`${ident(first)} >= ?`);
    params.push(chunk.lower);
  }
  if (first && chunk.upper !== undefined) {
    parts.push(`${ident(first)} <= ?`);
    params.push(chunk.upper);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/**
 * Chunk boundaries on the first primary-key column, read by walking the index
 * (never a full scan in one query). Composite keys are chunked on their first column.
 */
export async function* chunks(server: Server, shape: TableShape, size: number): AsyncGenerator<Chunk> {
  const first = shape.key[0];
  if (!first) {
    yield {};
    return;
  }
  const table = `${ident(shape.schema)}.${ident(shape.name)}`;
  let lower = await server.value(`SELECT MIN(${ident(first)}) FROM ${table}`);
  if (lower === null || lower === undefined) {
    yield {};
    return;
  }
  for (;;) {
    const upper = await server.value(`SELECT ${ident(first)} FROM ${table} WHERE ${ident(first)} >= ? ORDER BY ${ident(first)} LIMIT 1 OFFSET ${size - 1}`, [lower]);
    if (upper === undefined || upper === null) {
      yield { lower };
      return;
    }
    yield { lower, upper };
    lower = await server.value(`SELECT ${ident(first)} FROM ${table} WHERE ${ident(first)} > ? ORDER BY ${ident(first)} LIMIT 1`, [upper]);
    if (lower === undefined || lower === null) return;
  }
}
