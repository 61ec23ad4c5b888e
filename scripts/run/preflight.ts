import { account, type Server, type ServerRole } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from '../core/context.js';
import { awsSnapshotFindings } from './aws-snapshot-checks.js';
import { lostBinlogFinding } from '../core/binlog-availability.js';
import { chooseSeedMethod, type SeedChoice } from './seed-method.js';
import { settingsFindings } from '../core/settings-diff.js';
import { applicationDatabases, baseTables, events, inList, storedObjects, SYSTEM_SCHEMAS } from '../core/schema-inventory.js';

export type Severity = 'block' | 'warn' | 'info';

export interface Finding {
  id: string;
  severity: Severity;
  server: ServerRole | 'config';
  message: string;
  fix: string;
}

interface ServerFacts {
  version: string;
  flavor: 'MariaDB' | 'MySQL';
  major: number;
  minor: number;
  serverId: number;
}

async function facts(server: Server): Promise<ServerFacts> {
  const row = (await server.one<{ version: string; comment: string; id: string }>(
    'SELECT VERSION() AS version, @@version_comment AS comment, @@server_id AS id',
  ))!;
  const [major, minor] = row.version.split('.').map(Number);
  const flavor = /mariadb/i.test(`${row.version} ${row.comment}`) ? 'MariaDB' : 'MySQL';
  return { version: row.version, flavor, major: major!, minor: minor!, serverId: Number(row.id) };
}

/**
 * Inspects the servers before anything changes and says what would stop the
 * migration and how to fix it. It reads only. Checks that no longer apply
 * at the journal's phase (the replica after it is torn down, an empty target
 * after the seed began) are skipped, so a resumed run passes its own preflight.
 */
