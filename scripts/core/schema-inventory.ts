import { ident, literals, type Server } from '../db/connection.js';

/** Schemas that belong to the server, never to the application; RDS keeps its own objects in mysql. */
export const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

export async function applicationDatabases(server: Server, configured?: string[]): Promise<string[]> {
  const all = (
    await server.query<{ name: string }>('SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME')
  ).map((r) => r.name);
  if (configured) return configured;
  return all.filter((name) => !SYSTEM_SCHEMAS.includes(name.toLowerCase()));
}

export function inList(databases: string[]): string {
  return literals(databases);
}

/** Rows and data + index bytes of the base tables, as information_schema reports them (InnoDB estimates rows). */
export async function dataSize(server: Server, databases: string[]): Promise<{ rows: number; bytes: number }> {
  const row = (await server.one<{ rows: number | string; bytes: number | string }>(
    `SELECT COALESCE(SUM(TABLE_ROWS), 0) AS \`rows\`, COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) AS bytes
       FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA IN (${inList(databases)})`,
  ))!;
  return { rows: Number(row.rows), bytes: Number(row.bytes) };
}

export interface TableInfo {
  schema: string;
  name: string;
  engine: string;
  hasPrimaryKey: boolean;
}

export async function baseTables(server: Server, databases: string[]): Promise<TableInfo[]> {
  const rows = await server.query<{ schema: string; name: string; engine: string; pk: string | number }>(
    `SELECT t.TABLE_SCHEMA AS \`schema\`, t.TABLE_NAME AS name, t.ENGINE AS engine,
            EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS c
                    WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY') AS pk
       FROM information_schema.TABLES t
      WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA IN (${inList(databases)})
      ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME`,
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name, engine: r.engine, hasPrimaryKey: Number(r.pk) === 1 }));
}

export interface StoredObject {
  kind: 'routine' | 'trigger' | 'view' | 'event';
  schema: string;
  name: string;
  definer: string;
}

export async function storedObjects(server: Server, databases: string[]): Promise<StoredObject[]> {
  const list = inList(databases);
  return server.query<StoredObject & Record<string, unknown>>(
    `SELECT 'routine' AS kind, ROUTINE_SCHEMA AS \`schema\`, ROUTINE_NAME AS name, DEFINER AS definer FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (${list})
     UNION ALL SELECT 'trigger', TRIGGER_SCHEMA, TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (${list})
     UNION ALL SELECT 'view', TABLE_SCHEMA, TABLE_NAME, DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (${list})
     UNION ALL SELECT 'event', EVENT_SCHEMA, EVENT_NAME, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (${list})`,
  );
}

export interface EventInfo {
  schema: string;
  name: string;
  status: string;
}

export async function events(server: Server, databases: string[]): Promise<EventInfo[]> {
  return server.query<EventInfo & Record<string, unknown>>(
    `SELECT EVENT_SCHEMA AS \`schema\`, EVENT_NAME AS name, STATUS AS status FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (${inList(databases)}) ORDER BY 1, 2`,
  );
}

export async function rowCount(server: Server, schema: string, table: string): Promise<number> {
  return Number(await server.value(`SELECT COUNT(*) FROM ${ident(schema)}.${ident(table)}`));
}
