import { ident, type Server } from './connection.js';

export interface TableShape {
  schema: string;
  name: string;
  columns: string[];
  /** Primary key columns in key order; empty when the table has none. */
  key: string[];
}

export async function tableShape(server: Server, schema: string, name: string): Promise<TableShape> {
  const columns = (
    await server.query<{ c: string }>(
      'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [schema, name],
    )
  ).map((r) => r.c);
  const key = (
    await server.query<{ c: string }>(
      "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
      [schema, name],
    )
  ).map((r) => r.c);
  return { schema, name, columns, key };
}

export interface Chunk {
  /** Inclusive bounds on the first key column; undefined = open-ended (or the whole table when both are). */
  lower?: unknown;
  upper?: unknown;
}

export function chunkWhere(shape: TableShape, chunk: Chunk): { sql: string; params: unknown[] } {
  return whereOnFirstKey(shape, [
    ['>=', chunk.lower],
    ['<=', chunk.upper],
  ]);
}

/** Rows whose first key column is above `after` and at most `upper`; a missing bound is open. */
export interface KeyRange {
  after?: unknown;
  upper?: unknown;
}

export function rangeWhere(shape: TableShape, range: KeyRange): { sql: string; params: unknown[] } {
  return whereOnFirstKey(shape, [
    ['>', range.after],
    ['<=', range.upper],
  ]);
}

function whereOnFirstKey(shape: TableShape, bounds: [string, unknown][]): { sql: string; params: unknown[] } {
  const first = shape.key[0];
  const used = first ? bounds.filter(([, value]) => value !== undefined) : [];
  return {
    sql: used.length ? `WHERE ${used.map(([op]) => `${ident(first!)} ${op} ?`).join(' AND ')}` : '',
    params: used.map(([, value]) => value),
  };
}

/**
 * Ranges of `size` rows of this server on the first primary-key column that meet end to end and are open at
 * both ends: a row another server has for the table (below this one's first key, between two of its ranges,
 * above its last) falls in exactly one of them.
 */
export async function* keyRanges(server: Server, shape: TableShape, size: number): AsyncGenerator<KeyRange> {
  const first = shape.key[0];
  if (!first) {
    yield {};
    return;
  }
  const table = `${ident(shape.schema)}.${ident(shape.name)}`;
  let after: unknown;
  for (;;) {
    const upper = await server.value(
      `SELECT ${ident(first)} FROM ${table}${after === undefined ? '' : ` WHERE ${ident(first)} > ?`} ORDER BY ${ident(first)} LIMIT 1 OFFSET ${size - 1}`,
      after === undefined ? [] : [after],
    );
    if (upper === undefined || upper === null) {
      yield after === undefined ? {} : { after };
      return;
    }
    yield after === undefined ? { upper } : { after, upper };
    after = upper;
  }
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
    const upper = await server.value(
      `SELECT ${ident(first)} FROM ${table} WHERE ${ident(first)} >= ? ORDER BY ${ident(first)} LIMIT 1 OFFSET ${size - 1}`,
      [lower],
    );
    if (upper === undefined || upper === null) {
      yield { lower };
      return;
    }
    yield { lower, upper };
    lower = await server.value(`SELECT ${ident(first)} FROM ${table} WHERE ${ident(first)} > ? ORDER BY ${ident(first)} LIMIT 1`, [upper]);
    if (lower === undefined || lower === null) return;
  }
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);

/**
 * Chunks for a copy of a table that does not change (the frozen replica): on an
 * integer key, equal-width ranges from MIN, MAX and the row estimate (no index
 * walk at all); on any other key, the index walk of `chunks`.
 */
export async function copyChunks(server: Server, shape: TableShape, size: number, estimatedRows: number): Promise<Chunk[]> {
  const first = shape.key[0];
  const type = first
    ? await server.value<string>(
        'SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?',
        [shape.schema, shape.name, first],
      )
    : undefined;
  if (!first || !type || !INTEGER_TYPES.has(type.toLowerCase())) {
    const out: Chunk[] = [];
    for await (const chunk of chunks(server, shape, size)) out.push(chunk);
    return out;
  }
  const table = `${ident(shape.schema)}.${ident(shape.name)}`;
  const bounds = await server.one<{ lo: string | null; hi: string | null }>(
    `SELECT MIN(${ident(first)}) AS lo, MAX(${ident(first)}) AS hi FROM ${table}`,
  );
  if (!bounds || bounds.lo === null || bounds.hi === null) return [{}];
  const lo = BigInt(bounds.lo);
  const hi = BigInt(bounds.hi);
  const parts = BigInt(Math.max(1, Math.ceil(estimatedRows / size)));
  const width = (hi - lo + 1n + parts - 1n) / parts;
  const out: Chunk[] = [];
  for (let start = lo; start <= hi; start += width) {
    const end = start + width - 1n;
    // The last chunk is open-ended: an estimate that was low must not leave rows behind.
    out.push(end >= hi ? { lower: start.toString() } : { lower: start.toString(), upper: end.toString() });
  }
  return out;
}