export async function preflight(ctx: MigrationContext, options: { freshTarget?: boolean } = {}): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const { journal, config } = ctx;

  const needReplica = !journal.isDone('freeze-replica') || !journal.isDone('seed-target');
  const roles: ServerRole[] = ['source-master', ...(needReplica ? (['source-slave'] as const) : []), 'target-master'];
  const servers = new Map<ServerRole, Server>();
  const seed = await seedChoice(ctx, add);
  for (const role of roles) {
    if (
      role === 'target-master' &&
      seed &&
      (seed.method === 'snapshot' || config.migration.seedMethod === 'auto') &&
      !(await ctx.access(role).catch(() => undefined))
    ) {
      add({
        id: 'target-deferred',
        severity: 'info',
        server: 'target-master',
        message:
          seed.method === 'snapshot'
            ? 'target-master is not deployed yet: run deploys the target stack after the freeze, restored from a snapshot of the frozen replica'
            : 'target-master is not deployed yet: run deploys it empty after choosing the seed method, then checks it',
        fix: 'nothing to do',
      });
      continue;
    }
    try {
      servers.set(role, await ctx.server(role));
    } catch (err) {
      if (!(err instanceof OperatorError)) throw err;
      add({ id: err.code, severity: 'block', server: role, message: err.message, fix: err.fix });
    }
  }
  for (const f of tlsFindings(ctx, servers)) add(f);
  const source = servers.get('source-master');
  const replica = servers.get('source-slave');
  const target = servers.get('target-master');
  const sourceFacts = source && (await facts(source));
  const replicaFacts = replica && (await facts(replica));
  const targetFacts = target && (await facts(target));

  const lostBinlog = source && (await lostBinlogFinding(ctx, source, target));
  if (lostBinlog) add(lostBinlog);

  if (source && sourceFacts) {
    const row = (await source.one<{ logBin: string; format: string; image: string; tls: string }>(
      "SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image, COALESCE(@@have_ssl, 'NO') AS tls",
    ))!;
    if (String(row.logBin) !== '1')
      add({
        id: 'binlog-off',
        severity: 'block',
        server: 'source-master',
        message: 'binary logging is off on source-master',
        fix: 'on RDS, set the backup retention period to 1 day or more (this turns binlogs on), then run again',
      });
    if (row.format !== 'ROW')
      add({
        id: 'binlog-format',
        severity: 'block',
        server: 'source-master',
        message: `binlog_format is ${row.format}; replicating into a freshly seeded target is only safe with ROW`,
        fix: "set binlog_format = ROW in source-master's parameter group (dynamic, no reboot), then run again",
      });
    if (row.image && row.image.toUpperCase() !== 'FULL')
      add({
        id: 'binlog-row-image',
        severity: 'warn',
        server: 'source-master',
        message: `binlog_row_image is ${row.image}`,
        fix: 'FULL is safest; MINIMAL works only when every table has a primary key',
      });
    if (config.migration.requireTls && String(row.tls).toUpperCase() !== 'YES') {
      add({
        id: 'no-tls',
        severity: 'block',
        server: 'source-master',
        message: 'source-master does not offer TLS, and migration.requireTls is on',
        fix: 'enable TLS on the source, or set migration.requireTls to false to replicate unencrypted (not for production)',
      });
    }
    const borrowed = await replicationUserFinding(source, config.migration.replicationUser);
    if (borrowed) add(borrowed);
    const retention = await ctx.dialect.binlogRetentionHours(source);
    if (!journal.isDone('binlog-retention') && (retention === null || retention < config.binlogRetentionHours)) {
      add({
        id: 'binlog-retention',
        severity: 'info',
        server: 'source-master',
        message: `binlog retention is ${retention === null ? 'NULL (binlogs purged as soon as possible)' : `${retention} h`}; it will be set to ${config.binlogRetentionHours} h`,
        fix: 'nothing to do; raise binlogRetentionHours if the seed and catch-up may take longer',
      });
    }
  }

  const inventoryServer = replica ?? source;
  let databases: string[] = [];
  if (inventoryServer) {
    const present = await applicationDatabases(inventoryServer);
    databases = config.migration.databases ?? present;
    const missing = databases.filter((d) => !present.includes(d));
    if (missing.length)
      add({
        id: 'missing-database',
        severity: 'block',
        server: 'config',
        message: `migration.databases names ${missing.join(', ')}, which ${inventoryServer.role} does not have`,
        fix: 'correct migration.databases',
      });
    const system = databases.filter((d) => SYSTEM_SCHEMAS.includes(d.toLowerCase()));
    if (system.length)
      add({
        id: 'system-database',
        severity: 'block',
        server: 'config',
        message: `migration.databases names system schema ${system.join(', ')}`,
        fix: 'remove it: the target has its own system schemas, and users are migrated separately',
      });
    if (!databases.length)
      add({
        id: 'nothing-to-migrate',
        severity: 'block',
        server: inventoryServer.role,
        message: 'no application database found',
        fix: 'check the source, or name them in migration.databases',
      });

    const tables = await baseTables(inventoryServer, databases);
    const noPk = tables.filter((t) => !t.hasPrimaryKey);
    if (noPk.length)
      add({
        id: 'no-primary-key',
        severity: 'warn',
        server: inventoryServer.role,
        message: `${noPk.length} table(s) without a primary key: ${names(noPk.map((t) => `${t.schema}.${t.name}`))}`,
        fix: 'add primary keys before migrating if you can: every row event on such a table makes the target scan it',
      });
    const notInnodb = tables.filter((t) => t.engine && t.engine.toUpperCase() !== 'INNODB');
    if (notInnodb.length)
      add({
        id: 'non-innodb',
        severity: 'warn',
        server: inventoryServer.role,
        message: `${notInnodb.length} table(s) not on InnoDB: ${names(notInnodb.map((t) => `${t.schema}.${t.name} (${t.engine})`))}`,
        fix: 'convert them to InnoDB: other engines are not crash-safe under replication',
      });

    if (target && seed?.method !== 'snapshot') {
      const targetUser = String(await target.value('SELECT CURRENT_USER()'));
      const canSetUser = await hasPrivilege(target, ['SUPER', 'SET USER', 'SET_USER_ID']);
      const objects = await storedObjects(inventoryServer, databases);
      const foreign = objects.filter((o) => normalizeAccount(o.definer) !== normalizeAccount(targetUser));
      if (foreign.length && !canSetUser) {
        const definers = [...new Set(foreign.map((o) => o.definer))];
        const rewrite = config.migration.definers === 'rewrite';
        add({
          id: 'definers',
          severity: rewrite ? 'warn' : 'block',
          server: 'target-master',
          message: `${foreign.length} routine(s)/trigger(s)/view(s)/event(s) have DEFINER ${definers.join(', ')}, which ${targetUser} cannot create without SUPER: ${names(foreign.map((o) => `${o.kind} ${o.schema}.${o.name}`))}`,
          fix: rewrite
            ? `they will be created with DEFINER = ${targetUser} (migration.definers is "rewrite"); check that SQL SECURITY DEFINER objects still need no more than that user's rights`
            : `recreate them on the source with DEFINER = ${targetUser.replace(/@.*/, '')} (or SQL SECURITY INVOKER), or set migration.definers to "rewrite" to create them as ${targetUser}`,
        });
      }
      const enabledEvents = (await events(inventoryServer, databases)).filter((e) => e.status !== 'DISABLED');
      if (enabledEvents.length)
        add({
          id: 'events',
          severity: 'info',
          server: 'target-master',
          message: `${enabledEvents.length} event(s) will stay disabled on the target until cutover so they do not run twice`,
          fix: 'nothing to do',
        });
    }
  }

  // A restored target holds the copy (checked against the frozen GTID position instead) and is never loaded with LOAD DATA.
  const logicalTarget = target && seed?.method !== 'snapshot' ? target : undefined;
  if (logicalTarget && !journal.isDone('seed-target') && String(await logicalTarget.value('SELECT @@GLOBAL.local_infile')) !== '1') {
    add({
      id: 'local-infile',
      severity: 'block',
      server: 'target-master',
      message: 'target-master has local_infile off; the seed loads with LOAD DATA LOCAL',
      fix: 'set local_infile = 1 in the target parameter group (the target stack does), then run again',
    });
  }

  if (logicalTarget && (options.freshTarget || !journal.step('seed-target'))) {
    const used = await logicalTarget.query<{ schema: string; tables: string }>(
      `SELECT TABLE_SCHEMA AS \`schema\`, COUNT(*) AS tables FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN (${inList(SYSTEM_SCHEMAS)}) GROUP BY TABLE_SCHEMA`,
    );
    const schemas = (await applicationDatabases(logicalTarget)).filter((d) => databases.includes(d) || used.some((u) => u.schema === d));
    if (used.length || schemas.length) {
      add({
        id: 'target-not-empty',
        severity: 'block',
        server: 'target-master',
        message: `target-master is not empty: ${names([...new Set([...used.map((u) => `${u.schema} (${u.tables} tables)`), ...schemas])])}`,
        fix: 'point the config at a new, empty target, or drop those schemas on the target if they are left over from a test',
      });
    }
    const status = await ctx.dialect.replicaStatus(logicalTarget);
    if (status.configured)
      add({
        id: 'target-replicating',
        severity: 'block',
        server: 'target-master',
        message: `target-master already replicates from ${status.masterHost}:${status.masterPort}`,
        fix: 'reset it (CALL mysql.rds_reset_external_master) if that is left over, or use another target',
      });
  }

  if (replica && !journal.isDone('freeze-replica') && sourceFacts) {
    const status = await ctx.dialect.replicaStatus(replica);
    if (!status.configured)
      add({
        id: 'not-a-replica',
        severity: 'block',
        server: 'source-slave',
        message: 'source-slave is not a replica',
        fix: 'deploy the source-replica stack and wait until the replica is available',
      });
    else {
      if (status.masterServerId && status.masterServerId !== sourceFacts.serverId)
        add({
          id: 'wrong-source',
          severity: 'block',
          server: 'source-slave',
          message: `source-slave replicates from server_id ${status.masterServerId}, but source-master is server_id ${sourceFacts.serverId}`,
          fix: 'check source.instanceIdentifier and the replica stack outputs: they must be the same source',
        });
      if (status.lastSqlError)
        add({
          id: 'replica-error',
          severity: 'block',
          server: 'source-slave',
          message: `source-slave has a replication error: ${status.lastSqlError}`,
          fix: 'a replica with an error may have diverged: destroy and redeploy the source-replica stack',
        });
      if (!status.sqlRunning && !status.lastSqlError)
        add({
          id: 'replica-stopped',
          severity: 'warn',
          server: 'source-slave',
          message: 'source-slave is not applying (SQL thread stopped)',
          fix: 'the seed will be as old as what it has applied; the target catches up from there. Start it (CALL mysql.rds_start_replication) for a fresher seed',
        });
    }
  }

  const ids = [
    [source?.role, sourceFacts],
    [replica?.role, replicaFacts],
    [target?.role, targetFacts],
  ] as const;
  const seen = new Map<number, string>();
  for (const [role, f] of ids) {
    if (!role || !f) continue;
    const other = seen.get(f.serverId);
    if (other)
      add({
        id: 'server-id',
        severity: 'block',
        server: role,
        message: `${role} and ${other} have the same server_id ${f.serverId}`,
        fix: 'each server in a replication chain needs its own server_id',
      });
    seen.set(f.serverId, role);
  }

  if (seed?.method === 'snapshot' && !journal.isDone('seed-target') && (replicaFacts ?? sourceFacts)) {
    // A restore keeps the snapshot's engine version; RDS upgrades across major versions only as a separate step.
    const facts = (replicaFacts ?? sourceFacts)!;
    const [major, minor] = config.target.engineVersion.split('.').map(Number);
    if (major !== facts.major || minor !== facts.minor) {
      add({
        id: 'snapshot-engine-version',
        severity: 'block',
        server: 'config',
        message: `target.engineVersion ${config.target.engineVersion} is not the replica's ${facts.major}.${facts.minor} (${facts.version}); a target restored from its snapshot runs the snapshot's major version`,
        fix: `set target.engineVersion to ${facts.version.split('-')[0]} (upgrade after the migration), or use seedMethod logical to change versions now`,
      });
    }
    const replicaId = ctx.outputs().replica?.identifier;
    if (config.migration.awsChecks && config.migration.serverKind === 'rds' && replicaId) {
      for (const f of await awsSnapshotFindings(config, replicaId)) add(f);
    }
  }

  if (sourceFacts && targetFacts) {
    if (sourceFacts.flavor !== targetFacts.flavor)
      add({
        id: 'engine-mismatch',
        severity: 'block',
        server: 'target-master',
        message: `source-master is ${sourceFacts.flavor} ${sourceFacts.version}, target-master is ${targetFacts.flavor} ${targetFacts.version}`,
        fix: 'the target must run the same engine as the source',
      });
    else if (targetFacts.major * 1000 + targetFacts.minor < sourceFacts.major * 1000 + sourceFacts.minor)
      add({
        id: 'version',
        severity: 'block',
        server: 'target-master',
        message: `target-master runs ${targetFacts.version}, older than source-master's ${sourceFacts.version}; replication from a newer to an older version is not supported`,
        fix: `set target.engineVersion to ${sourceFacts.major}.${sourceFacts.minor} or newer and redeploy the target stack`,
      });
    if (config.engine === 'mysql' && sourceFacts.flavor === 'MariaDB')
      add({
        id: 'engine-config',
        severity: 'block',
        server: 'config',
        message: 'the config says engine mysql, but the source is MariaDB',
        fix: 'set engine to "mariadb"',
      });
    if (config.engine === 'mariadb' && sourceFacts.flavor === 'MySQL')
      add({
        id: 'engine-config',
        severity: 'block',
        server: 'config',
        message: 'the config says engine mariadb, but the source is MySQL',
        fix: 'set engine to "mysql"',
      });
  }
  // What the application sees after cutover: global settings that change results (settings-diff.ts).
  if (source && target) for (const f of await settingsFindings(source, target, config.migration.acceptSettingsDifferences)) add(f);
  return findings;
}

