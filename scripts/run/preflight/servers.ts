import type { Check, Finding } from './check.js';
import { ROLES } from './facts.js';

/** A server the tool cannot connect to (or whose identity is wrong) blocks, with the connection error's own code and fix. */
export const unreachableServers: Check = {
  ids: [],
  concern: 'servers',
  run: (facts) =>
    facts.unreachable.map(
      ({ role, code, message, fix }) => ({ id: code, severity: 'block', server: role, message, fix }) satisfies Finding,
    ),
};

export const targetDeferred: Check = {
  ids: ['target-deferred'],
  concern: 'servers',
  run: ({ targetDeferred, seed }) =>
    targetDeferred && seed
      ? [
          {
            id: 'target-deferred',
            severity: 'info',
            server: 'target-master',
            message:
              seed.method === 'snapshot'
                ? 'target-master is not deployed yet: run deploys the target stack after the freeze, restored from a snapshot of the frozen replica'
                : 'target-master is not deployed yet: run deploys it empty after choosing the seed method, then checks it',
            fix: 'nothing to do',
          },
        ]
      : [],
};

/** Replication skips events that carry its own server_id, so two servers sharing one lose each other's writes. */
export const distinctServerIds: Check = {
  ids: ['server-id'],
  concern: 'servers',
  run: ({ servers }) => {
    const findings: Finding[] = [];
    const seen = new Map<number, string>();
    for (const role of ROLES) {
      const server = servers[role];
      if (!server) continue;
      const other = seen.get(server.serverId);
      if (other)
        findings.push({
          id: 'server-id',
          severity: 'block',
          server: role,
          message: `${role} and ${other} have the same server_id ${server.serverId}`,
          fix: 'each server in a replication chain needs its own server_id',
        });
      seen.set(server.serverId, role);
    }
    return findings;
  },
};
