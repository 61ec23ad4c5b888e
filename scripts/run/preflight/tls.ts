import type { Check, Finding } from './check.js';
import { ROLES } from './facts.js';

/** requireTls false is said loudly. */
export const tlsOff: Check = {
  ids: ['tls-off'],
  concern: 'tls',
  run: ({ config }) =>
    config.requireTls
      ? []
      : [
          {
            id: 'tls-off',
            severity: 'warn',
            server: 'config',
            message:
              "migration.requireTls is false: replication (source to target, and back after cutover) may run UNENCRYPTED, every row of the databases crossing the network in clear, and servers without TLS are accepted for the tool's own reads",
            fix: 'set migration.requireTls to true (the default) for anything but a test; passwords and password hashes are never sent over an unencrypted link either way',
          },
        ],
};

/** A server without TLS blocks a run that still has to send it a password hash. */
export const plaintextConnections: Check = {
  ids: ['plaintext-connection'],
  concern: 'tls',
  run: ({ servers, phase }) => {
    const blocks = !phase.targetPointed;
    const findings: Finding[] = [];
    for (const role of ROLES) {
      if (!servers[role] || servers[role].encrypted) continue;
      findings.push({
        id: 'plaintext-connection',
        severity: blocks ? 'block' : 'warn',
        server: role,
        message: `${role} does not offer TLS: this connection is unencrypted${blocks ? '; run would have to send or read password hashes over it (replication user, application users), which it never does in clear' : ''}`,
        fix: 'enable TLS on the server (RDS offers it by default)',
      });
    }
    return findings;
  },
};

/** The replication link itself is encrypted only if the source offers TLS. */
export const sourceOffersTls: Check = {
  ids: ['no-tls'],
  concern: 'tls',
  run: ({ config, source }) =>
    source && config.requireTls && source.haveSsl.toUpperCase() !== 'YES'
      ? [
          {
            id: 'no-tls',
            severity: 'block',
            server: 'source-master',
            message: 'source-master does not offer TLS, and migration.requireTls is on',
            fix: 'enable TLS on the source, or set migration.requireTls to false to replicate unencrypted (not for production)',
          },
        ]
      : [],
};