/** The seed method `run` chose (journaled), or would choose now; noted as a finding so that plan prints the reason. */
async function seedChoice(ctx: MigrationContext, add: (f: Finding) => void): Promise<SeedChoice | undefined> {
  let choice = ctx.journal.data<SeedChoice>('seed-method');
  if (!choice) {
    try {
      choice = await chooseSeedMethod(ctx);
    } catch (err) {
      if (err instanceof OperatorError) return undefined; // the server checks below report why the source cannot be read
      throw err;
    }
  }
  add({
    id: 'seed-method',
    severity: 'info',
    server: 'config',
    message: `seed method: ${choice.method} (${choice.reason})`,
    fix: 'set migration.seedMethod to choose it yourself',
  });
  return choice;
}

// What our replication user holds; an account with only these is ours from an earlier run (or harmless to re-key).
const REPLICATION_PRIVILEGES = new Set([
  'USAGE',
  'REPLICATION SLAVE',
  'REPLICATION CLIENT',
  'BINLOG MONITOR',
  'SLAVE MONITOR',
  'REPLICA MONITOR',
]);

/** Privileges in SHOW GRANTS lines beyond replication, e.g. "SELECT ON `shop`.*" or "role app_rw". */
export function extraGrants(grants: string[]): string[] {
  const extra: string[] = [];
  for (const grant of grants) {
    const onObject = /^GRANT (.+?) ON (.+?) TO /.exec(grant);
    if (!onObject) {
      extra.push(`role ${/^GRANT (.+?) TO /.exec(grant)?.[1] ?? grant.slice(0, 60)}`);
      continue;
    }
    const privileges = onObject[1]!
      .split(',')
      .map((p) => p.trim().toUpperCase())
      .filter((p) => !REPLICATION_PRIVILEGES.has(p));
    if (privileges.length || /WITH GRANT OPTION/i.test(grant)) extra.push(`${privileges.join(', ') || 'GRANT OPTION'} ON ${onObject[2]}`);
  }
  return extra;
}

