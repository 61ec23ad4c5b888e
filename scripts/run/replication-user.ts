import type { Flavour } from '../db/flavour.js';
import { account, type Server } from '../db/connection.js';
import { nativePasswordHash, randomPassword } from '../support/password.js';
import type { MigrationContext } from '../core/context.js';

/**
 * Statements that create or re-key the replication user. The password goes
 * over the wire and into the binlog only as its hash.
 */
export function replicationUserStatements(flavour: Flavour, user: string, passwordHash: string, tls: boolean): string[] {
  const requirement = tls ? 'REQUIRE SSL' : 'REQUIRE NONE';
  const identified = flavour.identifiedByHash(passwordHash);
  const who = account(user, '%');
  return [
    `CREATE USER IF NOT EXISTS ${who} ${identified} ${requirement}`,
    `ALTER USER ${who} ${identified} ${requirement}`,
    `GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO ${who}`,
  ];
}

/**
 * Creates the replication user (or gives it a new password) on the given
 * servers and keeps the password in memory only. It is also created on the
 * target, so that a later change of it on the source replicates cleanly and
 * so that the old source can follow the target after cutover.
 */
export async function ensureReplicationUser(ctx: MigrationContext, servers: Server[]): Promise<string> {
  const password = randomPassword();
  await applyReplicationUser(ctx, servers, password);
  ctx.replicationPassword = password;
  return password;
}

/** Creates the replication user with a known password (its hash) on more servers. */
export async function applyReplicationUser(ctx: MigrationContext, servers: Server[], password: string): Promise<void> {
  const statements = replicationUserStatements(
    ctx.dialect.flavour,
    ctx.config.migration.replicationUser,
    nativePasswordHash(password),
    ctx.config.migration.requireTls,
  );
  for (const server of servers) for (const sql of statements) await server.query(sql);
}
