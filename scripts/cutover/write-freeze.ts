import { ident, type Server } from '../db/connection.js';
import type { MigrationContext } from '../core/context.js';
import type { Account } from '../run/copy-users.js';
import type { EventInfo } from '../core/schema-inventory.js';
import { OperatorError } from '../support/errors.js';
import { setTimeout as delay } from 'node:timers/promises';

// How writes are stopped on a server where nobody has SUPER: the application's
// accounts are locked (new logins fail), their sessions are ended with
// mysql.rds_kill (open transactions roll back), and its scheduled events are
// disabled. Unlocking reverses it. Both are safe to repeat.
// Names travel as placeholders: a hand-quoted literal breaks on a backslash.
// IF EXISTS: an account dropped since the list was read is skipped, not an error.

export async function unlockedAccounts(ctx: MigrationContext, server: Server, accounts: Account[]): Promise<Account[]> {
  if (!accounts.length) return [];
  const locked = new Set((await ctx.dialect.flavour.lockedAccounts(server)).map((r) => JSON.stringify([r.user, r.host])));
  return accounts.filter((a) => !locked.has(JSON.stringify([a.user, a.host])));
}

export async function lockAccounts(server: Server, accounts: Account[]): Promise<void> {
  for (const a of accounts) await server.query('ALTER USER IF EXISTS ?@? ACCOUNT LOCK', [a.user, a.host]);
}

/** How the unlock shows in the binlog: the switch finds its end there. */
export const UNLOCK_STATEMENT = /\bALTER USER\b.*\bACCOUNT UNLOCK\s*$/is;

/** One statement for all: the application can write only after it, never between two accounts' unlocks. */
export async function unlockAccounts(server: Server, accounts: Account[]): Promise<void> {
  if (!accounts.length) return;
  await server.query(
    `ALTER USER IF EXISTS ${accounts.map(() => '?@?').join(', ')} ACCOUNT UNLOCK`,
    accounts.flatMap((a) => [a.user, a.host]),
  );
}

/**
 * The sessions a freeze ends: the accounts' own, and every event run under way in the databases. Disabling an
 * event does not stop a run that started; one whose definer is no application account (the master user, as is
 * common on RDS) would commit after the drain read the final position, on this side only. An event run shows
 * as a 'Connect' session of its definer in its schema; a client still logging in has no user yet.
 */
async function sessionsToEnd(server: Server, users: string[], databases: string[]): Promise<{ id: string }[]> {
  const byUser = users.length ? 'USER IN (?)' : 'FALSE';
  const eventRun = databases.length ? "(COMMAND = 'Connect' AND USER <> 'unauthenticated user' AND DB IN (?))" : 'FALSE';
  return server.query<{ id: string }>(
    `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE (${byUser} OR ${eventRun}) AND ID <> CONNECTION_ID()`,
    [...(users.length ? [users] : []), ...(databases.length ? [databases] : [])],
  );
}

/** Ends those sessions and waits until they are gone (their open transactions roll back). */
export async function endSessions(
  ctx: MigrationContext,
  server: Server,
  accounts: Account[],
  databases: string[],
  timeoutMs = 10_000,
): Promise<number> {
  const users = [...new Set(accounts.map((a) => a.user))];
  if (!users.length && !databases.length) return 0;
  const deadline = Date.now() + timeoutMs;
  let killed = 0;
  for (;;) {
    const sessions = await sessionsToEnd(server, users, databases);
    if (!sessions.length) return killed;
    if (Date.now() > deadline) {
      throw new OperatorError(
        `${server.where}: ${sessions.length} application session(s) or event run(s) still open ${timeoutMs / 1000} s after being killed`,
        'a long rollback may be running; check SHOW PROCESSLIST and run the same command again',
        'freeze',
      );
    }
    for (const s of sessions) await ctx.dialect.killConnection(server, Number(s.id));
    killed += sessions.length;
    await delay(20);
  }
}

/** Alters each event; one that is gone by the time its turn comes (it dropped itself, or was dropped) is skipped. */
export async function setEvents(server: Server, events: EventInfo[], state: 'ENABLE' | 'DISABLE'): Promise<void> {
  for (const e of events) {
    try {
      await server.query(`ALTER EVENT ${ident(e.schema)}.${ident(e.name)} ${state}`);
    } catch (err) {
      if (!/Unknown event/i.test((err as Error).message)) throw err;
    }
  }
}

/** Stops the application's writes on one server: accounts locked, events disabled, sessions and event runs in `databases` ended. */
export async function freezeWrites(
  ctx: MigrationContext,
  server: Server,
  held: { accounts: Account[]; events: EventInfo[]; databases: string[] },
): Promise<number> {
  await lockAccounts(server, held.accounts);
  await setEvents(server, held.events, 'DISABLE');
  return endSessions(ctx, server, held.accounts, held.databases);
}
