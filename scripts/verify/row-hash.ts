import { ident } from '../db/connection.js';
import type { TableShape } from '../db/key-chunks.js';

/**
 * MD5 over the per-column MD5s: each column contributes exactly 32 hex
 * characters (or 'N' for NULL, which no hex digest starts with), so no value
 * can borrow a separator from its neighbour, and NULL, '' and 'NULL' differ.
 */
export function rowHashSql(shape: TableShape): string {
  const parts = shape.columns.map((c) => `COALESCE(MD5(${ident(c)}), 'N')`);
  return `MD5(CONCAT(${parts.join(', ')}))`;
}

/** Two 64-bit XORs of the row hashes: order-independent, and a single differing row flips them. */
export function chunkChecksumSql(shape: TableShape): string {
  const h = rowHashSql(shape);
  return `COUNT(*) AS n, COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(${h}, 1, 16), 16, 10) AS UNSIGNED)), 0) AS a, COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(${h}, 17, 16), 16, 10) AS UNSIGNED)), 0) AS b`;
}
