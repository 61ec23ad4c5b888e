import { account, type Server } from '../db/connection.js';
import type { MigrationContext } from '../core/context.js';

export interface Account {
  user: string;
  host: string;
}

// Accounts that belong to RDS or to the server itself, never to the application.
const SYSTEM_USERS = [
  'root',
  'rdsadmin',
  'rdsrepladmin',
  'rdstopmgr',
  'mariadb.sys',
  'mysql.sys',
  'mysql.session',
  'mysql.infoschema',
  'mysql.rdsadmin',
  'PUBLIC',
  '',
];

/** Users of the application: everything but system accounts, the master users and our replication user. */
export async function applicationUsers(server: Server, ctx: MigrationContext): Promise<Account[]> {
  const skip = new Set([
    ...SYSTEM_USERS,
    ctx.config.source.masterUsername,
    ctx.config.target.masterUsername,
    ctx.config.migration.replicationUser,
  ]);
  const rows = await ctx.dialect.flavour.accounts(server);
  return rows.filter((r) => !skip.has(r.user) && !r.role).map((r) => ({ user: r.user, host: r.host }));
}

/**
 * Recreates the application users on the target with their password hashes
 * and grants. It reads them from the frozen replica, so they are exactly as of
 * the executed position: user changes on the source after it then replicate
 * onto them once, as every other change does.
 */
export async function copyUsers(ctx: MigrationContext): Promise<{ users: string[] }> {
  const from = await ctx.server('source-slave');
  const target = await ctx.server('target-master');
  const accounts = await applicationUsers(from, ctx);
  for (const a of accounts) {
    const [create] = await from.query(`SHOW CREATE USER ?@?`, [a.user, a.host]);
    const createSql = String(Object.values(create!)[0]).replace(/^CREATE USER /, 'CREATE USER IF NOT EXISTS ');
    await target.query(createSql);
    for (const row of await from.query(`SHOW GRANTS FOR ?@?`, [a.user, a.host])) {
      const grant = String(Object.values(row)[0]);
      // The USAGE line carries the password, which CREATE USER already set.
      if (/^GRANT USAGE ON \*\.\* TO/.test(grant)) continue;
      await target.query(grant);
    }
  }
  ctx.log.info(`users: recreated ${accounts.length} application user(s) on target-master with their password hashes and grants`);
  return { users: accounts.map((a) => account(a.user, a.host)) };
}
