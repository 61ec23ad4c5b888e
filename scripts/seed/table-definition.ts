import { ident, type Server } from '../db/connection.js';

export interface ColumnInfo {
  name: string;
  dataType: string;
  generated: boolean;
}

export interface TableDefinition {
  schema: string;
  name: string;
  /** CREATE TABLE without the secondary indexes and foreign keys, which are added after the data. */
  createBase: string;
  /** `ADD …` clauses for what was taken out, applied in one ALTER TABLE once the data is in. */
  deferred: string[];
  /** Columns that take values (generated columns are computed by the target). */
  columns: ColumnInfo[];
  estimatedRows: number;
}

// Lines of SHOW CREATE TABLE that can wait until the data is loaded: building
// an index once, sorted, is far cheaper than maintaining it row by row.
const DEFERRABLE = /^\s*((UNIQUE |FULLTEXT |SPATIAL )?KEY |CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY )/;

/**
 * Splits SHOW CREATE TABLE into the base table and the deferred clauses.
 * A key that contains the AUTO_INCREMENT column stays: the table cannot exist without it.
 */
export function splitCreateTable(createSql: string, autoIncrementColumn?: string): { base: string; deferred: string[] } {
  const lines = createSql.split('\n');
  const keep: string[] = [];
  const deferred: string[] = [];
  for (const line of lines) {
    const needsAuto = autoIncrementColumn !== undefined && line.includes(`\`${autoIncrementColumn}\``) && /KEY /.test(line) && !/FOREIGN KEY/.test(line);
    if (DEFERRABLE.test(line) && !needsAuto) deferred.push(`ADD ${line.trim().replace(/,$/, '')}`);
    else keep.push(line);
  }
  // The last kept column/key line before the closing parenthesis must not end with a comma.
  const close = keep.findIndex((l) => l.startsWith(')'));
  if (close > 0) keep[close - 1] = keep[close - 1]!.replace(/,$/, '');
  return { base: keep.join('\n'), deferred };
}

export async function tableDefinition(server: Server, schema: string, name: string): Promise<TableDefinition> {
  const create = String(Object.values((await server.one(`SHOW CREATE TABLE ${ident(schema)}.${ident(name)}`))!)[1]);
  const columns = await server.query<{ name: string; dataType: string; extra: string; generated: string }>(
    "SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, EXTRA AS extra, IS_GENERATED AS generated FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    [schema, name],
  );
  const auto = columns.find((c) => /auto_increment/i.test(c.extra))?.name;
  const { base, deferred } = splitCreateTable(create, auto);
  const rows = Number(await server.value('SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, name]));
  return {
    schema,
    name,
    createBase: base,
    deferred,
    columns: columns.map((c) => ({ name: c.name, dataType: c.dataType.toLowerCase(), generated: c.generated === 'ALWAYS' || /VIRTUAL|STORED|PERSISTENT/i.test(c.extra) })),
    estimatedRows: Number.isFinite(rows) ? rows : 0,
  };
}

const HEX_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection']);

/**
 * A SQL expression that renders one column as a SQL literal, computed by the
 * source server: binary data as hex (no charset can touch it), BIT as b'…',
 * FLOAT widened to DOUBLE, everything else through QUOTE(), which also turns NULL into NULL.
 */
export function literalSql(column: ColumnInfo): string {
  const c = ident(column.name);
  if (HEX_TYPES.has(column.dataType)) return `IF(${c} IS NULL, 'NULL', IF(LENGTH(${c}) = 0, '''''', CONCAT('0x', HEX(${c}))))`;
  if (column.dataType === 'bit') return `IF(${c} IS NULL, 'NULL', CONCAT('b''', BIN(${c}), ''''))`;
  // FLOAT prints with 6 significant digits, which does not round-trip (mysqldump loses it the same way);
  // widened to DOUBLE it prints exactly, and storing that into FLOAT gives back the same value.
  if (column.dataType === 'float') return `QUOTE(CAST(${c} AS DOUBLE))`;
  return `QUOTE(${c})`;
}

/** SELECT that returns each row as one ready-made `(v1,v2,…)` tuple string. */
export function tupleSelectSql(def: TableDefinition): string {
  const cols = def.columns.filter((c) => !c.generated);
  return `SELECT CONCAT('(', CONCAT_WS(',', ${cols.map(literalSql).join(', ')}), ')') AS t FROM ${ident(def.schema)}.${ident(def.name)}`;
}

export function insertPrefixSql(def: TableDefinition): string {
  const cols = def.columns.filter((c) => !c.generated).map((c) => ident(c.name));
  return `INSERT INTO ${ident(def.schema)}.${ident(def.name)} (${cols.join(', ')}) VALUES `;
}
