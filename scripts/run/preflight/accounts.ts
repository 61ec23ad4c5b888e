import type { Check } from './check.js';
import { names } from './check.js';

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

/** 'admin@%' and '`admin`@`%`' name the same account. */
export function normalizeAccount(account: string): string {
  return account.replace(/[`']/g, '').toLowerCase();
}

/** Whether SHOW GRANTS lines allow creating objects with another account as DEFINER. */
export function canSetDefiner(grants: string[]): boolean {
  const upper = grants.map((g) => g.toUpperCase());
  return upper.some(
    (g) =>
      g.includes('ALL PRIVILEGES ON *.*') ||
      ['SUPER', 'SET USER', 'SET_USER_ID'].some((p) => new RegExp(`GRANT\\b.*\\b${p}\\b.*ON \\*\\.\\*`).test(g)),
  );
}

/** run re-keys the replication user and finalize drops it: an account the application or a person uses must not be taken. */
export const replicationUserFree: Check = {
  ids: ['replication-user-taken'],
  concern: 'accounts',
  run: ({ source }) => {
    // Grants not read (a plaintext link) tell nothing; the tls check blocks that case.
    const taken = (source?.replicationAccounts ?? []).flatMap(({ account, grants }) => {
      const extra = extraGrants(grants ?? []);
      return extra.length ? [`${account} (${extra.join('; ')})`] : [];
    });
    if (!taken.length) return [];
    return [
      {
        id: 'replication-user-taken',
        severity: 'block',
        server: 'source-master',
        message: `migration.replicationUser names an existing account with more than replication grants: ${taken.join(', ')}; run would give it a new password and finalize would drop it`,
        fix: 'set migration.replicationUser to a name no account uses (the default is rlm_repl)',
      },
    ];
  },
};

/** The logical seed creates routines, triggers, views and events as the target's admin, who needs SUPER to name another DEFINER. */
export const definersCreatable: Check = {
  ids: ['definers'],
  concern: 'accounts',
  run: ({ definers, config }) => {
    if (!definers?.targetGrants || canSetDefiner(definers.targetGrants)) return [];
    const { targetUser } = definers;
    const foreign = definers.objects.filter((o) => normalizeAccount(o.definer) !== normalizeAccount(targetUser));
    if (!foreign.length) return [];
    const rewrite = config.definers === 'rewrite';
    return [
      {
        id: 'definers',
        severity: rewrite ? 'warn' : 'block',
        server: 'target-master',
        message: `${foreign.length} routine(s)/trigger(s)/view(s)/event(s) have DEFINER ${[...new Set(foreign.map((o) => o.definer))].join(', ')}, which ${targetUser} cannot create without SUPER: ${names(foreign.map((o) => `${o.kind} ${o.schema}.${o.name}`))}`,
        fix: rewrite
          ? `they will be created with DEFINER = ${targetUser} (migration.definers is "rewrite"); check that SQL SECURITY DEFINER objects still need no more than that user's rights`
          : `recreate them on the source with DEFINER = ${targetUser.replace(/@.*/, '')} (or SQL SECURITY INVOKER), or set migration.definers to "rewrite" to create them as ${targetUser}`,
      },
    ];
  },
};

/**
 * A server that skips name resolution never loads an account whose host is a name
 * ('app'@'web1.example.com'): after cutover such an account could not log in on the target.
 */
/** A host that is neither an address (or address pattern) nor localhost needs name resolution to match. */
export function isHostName(host: string): boolean {
  return host !== 'localhost' && !/^[\d.%_]+(\/[\d.]+)?$/.test(host) && !host.includes(':');
}

export const namedHostsResolve: Check = {
  ids: ['host-names-unresolved'],
  concern: 'accounts',
  run: ({ accountHosts }) => {
    const named = accountHosts?.accounts.filter((a) => isHostName(a.host)) ?? [];
    if (!accountHosts?.targetSkips || !named.length) return [];
    const accounts = names(named.map((a) => `'${a.user}'@'${a.host}'`));
    return [
      {
        id: 'host-names-unresolved',
        severity: 'warn',
        server: 'target-master',
        message: `target-master skips host-name resolution (skip_name_resolve), so accounts whose host is a name cannot log in there: ${accounts}${accountHosts.sourceSkips ? ' (the source skips it too: they cannot log in there either)' : ''}`,
        fix: "give those accounts an address or address pattern as host on the source (e.g. 'app'@'10.0.%'), or set skip_name_resolve to 0 in target.parameters",
      },
    ];
  },
};
