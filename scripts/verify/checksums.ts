import { ident, type Server } from '../db/connection.js';
import { baseTables } from '../core/schema-inventory.js';

export interface TableComparison {
  table: string;
  source: string | null;
  target: string | null;
  equal: boolean;
}

// Tables are keyed by their quoted name: schema and table names may themselves hold dots.
type Named = { schema: string; name: string };
const qualified = (t: Named) => `${ident(t.schema)}.${ident(t.name)}`;

async function checksums(server: Server, tables: Named[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  // One statement per table: a single CHECKSUM TABLE over many tables holds them all open at once.
  for (const table of tables) {
    const row = await server.one<{ Checksum: string | null }>(`CHECKSUM TABLE ${qualified(table)} EXTENDED`);
    out.set(qualified(table), row?.Checksum ?? null);
  }
  return out;
}

/**
 * Whole-table checksums on both sides. Only meaningful when both are at the
 * same logical point (writes stopped and the target has applied the last event).
 */
export async function compareTableChecksums(source: Server, target: Server, databases: string[]): Promise<TableComparison[]> {
  const sourceTables = await baseTables(source, databases);
  const targetTables = await baseTables(target, databases);
  const all = [...new Set([...sourceTables, ...targetTables].map(qualified))].sort();
  const [s, t] = await Promise.all([checksums(source, sourceTables), checksums(target, targetTables)]);
  return all.map((table) => {
    const a = s.get(table) ?? null;
    const b = t.get(table) ?? null;
    return { table, source: a, target: b, equal: s.has(table) && t.has(table) && a === b };
  });
}
