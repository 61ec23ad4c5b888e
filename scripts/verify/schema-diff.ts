import { account, type Server } from '../db/connection.js';
import { inList } from '../core/schema-inventory.js';

export interface SchemaDifference {
  kind: 'table' | 'column' | 'index' | 'routine' | 'trigger' | 'view' | 'event' | 'user';
  name: string;
  detail: string;
}

/** `schema`.`name` built by the server, backticks doubled: 'a.b'+'c' and 'a'+'b.c' stay two names. */
function qualified(...columns: string[]): string {
  return `CONCAT_WS('.', ${columns.map((c) => `CONCAT('\`', REPLACE(${c}, '\`', '\`\`'), '\`')`).join(', ')})`;
}

// One query per object kind; each row is (name, the definition that must match).
// Event STATUS is left out: events are deliberately disabled on the target until cutover.
// Definers are left out: migration.definers = rewrite changes them on purpose.
const inventories: Record<Exclude<SchemaDifference['kind'], 'user'>, (list: string) => string> = {
  table: (l) =>
    `SELECT ${qualified('TABLE_SCHEMA', 'TABLE_NAME')} AS name, CONCAT_WS(' ', TABLE_TYPE, ENGINE, TABLE_COLLATION) AS def FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${l})`,
  column: (l) =>
    `SELECT ${qualified('TABLE_SCHEMA', 'TABLE_NAME', 'COLUMN_NAME')} AS name, CONCAT_WS(' ', ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COALESCE(COLUMN_DEFAULT, 'no default'), EXTRA, COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, ''), COALESCE(GENERATION_EXPRESSION, '')) AS def FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (${l})`,
  index: (l) =>
    `SELECT ${qualified('TABLE_SCHEMA', 'TABLE_NAME', 'INDEX_NAME')} AS name, CONCAT(NON_UNIQUE, ' ', INDEX_TYPE, ' ', GROUP_CONCAT(COLUMN_NAME, '(', COALESCE(SUB_PART, ''), ')' ORDER BY SEQ_IN_INDEX)) AS def FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN (${l}) GROUP BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, INDEX_TYPE`,
  routine: (l) =>
    `SELECT CONCAT(${qualified('ROUTINE_SCHEMA', 'ROUTINE_NAME')}, ' ', ROUTINE_TYPE) AS name, CONCAT_WS(' ', DTD_IDENTIFIER, SQL_DATA_ACCESS, SECURITY_TYPE, ROUTINE_DEFINITION) AS def FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (${l})`,
  trigger: (l) =>
    `SELECT ${qualified('TRIGGER_SCHEMA', 'TRIGGER_NAME')} AS name, CONCAT_WS(' ', ACTION_TIMING, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_STATEMENT) AS def FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (${l})`,
  view: (l) =>
    `SELECT ${qualified('TABLE_SCHEMA', 'TABLE_NAME')} AS name, CONCAT_WS(' ', SECURITY_TYPE, VIEW_DEFINITION) AS def FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (${l})`,
  event: (l) =>
    `SELECT ${qualified('EVENT_SCHEMA', 'EVENT_NAME')} AS name, CONCAT_WS(' ', EVENT_TYPE, INTERVAL_VALUE, INTERVAL_FIELD, EVENT_DEFINITION) AS def FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (${l})`,
};

async function inventory(server: Server, sql: string): Promise<Map<string, string>> {
  return new Map((await server.query<{ name: string; def: string }>(sql)).map((r) => [r.name, String(r.def)]));
}

function diffMaps(kind: SchemaDifference['kind'], source: Map<string, string>, target: Map<string, string>): SchemaDifference[] {
  const out: SchemaDifference[] = [];
  for (const [name, def] of source) {
    if (!target.has(name)) out.push({ kind, name, detail: 'missing on target' });
    else if (target.get(name) !== def)
      out.push({ kind, name, detail: `source: ${def.slice(0, 120)} | target: ${target.get(name)!.slice(0, 120)}` });
  }
  for (const name of target.keys()) if (!source.has(name)) out.push({ kind, name, detail: 'only on target' });
  return out;
}

/** Tables, columns, indexes, routines, triggers, views and events of the migrated databases. */
export async function diffSchema(source: Server, target: Server, databases: string[]): Promise<SchemaDifference[]> {
  const list = inList(databases);
  const out: SchemaDifference[] = [];
  for (const [kind, sql] of Object.entries(inventories) as [Exclude<SchemaDifference['kind'], 'user'>, (l: string) => string][]) {
    const [s, t] = await Promise.all([inventory(source, sql(list)), inventory(target, sql(list))]);
    out.push(...diffMaps(kind, s, t));
  }
  return out;
}

/** Application users and their grants (password hashes included, as SHOW GRANTS prints them). */
export async function diffUsers(source: Server, target: Server, users: { user: string; host: string }[]): Promise<SchemaDifference[]> {
  const grants = async (server: Server, u: { user: string; host: string }) => {
    try {
      return (await server.query(`SHOW GRANTS FOR ?@?`, [u.user, u.host]))
        .map((r) => String(Object.values(r)[0]))
        .sort()
        .join('\n');
    } catch (err) {
      // 1141: no such grant (the account is not there); anything else is a failure to report, not a missing user.
      if ((err as { errno?: number }).errno === 1141 || /There is no such grant/.test((err as Error).message)) return undefined;
      throw err;
    }
  };
  const out: SchemaDifference[] = [];
  for (const u of users) {
    const [s, t] = await Promise.all([grants(source, u), grants(target, u)]);
    const name = account(u.user, u.host);
    if (t === undefined) out.push({ kind: 'user', name, detail: 'missing on target' });
    else if (s !== t) out.push({ kind: 'user', name, detail: 'grants differ' });
  }
  return out;
}
