import { applicationUsers, type Account } from '../copy-users.js';
import type { MigrationConfig } from '../../../config/schema.js';
import type { MigrationContext } from '../../core/context.js';
import {
  applicationDatabases,
  baseTables,
  type EventInfo,
  events,
  inList,
  type StoredObject,
  storedObjects,
  SYSTEM_SCHEMAS,
  type TableInfo,
} from '../../core/schema-inventory.js';
import { account, type Server, type ServerRole } from '../../db/connection.js';
import { readSettings, type Settings } from '../../core/settings-diff.js';
import type { ReplicaStatus } from '../../db/replica-status.js';
import { OperatorError } from '../../support/errors.js';
import { redact } from '../../support/redact.js';
import { chooseSeedMethod, type SeedChoice } from '../seed-method.js';

/** The roles in the order findings name them. */
export const ROLES: readonly ServerRole[] = ['source-master', 'source-slave', 'target-master'];

export interface ServerFacts {
  version: string;
  flavor: 'MariaDB' | 'MySQL';
  major: number;
  minor: number;
  serverId: number;
  /** Whether the tool's own connection to it is TLS. */
  encrypted: boolean;
}

/** How far run has got, as far as the checks care. */
export interface Phase {
  retentionSet: boolean;
  frozen: boolean;
  seedStarted: boolean;
  seeded: boolean;
  targetPointed: boolean;
  caughtUp: boolean;
  /** run was told the target must be empty whatever the journal says. */
  freshTarget: boolean;
}

export interface CheckedConfig {
  engine: MigrationConfig['engine'];
  targetEngineVersion: string;
  binlogRetentionHours: number;
  requireTls: boolean;
  definers: MigrationConfig['migration']['definers'];
  acceptSettingsDifferences: readonly string[];
}

export interface SourceFacts {
  logBin: string;
  binlogFormat: string;
  binlogRowImage: string | null;
  haveSsl: string;
  retentionHours: number | null;
  /** The accounts named migration.replicationUser, one per host, with their SHOW GRANTS lines (see `readGrants`). */
  replicationAccounts: { account: string; grants: string[] | undefined }[];
}

export interface Inventory {
  server: ServerRole;
  /** The application databases the server has. */
  present: string[];
  /** The databases to migrate: the config's, or all present. */
  databases: string[];
  tables: TableInfo[];
}

/** What the logical seed must recreate on the target, and as whom. */
export interface DefinerFacts {
  targetUser: string;
  /** See `readGrants`. */
  targetGrants: string[] | undefined;
  objects: StoredObject[];
  events: EventInfo[];
}

export interface TargetFacts {
  /** Read while the seed still has to load the target. */
  localInfile?: boolean;
  /** Read while the target must still be empty. */
  contents?: { tablesPerSchema: { schema: string; tables: number | string }[]; databases: string[] };
  replication?: ReplicaStatus;
}

/**
 * What the checks judge, read from the servers once. A part is absent when
 * its server is not there or the journal's phase no longer needs it.
 */
export interface PreflightFacts {
  config: CheckedConfig;
  phase: Phase;
  /** The seed method run chose or would choose; absent when the source cannot be read. */
  seed?: SeedChoice;
  unreachable: { role: ServerRole; code: string; message: string; fix: string }[];
  /** The target is not deployed yet, and run deploys it later. */
  targetDeferred: boolean;
  servers: Partial<Record<ServerRole, ServerFacts>>;
  source?: SourceFacts;
  inventory?: Inventory;
  definers?: DefinerFacts;
  target?: TargetFacts;
  /** source-slave's replication, until it is frozen. */
  replica?: ReplicaStatus;
  /** The global settings compared between source and target. */
  settings?: { source: Settings; target: Settings };
  /** The application accounts, and whether each side skips host-name resolution. */
  accountHosts?: { accounts: Account[]; sourceSkips: boolean; targetSkips: boolean };
}

type Servers = Partial<Record<ServerRole, Server>>;

