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

/**
 * Two exact sums (DECIMAL, no overflow) of the 64-bit halves of the row hashes:
 * order-independent, and unlike a XOR, two identical rows (a table without a
 * key) add up instead of cancelling out.
 */
export function chunkChecksumSql(shape: TableShape): string {
  const h = rowHashSql(shape);
  const half = (from: number) => `COALESCE(SUM(CAST(CONV(SUBSTRING(${h}, ${from}, 16), 16, 10) AS UNSIGNED)), 0)`;
  return `COUNT(*) AS n, ${half(1)} AS a, ${half(17)} AS b`;
}
