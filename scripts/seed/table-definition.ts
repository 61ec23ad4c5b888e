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
  /**
   * CREATE TABLE with its plain and unique secondary keys, for a table loaded in one
   * statement: MariaDB builds them, sorted, as it loads an empty table.
   * Foreign keys, FULLTEXT and SPATIAL keys still wait for the data.
   */
  createKeyed: string;
  /** `ADD …` clauses for what was taken out, applied in one ALTER TABLE once the data is in. */
  deferred: string[];
  /** Columns that take values (generated columns are computed by the target). */
  columns: ColumnInfo[];
  estimatedRows: number;
  /** Data and index bytes, from the server's statistics. */
  estimatedBytes: number;
}

// Lines of SHOW CREATE TABLE that can wait until the data is loaded: building
// an index once, sorted, is far cheaper than maintaining it row by row.
const DEFERRABLE = /^\s*((UNIQUE |FULLTEXT |SPATIAL )?KEY |CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY )/;

/**
 * Splits SHOW CREATE TABLE into the base table and the deferred clauses.
 * A key that contains the AUTO_INCREMENT column stays: the table cannot exist without it.
 */
export function splitCreateTable(createSql: string, autoIncrementColumn?: string): { base: string; keyed: string; deferred: string[] } {
  const lines = createSql.split('\n');
  const keep: string[] = [];
  const keepKeyed: string[] = [];
  const deferred: string[] = [];
  for (const line of lines) {
    const needsAuto =
      autoIncrementColumn !== undefined &&
      identifiersIn(line).includes(autoIncrementColumn) &&
      /KEY /.test(line) &&
      !/FOREIGN KEY/.test(line);
    const deferrable = DEFERRABLE.test(line) && !needsAuto;
    if (deferrable) deferred.push(`ADD ${line.trim().replace(/,$/, '')}`);
    else keep.push(line);
    if (!deferrable || SORTED_BY_LOAD.test(line)) keepKeyed.push(line);
  }
  return { base: closeColumnList(keep), keyed: closeColumnList(keepKeyed), deferred };
}

// Keys the bulk load of an empty table builds by sorting; a FULLTEXT or SPATIAL key would
// make the load maintain it row by row.
const SORTED_BY_LOAD = /^\s*(UNIQUE )?KEY /;

/** The last kept column/key line before the closing parenthesis must not end with a comma. */
function closeColumnList(lines: string[]): string {
  const out = [...lines];
  const close = out.findIndex((l) => l.startsWith(')'));
  if (close > 0) out[close - 1] = out[close - 1]!.replace(/,$/, '');
  return out.join('\n');
}

/** The backtick-quoted names in a line of SHOW CREATE TABLE, unescaped (a backtick inside a name is doubled there). */
function identifiersIn(line: string): string[] {
  return [...line.matchAll(/`((?:[^`]|``)+)`/g)].map((m) => m[1]!.replace(/``/g, '`'));
}

export async function tableDefinition(server: Server, schema: string, name: string): Promise<TableDefinition> {
  const create = String(Object.values((await server.one(`SHOW CREATE TABLE ${ident(schema)}.${ident(name)}`))!)[1]);
  const columns = await server.query<{ name: string; dataType: string; extra: string; generated: string }>(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, EXTRA AS extra, IS_GENERATED AS generated FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [schema, name],
  );
  const auto = columns.find((c) => /auto_increment/i.test(c.extra))?.name;
  const { base, keyed, deferred } = splitCreateTable(create, auto);
  const stats = await server.one<{ rows: string | null; bytes: string | null }>(
    'SELECT TABLE_ROWS AS `rows`, DATA_LENGTH + INDEX_LENGTH AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, name],
  );
  const rows = Number(stats?.rows);
  const bytes = Number(stats?.bytes);
  return {
    schema,
    name,
    createBase: base,
    createKeyed: keyed,
    deferred,
    columns: columns.map((c) => ({
      name: c.name,
      dataType: c.dataType.toLowerCase(),
      generated: c.generated === 'ALWAYS' || /VIRTUAL|STORED|PERSISTENT/i.test(c.extra),
    })),
    estimatedRows: Number.isFinite(rows) ? rows : 0,
    estimatedBytes: Number.isFinite(bytes) ? bytes : 0,
  };
}

