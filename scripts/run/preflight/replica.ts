import type { Check, Finding } from './check.js';

/** Until the freeze, source-slave must be a healthy replica of this very source: the seed is taken from it. */
export const replicaOfSource: Check = {
  ids: ['not-a-replica', 'wrong-source', 'replica-error', 'replica-stopped'],
  concern: 'replica',
  run: ({ replica: status, servers }) => {
    const source = servers['source-master'];
    if (!status || !source) return [];
    if (!status.configured)
      return [
        {
          id: 'not-a-replica',
          severity: 'block',
          server: 'source-slave',
          message: 'source-slave is not a replica',
          fix: 'deploy the source-replica stack and wait until the replica is available',
        },
      ];
    const findings: Finding[] = [];
    if (status.masterServerId && status.masterServerId !== source.serverId)
      findings.push({
        id: 'wrong-source',
        severity: 'block',
        server: 'source-slave',
        message: `source-slave replicates from server_id ${status.masterServerId}, but source-master is server_id ${source.serverId}`,
        fix: 'check source.instanceIdentifier and the replica stack outputs: they must be the same source',
      });
    if (status.lastSqlError)
      findings.push({
        id: 'replica-error',
        severity: 'block',
        server: 'source-slave',
        message: `source-slave has a replication error: ${status.lastSqlError}`,
        fix: 'a replica with an error may have diverged: destroy and redeploy the source-replica stack',
      });
    if (!status.sqlRunning && !status.lastSqlError)
      findings.push({
        id: 'replica-stopped',
        severity: 'warn',
        server: 'source-slave',
        message: 'source-slave is not applying (SQL thread stopped)',
        fix: 'the seed will be as old as what it has applied; the target catches up from there. Start it (CALL mysql.rds_start_replication) for a fresher seed',
      });
    return findings;
  },
};