/** Reads everything the checks need; reads only. */
export async function gatherFacts(
  ctx: MigrationContext,
  options: { freshTarget?: boolean },
): Promise<{ facts: PreflightFacts; servers: Servers }> {
  const phase = phaseOf(ctx, options);
  const seed = await seedChoice(ctx);
  const { servers, unreachable, targetDeferred } = await connect(ctx, phase, seed);
  const facts: PreflightFacts = { config: checkedConfig(ctx.config), phase, seed, unreachable, targetDeferred, servers: {} };
  for (const role of ROLES) {
    const server = servers[role];
    if (server) facts.servers[role] = await serverFacts(server);
  }
  const { 'source-master': source, 'source-slave': replica } = servers;
  if (source) facts.source = await sourceFacts(ctx, source);
  const inventoryServer = replica ?? source;
  if (inventoryServer) facts.inventory = await inventory(inventoryServer, ctx.config.migration.databases);
  const seededTarget = seedsLogically(seed) ? servers['target-master'] : undefined;
  if (seededTarget && facts.inventory) facts.definers = await definerFacts(inventoryServer!, seededTarget, facts.inventory.databases);
  if (seededTarget) facts.target = await targetFacts(ctx, seededTarget, phase);
  if (replica && source && !phase.frozen) facts.replica = await ctx.dialect.replicaStatus(replica);
  if (source && servers['target-master']) facts.settings = await settingsOf(source, servers['target-master']);
  // Flavour-specific reads go through the config's dialect: with the wrong engine configured (a finding of its own) they would fail.
  const dialectFits = (facts.servers['source-master']?.flavor === 'MariaDB') === (ctx.config.engine === 'mariadb');
  if (dialectFits && inventoryServer && servers['target-master'])
    facts.accountHosts = await accountHostsOf(ctx, inventoryServer, servers['target-master']);
  return { facts, servers };
}

/** A target restored from a snapshot holds the copy already: what the logical seed needs of it does not apply. */
function seedsLogically(seed: SeedChoice | undefined): boolean {
  return seed?.method !== 'snapshot';
}

function phaseOf({ journal }: MigrationContext, options: { freshTarget?: boolean }): Phase {
  return {
    retentionSet: journal.isDone('binlog-retention'),
    frozen: journal.isDone('freeze-replica'),
    seedStarted: journal.step('seed-target') !== undefined,
    seeded: journal.isDone('seed-target'),
    targetPointed: journal.isDone('point-target'),
    caughtUp: journal.isDone('catch-up'),
    freshTarget: options.freshTarget ?? false,
  };
}

function checkedConfig(config: MigrationConfig): CheckedConfig {
  const { requireTls, definers, acceptSettingsDifferences } = config.migration;
  return {
    engine: config.engine,
    targetEngineVersion: config.target.engineVersion,
    binlogRetentionHours: config.binlogRetentionHours,
    requireTls,
    definers,
    acceptSettingsDifferences,
  };
}

/** The seed method run chose (journaled), or would choose now. */
async function seedChoice(ctx: MigrationContext): Promise<SeedChoice | undefined> {
  const chosen = ctx.journal.data<SeedChoice>('seed-method');
  if (chosen) return chosen;
  try {
    return await chooseSeedMethod(ctx);
  } catch (err) {
    if (err instanceof OperatorError) return undefined; // the connection checks report why the source cannot be read
    throw err;
  }
}

async function connect(ctx: MigrationContext, phase: Phase, seed: SeedChoice | undefined) {
  const needReplica = !phase.frozen || !phase.seeded;
  const roles = ROLES.filter((role) => role !== 'source-slave' || needReplica);
  const servers: Servers = {};
  const unreachable: PreflightFacts['unreachable'] = [];
  let targetDeferred = false;
  for (const role of roles) {
    if (role === 'target-master' && (await targetComesLater(ctx, seed))) {
      targetDeferred = true;
      continue;
    }
    try {
      servers[role] = await ctx.server(role);
    } catch (err) {
      if (!(err instanceof OperatorError)) throw err;
      unreachable.push({ role, code: err.code, message: err.message, fix: err.fix });
    }
  }
  return { servers, unreachable, targetDeferred };
}

/** run deploys the target itself after choosing the seed method (or restores it from the frozen replica's snapshot). */
async function targetComesLater(ctx: MigrationContext, seed: SeedChoice | undefined): Promise<boolean> {
  if (!seed || (seed.method !== 'snapshot' && ctx.config.migration.seedMethod !== 'auto')) return false;
  return !(await ctx.access('target-master').catch(() => undefined));
}

