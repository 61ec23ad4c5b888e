import type { Server } from '../db/connection.js';
import type { MigrationContext } from '../core/context.js';
import { applicationUsers, type Account } from '../run/copy-users.js';
import type { EventInfo } from '../core/schema-inventory.js';
import { OperatorError } from '../support/errors.js';
import { unlockedAccounts } from './write-freeze.js';

/** What a freeze holds back on one side and the other side opens again. */
export interface HeldBack extends Record<string, unknown> {
  accounts: Account[];
  events: EventInfo[];
}

const eventKey = (e: EventInfo) => JSON.stringify([e.schema, e.name]);
const accountKey = (a: Account) => JSON.stringify([a.user, a.host]);

function union<T>(first: T[], second: T[], key: (item: T) => string): T[] {
  const seen = new Set(first.map(key));
  return [...first, ...second.filter((item) => !seen.has(key(item)))];
}

/** The databases the migration copies, as the seed recorded them. */
export function migratedDatabases(ctx: MigrationContext): string[] {
  const databases = ctx.journal.data<{ databases?: string[] }>('seed-target')?.databases;
  if (!databases) throw new OperatorError('the journal has no seeded databases', 'run `rds-live-migrate run` to the end first', 'journal');
  return databases;
}

export async function eventsNow(server: Server, databases: string[]): Promise<EventInfo[]> {
  if (!databases.length) return [];
  return server.query<EventInfo & Record<string, unknown>>(
    'SELECT EVENT_SCHEMA AS `schema`, EVENT_NAME AS name, STATUS AS status FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?) ORDER BY 1, 2',
    [databases],
  );
}

/**
 * What to freeze on `server`, read from the server itself: the events enabled
 * now and the application accounts unlocked now. Events and accounts can come
 * and go between the seed and the switch, so a list recorded earlier would
 * name objects that are gone and miss new ones. `previous` is the list an
 * interrupted attempt recorded: what it already disabled or locked no longer
 * looks enabled or unlocked, so it is kept (where it still exists).
 */
export async function heldBackNow(ctx: MigrationContext, server: Server, previous?: Partial<HeldBack>): Promise<HeldBack> {
  const existingEvents = await eventsNow(server, migratedDatabases(ctx));
  const eventKeys = new Set(existingEvents.map(eventKey));
  const enabled = existingEvents.filter((e) => e.status === 'ENABLED').map(({ schema, name }) => ({ schema, name, status: 'ENABLED' }));
  const events = union(
    (previous?.events ?? []).filter((e) => eventKeys.has(eventKey(e))),
    enabled,
    eventKey,
  );

  const users = await applicationUsers(server, ctx);
  const userKeys = new Set(users.map(accountKey));
  const accounts = union(
    (previous?.accounts ?? []).filter((a) => userKeys.has(accountKey(a))),
    await unlockedAccounts(ctx, server, users),
    accountKey,
  );
  return { accounts, events };
}

/** The events of `wanted` that exist on `server` now (one may have been dropped, or dropped itself, meanwhile). */
export async function existingEvents(ctx: MigrationContext, server: Server, wanted: EventInfo[]): Promise<EventInfo[]> {
  if (!wanted.length) return [];
  const there = new Set((await eventsNow(server, migratedDatabases(ctx))).map(eventKey));
  return wanted.filter((e) => there.has(eventKey(e)));
}
