import { ident } from '../db/connection.js';
import type { TableShape } from '../db/key-chunks.js';

/** A table's shape, and which of its columns are FLOAT. */
export interface HashedShape extends TableShape {
  floats?: readonly string[];
}

// A FLOAT prints with six significant digits (16777216 and 16777218 both read 16777200);
// widened to DOUBLE, which prints the shortest text that reads back to the same value, it prints exactly.
function valueSql(shape: HashedShape, column: string): string {
  return shape.floats?.includes(column) ? `CAST(${ident(column)} AS DOUBLE)` : ident(column);
}

/**
 * MD5 over the per-column MD5s: each column contributes exactly 32 hex
 * characters (or 'N' for NULL, which no hex digest starts with), so no value
 * can borrow a separator from its neighbour, and NULL, '' and 'NULL' differ.
 */
export function rowHashSql(shape: HashedShape): string {
  const parts = shape.columns.map((c) => `COALESCE(MD5(${valueSql(shape, c)}), 'N')`);
  return `MD5(CONCAT(${parts.join(', ')}))`;
}

/**
 * Two exact sums (DECIMAL, no overflow) of the 64-bit halves of the row hashes:
 * order-independent, and unlike a XOR, two identical rows (a table without a
 * key) add up instead of cancelling out.
 */
export function chunkChecksumSql(shape: HashedShape): string {
  const h = rowHashSql(shape);
  const half = (from: number) => `COALESCE(SUM(CAST(CONV(SUBSTRING(${h}, ${from}, 16), 16, 10) AS UNSIGNED)), 0)`;
  return `COUNT(*) AS n, ${half(1)} AS a, ${half(17)} AS b`;
}