const GEOMETRY_TYPES = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
]);
const PLAIN_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'bigint',
  'decimal',
  'double',
  'year',
  'date',
  'datetime',
  'timestamp',
  'time',
]);
const TEXT_TYPES = new Set([
  'char',
  'varchar',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'binary',
  'varbinary',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'enum',
  'set',
  'json',
]);

/** Escapes a value for LOAD DATA's defaults (tab-separated, backslash escapes), byte by byte. */
const escaped = (expr: string) =>
  `REPLACE(REPLACE(REPLACE(REPLACE(CAST(${expr} AS BINARY), 0x5C, 0x5C5C), 0x09, 0x5C74), 0x0A, 0x5C6E), 0x00, 0x5C30)`;

interface LoadColumn {
  /** What the source selects for this column: never NULL (NULL is rendered as \N). */
  select: string;
  /** The column, or a user variable with a SET that converts it, in LOAD DATA's column list. */
  target: string;
  set?: string;
}

/**
 * How each column travels as LOAD DATA text, rendered by the source server in
 * the column's own bytes (a binary session: no character set conversion on
 * either side): strings and binary data escaped, numbers and times as text,
 * FLOAT widened to DOUBLE (its 6-digit text form does not round-trip), BIT as
 * a number and geometry as hex, both converted back by a SET clause, and
 * types with a text form of their own (INET6, UUID…) as text.
 */
function loadColumn(column: ColumnInfo, i: number): LoadColumn {
  const c = ident(column.name);
  const nullable = (expr: string) => `IFNULL(${expr}, 0x5C4E)`;
  if (TEXT_TYPES.has(column.dataType)) return { select: nullable(escaped(c)), target: c };
  if (column.dataType === 'float') return { select: nullable(`CAST(${c} AS DOUBLE)`), target: c };
  if (column.dataType === 'bit')
    return { select: nullable(`CAST(${c} AS UNSIGNED)`), target: `@v${i}`, set: `${c} = CAST(@v${i} AS UNSIGNED)` };
  if (GEOMETRY_TYPES.has(column.dataType)) return { select: nullable(`HEX(${c})`), target: `@v${i}`, set: `${c} = UNHEX(@v${i})` };
  if (PLAIN_TYPES.has(column.dataType)) return { select: nullable(c), target: c };
  // INET4, INET6, UUID and other types with a text form: binary input would be read as their binary form.
  return { select: nullable(escaped(`CAST(${c} AS CHAR)`)), target: `@v${i}`, set: `${c} = CONVERT(@v${i} USING utf8mb4)` };
}

/** SELECT that returns each row as one ready-made LOAD DATA line (without its newline). */
export function loadLineSelectSql(def: TableDefinition): string {
  const cols = def.columns.filter((c) => !c.generated).map(loadColumn);
  return `SELECT CONCAT_WS(0x09, ${cols.map((c) => c.select).join(', ')}) FROM ${ident(def.schema)}.${ident(def.name)}`;
}

export function loadDataSql(def: TableDefinition): string {
  const cols = def.columns.filter((c) => !c.generated).map(loadColumn);
  const sets = cols.filter((c) => c.set).map((c) => c.set);
  return `LOAD DATA LOCAL INFILE 'rds-live-migrate-chunk' INTO TABLE ${ident(def.schema)}.${ident(def.name)} CHARACTER SET binary (${cols.map((c) => c.target).join(', ')})${sets.length ? ` SET ${sets.join(', ')}` : ''}`;
}
