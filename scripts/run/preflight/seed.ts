import { awsSnapshotFindings } from '../aws-snapshot-checks.js';
import type { Check } from './check.js';
import type { PreflightFacts, ServerFacts } from './facts.js';

/** Noted as a finding so that plan prints the method and why. */
export const seedMethod: Check = {
  ids: ['seed-method'],
  concern: 'seed',
  run: ({ seed }) =>
    seed
      ? [
          {
            id: 'seed-method',
            severity: 'info',
            server: 'config',
            message: `seed method: ${seed.method} (${seed.reason})`,
            fix: 'set migration.seedMethod to choose it yourself',
          },
        ]
      : [],
};

/** The server a snapshot restore would copy, while that restore is still ahead. */
function snapshotToCome({ seed, phase, servers }: PreflightFacts): ServerFacts | undefined {
  if (seed?.method !== 'snapshot' || phase.seeded) return undefined;
  return servers['source-slave'] ?? servers['source-master'];
}

/** A restore keeps the snapshot's engine version; RDS upgrades across major versions only as a separate step. */
export const snapshotEngineVersion: Check = {
  ids: ['snapshot-engine-version'],
  concern: 'seed',
  run: (facts) => {
    const copied = snapshotToCome(facts);
    const wanted = facts.config.targetEngineVersion;
    const [major, minor] = wanted.split('.').map(Number);
    if (!copied || (major === copied.major && minor === copied.minor)) return [];
    return [
      {
        id: 'snapshot-engine-version',
        severity: 'block',
        server: 'config',
        message: `target.engineVersion ${wanted} is not the replica's ${copied.major}.${copied.minor} (${copied.version}); a target restored from its snapshot runs the snapshot's major version`,
        fix: `set target.engineVersion to ${copied.version.split('-')[0]} (upgrade after the migration), or use seedMethod logical to change versions now`,
      },
    ];
  },
};

/** Asks AWS what it would otherwise refuse only half-way through the target deploy, after the freeze. */
export const snapshotPossibleOnAws: Check = {
  ids: ['aws-check', 'replica-not-snapshottable', 'kms-key-region', 'kms-key-state', 'kms-key-usage', 'kms-key-policy'],
  concern: 'seed',
  run: async (facts, { ctx }) => {
    const { config } = ctx;
    const replicaId = snapshotToCome(facts) && ctx.outputs().replica?.identifier;
    if (!replicaId || !config.migration.awsChecks || config.migration.serverKind !== 'rds') return [];
    return awsSnapshotFindings(config, replicaId);
  },
};
