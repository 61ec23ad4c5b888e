import { ident } from '../db/connection.js';
import type { TableShape } from '../db/key-chunks.js';

/**
 * MD5 over every column with an explicit NULL map, so that NULL and '' and
 * 'NULL' all hash differently and one changed byte in any column changes it.
 */
export function rowHashSql(shape: TableShape): string {
  const cols = shape.columns.map(ident);
  return `MD5(CONCAT_WS('#', ${cols.join(', ')}, CONCAT(${cols.map((c) => `ISNULL(${c})`).join(', ')})))`;
}

/** Two 64-bit XORs of the row hashes: order-independent, and a single differing row flips them. */
export function chunkChecksumSql(shape: TableShape): string {
  const h = rowHashSql(shape);
  return `COUNT(*) AS n, COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(${h}, 1, 16), 16, 10) AS UNSIGNED)), 0) AS a, COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(${h}, 17, 16), 16, 10) AS UNSIGNED)), 0) AS b`;
}