async function serverFacts(server: Server): Promise<ServerFacts> {
  const row = (await server.one<{ version: string; comment: string; id: string }>(
    'SELECT VERSION() AS version, @@version_comment AS comment, @@server_id AS id',
  ))!;
  const [major, minor] = row.version.split('.').map(Number);
  const flavor = /mariadb/i.test(`${row.version} ${row.comment}`) ? 'MariaDB' : 'MySQL';
  return { version: row.version, flavor, major: major!, minor: minor!, serverId: Number(row.id), encrypted: server.encrypted };
}

async function sourceFacts(ctx: MigrationContext, source: Server): Promise<SourceFacts> {
  const row = (await source.one<{ logBin: string; format: string; image: string | null; tls: string }>(
    "SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image, COALESCE(@@have_ssl, 'NO') AS tls",
  ))!;
  return {
    logBin: String(row.logBin),
    binlogFormat: row.format,
    binlogRowImage: row.image,
    haveSsl: String(row.tls),
    retentionHours: await ctx.dialect.binlogRetentionHours(source),
    replicationAccounts: await accountsNamed(source, ctx.config.migration.replicationUser),
  };
}

async function accountsNamed(server: Server, user: string): Promise<SourceFacts['replicationAccounts']> {
  const hosts = await server.query<{ host: string }>('SELECT Host AS host FROM mysql.user WHERE User = ? ORDER BY Host', [user]);
  const accounts: SourceFacts['replicationAccounts'] = [];
  for (const { host } of hosts) {
    accounts.push({ account: account(user, host), grants: await readGrants(server, 'SHOW GRANTS FOR ?@?', [user, host]) });
  }
  return accounts;
}

/**
 * SHOW GRANTS lines, with the password hash they can carry masked: no check needs it and no
 * fact may hold it. Undefined over a plaintext link, where the hash must not travel at all
 * (the tls check blocks that case).
 */
async function readGrants(server: Server, sql: string, params: unknown[] = []): Promise<string[] | undefined> {
  if (!server.secretsMayCross) return undefined;
  return (await server.query(sql, params)).map((row) => redact(String(Object.values(row)[0])));
}

async function inventory(server: Server, named: string[] | undefined): Promise<Inventory> {
  const present = await applicationDatabases(server);
  const databases = named ?? present;
  return { server: server.role, present, databases, tables: await baseTables(server, databases) };
}

async function definerFacts(inventoryServer: Server, target: Server, databases: string[]): Promise<DefinerFacts> {
  return {
    targetUser: String(await target.value('SELECT CURRENT_USER()')),
    targetGrants: await readGrants(target, 'SHOW GRANTS'),
    objects: await storedObjects(inventoryServer, databases),
    events: await events(inventoryServer, databases),
  };
}

async function targetFacts(ctx: MigrationContext, target: Server, phase: Phase): Promise<TargetFacts> {
  const facts: TargetFacts = {};
  if (!phase.seeded) facts.localInfile = String(await target.value('SELECT @@GLOBAL.local_infile')) === '1';
  if (phase.freshTarget || !phase.seedStarted) {
    const tablesPerSchema = await target.query<{ schema: string; tables: string }>(
      `SELECT TABLE_SCHEMA AS \`schema\`, COUNT(*) AS tables FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN (${inList(SYSTEM_SCHEMAS)}) GROUP BY TABLE_SCHEMA`,
    );
    facts.contents = { tablesPerSchema, databases: await applicationDatabases(target) };
    facts.replication = await ctx.dialect.replicaStatus(target);
  }
  return facts;
}

async function accountHostsOf(ctx: MigrationContext, source: Server, target: Server): Promise<PreflightFacts['accountHosts']> {
  const skips = async (server: Server) => Number(await server.value('SELECT @@GLOBAL.skip_name_resolve')) === 1;
  return { accounts: await applicationUsers(source, ctx), sourceSkips: await skips(source), targetSkips: await skips(target) };
}

async function settingsOf(source: Server, target: Server): Promise<PreflightFacts['settings']> {
  const [sourceSettings, targetSettings] = await Promise.all([readSettings(source), readSettings(target)]);
  return { source: sourceSettings, target: targetSettings };
}