/** run re-keys the replication user and finalize drops it: an account the application or a person uses must not be taken. */
async function replicationUserFinding(source: Server, user: string): Promise<Finding | undefined> {
  const hosts = await source.query<{ host: string }>('SELECT Host AS host FROM mysql.user WHERE User = ? ORDER BY Host', [user]);
  const taken: string[] = [];
  for (const { host } of hosts) {
    const grants = (await source.query('SHOW GRANTS FOR ?@?', [user, host])).map((row) => String(Object.values(row)[0]));
    const extra = extraGrants(grants);
    if (extra.length) taken.push(`${account(user, host)} (${extra.join('; ')})`);
  }
  if (!taken.length) return undefined;
  return {
    id: 'replication-user-taken',
    severity: 'block',
    server: 'source-master',
    message: `migration.replicationUser names an existing account with more than replication grants: ${taken.join(', ')}; run would give it a new password and finalize would drop it`,
    fix: 'set migration.replicationUser to a name no account uses (the default is rlm_repl)',
  };
}

/** requireTls false is said loudly; a server without TLS blocks a run that still has to send it a password hash. */
function tlsFindings(ctx: MigrationContext, servers: Map<ServerRole, Server>): Finding[] {
  const findings: Finding[] = [];
  if (!ctx.config.migration.requireTls) {
    findings.push({
      id: 'tls-off',
      severity: 'warn',
      server: 'config',
      message:
        "migration.requireTls is false: replication (source to target, and back after cutover) may run UNENCRYPTED, every row of the databases crossing the network in clear, and servers without TLS are accepted for the tool's own reads",
      fix: 'set migration.requireTls to true (the default) for anything but a test; passwords and password hashes are never sent over an unencrypted link either way',
    });
  }
  const secretsPending = !ctx.journal.isDone('point-target');
  for (const [role, server] of servers) {
    if (server.encrypted) continue;
    const blocks = secretsPending;
    findings.push({
      id: 'plaintext-connection',
      severity: blocks ? 'block' : 'warn',
      server: role,
      message: `${role} does not offer TLS: this connection is unencrypted${blocks ? '; run would have to send or read password hashes over it (replication user, application users), which it never does in clear' : ''}`,
      fix: 'enable TLS on the server (RDS offers it by default)',
    });
  }
  return findings;
}

function names(list: string[], max = 8): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

/** 'admin@%' and '`admin`@`%`' name the same account. */
export function normalizeAccount(account: string): string {
  return account.replace(/[`']/g, '').toLowerCase();
}

async function hasPrivilege(server: Server, privileges: string[]): Promise<boolean> {
  const grants = (await server.query('SHOW GRANTS')).map((row) => String(Object.values(row)[0]).toUpperCase());
  return grants.some(
    (g) => g.includes('ALL PRIVILEGES ON *.*') || privileges.some((p) => new RegExp(`GRANT\\b.*\\b${p}\\b.*ON \\*\\.\\*`).test(g)),
  );
}

export function blocking(findings: Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'block');
}

export function formatFindings(findings: Finding[]): string {
  if (!findings.length) return 'preflight: no findings';
  const order: Severity[] = ['block', 'warn', 'info'];
  return [...findings]
    .sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity))
    .map((f) => `  [${f.severity.toUpperCase()}] ${f.server}: ${f.message}\n      -> ${f.fix}`)
    .join('\n');
}
