import { ident, type Row, type Server } from '../db/connection.js';
import { inList } from '../core/schema-inventory.js';
import { OperatorError } from '../support/errors.js';

// DEFINER=`user`@`host` as SHOW CREATE prints it.
const DEFINER = /DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`/;

interface ObjectSource {
  kind: 'FUNCTION' | 'PROCEDURE' | 'VIEW' | 'TRIGGER' | 'EVENT';
  schema: string;
  name: string;
}

/** The statement and the session it was created in (sql_mode, charset, time zone), from SHOW CREATE. */
async function showCreate(server: Server, o: ObjectSource): Promise<{ sql: string; session: Row }> {
  const row = (await server.one(`SHOW CREATE ${o.kind} ${ident(o.schema)}.${ident(o.name)}`))!;
  const key = {
    FUNCTION: 'Create Function',
    PROCEDURE: 'Create Procedure',
    VIEW: 'Create View',
    TRIGGER: 'SQL Original Statement',
    EVENT: 'Create Event',
  }[o.kind];
  const sql = row[key];
  if (typeof sql !== 'string' || !sql) {
    throw new OperatorError(
      `source-slave: cannot read the definition of ${o.kind.toLowerCase()} ${o.schema}.${o.name}`,
      `give the master user SELECT on mysql.proc / SHOW VIEW, or create it on the target by hand`,
      'seed',
    );
  }
  return { sql, session: row };
}

async function createIn(target: Server, o: ObjectSource, created: { sql: string; session: Row }, rewriteDefiners: boolean): Promise<void> {
  const sql = rewriteDefiners ? created.sql.replace(DEFINER, 'DEFINER=CURRENT_USER') : created.sql;
  await target.query(`USE ${ident(o.schema)}`);
  await target.query('SET SESSION sql_mode = ?', [created.session.sql_mode ?? '']);
  if (created.session.character_set_client)
    await target.query(`SET NAMES ${String(created.session.character_set_client)} COLLATE ${String(created.session.collation_connection)}`);
  if (created.session.time_zone) await target.query('SET SESSION time_zone = ?', [created.session.time_zone]);
  await target.query(`DROP ${o.kind} IF EXISTS ${ident(o.schema)}.${ident(o.name)}`);
  await target.query(sql);
}

/**
 * Routines, views, triggers and events, created after the data (so triggers
 * do not fire during the copy) with the sql_mode and character set they were
 * defined under. Views that use other views are retried until all exist.
 */
export async function copyStoredObjects(source: Server, target: Server, databases: string[], rewriteDefiners: boolean): Promise<number> {
  const list = inList(databases);
  const objects = await source.query<ObjectSource & Row>(
    `SELECT ROUTINE_TYPE AS kind, ROUTINE_SCHEMA AS \`schema\`, ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (${list})
     UNION ALL SELECT 'VIEW', TABLE_SCHEMA, TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (${list})
     UNION ALL SELECT 'TRIGGER', TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (${list})
     UNION ALL SELECT 'EVENT', EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (${list})`,
  );
  const order = ['FUNCTION', 'PROCEDURE', 'VIEW', 'TRIGGER', 'EVENT'];
  let pending: ObjectSource[] = [...objects].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  const saved = (await target.one<{ mode: string; cs: string; coll: string; tz: string }>(
    'SELECT @@SESSION.sql_mode AS mode, @@character_set_client AS cs, @@collation_connection AS coll, @@SESSION.time_zone AS tz',
  ))!;
  try {
    while (pending.length) {
      const failed: { o: ObjectSource; err: unknown }[] = [];
      for (const o of pending) {
        try {
          await createIn(target, o, await showCreate(source, o), rewriteDefiners);
        } catch (err) {
          failed.push({ o, err });
        }
      }
      // A view over a view not yet created fails once and succeeds on the next pass; no progress means a real error.
      if (failed.length === pending.length) {
        const { o, err } = failed[0]!;
        const message = err instanceof Error ? err.message : String(err);
        throw new OperatorError(
          `creating ${o.kind.toLowerCase()} ${o.schema}.${o.name} on target-master failed: ${message}`,
          /SUPER|SET USER|definer/i.test(message)
            ? 'set migration.definers to "rewrite", or recreate the object on the source with a DEFINER the target can create'
            : 'fix the cause and run again; the copy resumes',
          'seed',
        );
      }
      pending = failed.map((f) => f.o);
    }
  } finally {
    await target.query('SET SESSION sql_mode = ?, time_zone = ?', [saved.mode, saved.tz]);
    await target.query(`SET NAMES ${saved.cs} COLLATE ${saved.coll}`);
  }
  return objects.length;
}
