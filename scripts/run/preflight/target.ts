import type { Check, Finding } from './check.js';
import { names } from './check.js';

/** The logical seed loads with LOAD DATA LOCAL. */
export const targetLoadsLocalFiles: Check = {
  ids: ['local-infile'],
  concern: 'target',
  run: ({ target }) =>
    target?.localInfile === false
      ? [
          {
            id: 'local-infile',
            severity: 'block',
            server: 'target-master',
            message: 'target-master has local_infile off; the seed loads with LOAD DATA LOCAL',
            fix: 'set local_infile = 1 in the target parameter group (the target stack does), then run again',
          },
        ]
      : [],
};

/** Anything already on the target would be mixed with the copy, or replicate over it. */
export const targetEmpty: Check = {
  ids: ['target-not-empty', 'target-replicating'],
  concern: 'target',
  run: ({ target, inventory }) => {
    const findings: Finding[] = [];
    if (target?.contents) {
      const { tablesPerSchema: used, databases } = target.contents;
      const migrated = inventory?.databases ?? [];
      // A schema with tables is named with its count; one that is only there (empty) by its name.
      const emptySchemas = databases.filter((d) => migrated.includes(d) && !used.some((u) => u.schema === d));
      if (used.length || emptySchemas.length)
        findings.push({
          id: 'target-not-empty',
          severity: 'block',
          server: 'target-master',
          message: `target-master is not empty: ${names([...used.map((u) => `${u.schema} (${u.tables} tables)`), ...emptySchemas])}`,
          fix: 'point the config at a new, empty target, or drop those schemas on the target if they are left over from a test',
        });
    }
    const replication = target?.replication;
    if (replication?.configured)
      findings.push({
        id: 'target-replicating',
        severity: 'block',
        server: 'target-master',
        message: `target-master already replicates from ${replication.masterHost}:${replication.masterPort}`,
        fix: 'reset it (CALL mysql.rds_reset_external_master) if that is left over, or use another target',
      });
    return findings;
  },
};
