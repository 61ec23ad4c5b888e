import { Annotations, App } from 'cdktf';
import type { MigrationConfig } from '../config/schema.js';
import { replicaIdentifier, SourceReplicaStack } from './source-replica-stack.js';
import { TargetStack } from './target-stack.js';
import { targetSeed } from './target-seed.js';

/**
 * The stacks of a migration in one app; main.ts is this plus loading the
 * config. The target stack is left out while its seed is deferred (see
 * targetSeed), so no deploy can snapshot a replica that is not frozen.
 */
export function buildApp(config: MigrationConfig, outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  const replica = new SourceReplicaStack(app, config);
  const seed = targetSeed(config);
  if (seed.kind === 'empty') new TargetStack(app, config);
  else if (seed.kind === 'restore') {
    new TargetStack(app, config, { restoreFromFrozenReplica: { replicaIdentifier: replicaIdentifier(config), frozen: seed.frozen, keepUnencryptedSnapshot: !seed.finalized } });
  }
  else Annotations.of(replica).addInfo(`target stack not declared yet: ${seed.reason}`);
  return app;
}
