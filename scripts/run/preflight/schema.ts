import { SYSTEM_SCHEMAS } from '../../core/schema-inventory.js';
import type { Check, Finding } from './check.js';
import { names } from './check.js';

/** The databases to migrate must exist, belong to the application, and be at least one. */
export const databasesToMigrate: Check = {
  ids: ['missing-database', 'system-database', 'nothing-to-migrate'],
  concern: 'schema',
  run: ({ inventory }) => {
    if (!inventory) return [];
    const { databases, present, server } = inventory;
    const findings: Finding[] = [];
    const missing = databases.filter((d) => !present.includes(d));
    if (missing.length)
      findings.push({
        id: 'missing-database',
        severity: 'block',
        server: 'config',
        message: `migration.databases names ${missing.join(', ')}, which ${server} does not have`,
        fix: 'correct migration.databases',
      });
    const system = databases.filter((d) => SYSTEM_SCHEMAS.includes(d.toLowerCase()));
    if (system.length)
      findings.push({
        id: 'system-database',
        severity: 'block',
        server: 'config',
        message: `migration.databases names system schema ${system.join(', ')}`,
        fix: 'remove it: the target has its own system schemas, and users are migrated separately',
      });
    if (!databases.length)
      findings.push({
        id: 'nothing-to-migrate',
        severity: 'block',
        server: server,
        message: 'no application database found',
        fix: 'check the source, or name them in migration.databases',
      });
    return findings;
  },
};

/** Tables that replicate slowly (no primary key) or unsafely (not InnoDB). */
export const tablesReplicateWell: Check = {
  ids: ['no-primary-key', 'non-innodb'],
  concern: 'schema',
  run: ({ inventory }) => {
    if (!inventory) return [];
    const findings: Finding[] = [];
    const noPk = inventory.tables.filter((t) => !t.hasPrimaryKey);
    if (noPk.length)
      findings.push({
        id: 'no-primary-key',
        severity: 'warn',
        server: inventory.server,
        message: `${noPk.length} table(s) without a primary key: ${names(noPk.map((t) => `${t.schema}.${t.name}`))}`,
        fix: 'add primary keys before migrating if you can: every row event on such a table makes the target scan it',
      });
    const notInnodb = inventory.tables.filter((t) => t.engine && t.engine.toUpperCase() !== 'INNODB');
    if (notInnodb.length)
      findings.push({
        id: 'non-innodb',
        severity: 'warn',
        server: inventory.server,
        message: `${notInnodb.length} table(s) not on InnoDB: ${names(notInnodb.map((t) => `${t.schema}.${t.name} (${t.engine})`))}`,
        fix: 'convert them to InnoDB: other engines are not crash-safe under replication',
      });
    return findings;
  },
};

/** Enabled events are copied disabled, so they do not run on both sides. */
export const eventsHeld: Check = {
  ids: ['events'],
  concern: 'schema',
  run: ({ definers }) => {
    const enabled = (definers?.events ?? []).filter((e) => e.status !== 'DISABLED');
    if (!enabled.length) return [];
    return [
      {
        id: 'events',
        severity: 'info',
        server: 'target-master',
        message: `${enabled.length} event(s) will stay disabled on the target until cutover so they do not run twice`,
        fix: 'nothing to do',
      },
    ];
  },
};
