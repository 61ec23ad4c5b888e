import type { MigrationConfig } from '../config/schema.js';

// Names the engine shares with the stacks. Kept apart from the constructs so that the CLI does not
// load the AWS provider's bindings (most of a second) to learn them.

export const SOURCE_REPLICA_STACK = 'source-replica';
export const TARGET_STACK = 'target';

/**
 * Identifier of the temporary replica, derived so that re-runs find the same
 * one; after a reseed (generation n) a new one, so the deploy replaces it.
 */
export function replicaIdentifier(config: MigrationConfig, generation = 0): string {
  return `${config.source.instanceIdentifier.slice(0, 48)}-rlm-replica${generation > 0 ? `-${generation + 1}` : ''}`;
}
