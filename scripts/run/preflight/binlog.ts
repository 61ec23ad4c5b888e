import { lostBinlogFinding } from '../../core/binlog-availability.js';
import type { Check, Finding } from './check.js';

/** Replication reads the source's binlogs: they must be on, and in rows, for a freshly seeded target to stay identical. */
export const binlogSettings: Check = {
  ids: ['binlog-off', 'binlog-format', 'binlog-row-image'],
  concern: 'binlog',
  run: ({ source }) => {
    if (!source) return [];
    const findings: Finding[] = [];
    if (source.logBin !== '1')
      findings.push({
        id: 'binlog-off',
        severity: 'block',
        server: 'source-master',
        message: 'binary logging is off on source-master',
        fix: 'on RDS, set the backup retention period to 1 day or more (this turns binlogs on), then run again',
      });
    if (source.binlogFormat !== 'ROW')
      findings.push({
        id: 'binlog-format',
        severity: 'block',
        server: 'source-master',
        message: `binlog_format is ${source.binlogFormat}; replicating into a freshly seeded target is only safe with ROW`,
        fix: "set binlog_format = ROW in source-master's parameter group (dynamic, no reboot), then run again",
      });
    if (source.binlogRowImage && source.binlogRowImage.toUpperCase() !== 'FULL')
      findings.push({
        id: 'binlog-row-image',
        severity: 'warn',
        server: 'source-master',
        message: `binlog_row_image is ${source.binlogRowImage}`,
        fix: 'FULL is safest; MINIMAL works only when every table has a primary key',
      });
    return findings;
  },
};

/**
 * Announces the retention run will set, until it has set it; after that, says when the source no longer keeps
 * it (a self-managed server forgets SET GLOBAL at a restart; another hand may lower it on RDS), which run restores.
 */
export const binlogRetention: Check = {
  ids: ['binlog-retention'],
  concern: 'binlog',
  run: ({ source, phase, config }) => {
    if (!source || phase.caughtUp) return [];
    const hours = source.retentionHours;
    if (hours !== null && hours >= config.binlogRetentionHours) return [];
    const shown = hours === null ? 'NULL (binlogs purged as soon as possible)' : `${hours} h`;
    if (phase.retentionSet)
      return [
        {
          id: 'binlog-retention',
          severity: 'warn',
          server: 'source-master',
          message: `binlog retention is ${shown}, below the ${config.binlogRetentionHours} h this migration set: the binlogs the target still needs may be purged`,
          fix: 'run sets it again; find out who lowered it (on a self-managed server, a restart forgets SET GLOBAL: set it in the config file too)',
        },
      ];
    return [
      {
        id: 'binlog-retention',
        severity: 'info',
        server: 'source-master',
        message: `binlog retention is ${shown}; it will be set to ${config.binlogRetentionHours} h`,
        fix: 'nothing to do; raise binlogRetentionHours if the seed and catch-up may take longer',
      },
    ];
  },
};

/** Between the freeze and the end of catch-up, asks the source whether it still holds the binlog the target needs. */
export const binlogStillThere: Check = {
  ids: ['binlog-gone'],
  concern: 'binlog',
  run: async (_facts, { ctx, servers }) => {
    const source = servers['source-master'];
    const finding = source && (await lostBinlogFinding(ctx, source, servers['target-master']));
    return finding ? [finding] : [];
  },
};
