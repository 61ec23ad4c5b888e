import { Annotations, App } from 'cdktf';
import type { MigrationConfig } from '../config/schema.js';
import { readMigrationState, stateFingerprint } from '../scripts/core/migration-state.js';
import { declaredInfrastructure, type MigrationState } from '../scripts/core/phases.js';
import { replicaIdentifier, SourceReplicaStack } from './source-replica-stack.js';
import { TargetStack } from './target-stack.js';

/**
 * The stacks of a migration in one app; main.ts is this plus loading the
 * config. What they declare follows the migration's phase (scripts/core/phases.ts):
 * the replica until the target has caught up, the target once it may exist,
 * the snapshots of the storage-level seed until finalize.
 */
export function buildApp(config: MigrationConfig, state: MigrationState = readMigrationState(config), outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  const declared = declaredInfrastructure(state);
  const replica = new SourceReplicaStack(app, config, { declareReplica: declared.replica, replicaGeneration: declared.replicaGeneration });
  const annotate = (m: string) => Annotations.of(replica).addInfo(m);
  annotate(`migration phase: ${state.phase} (state ${stateFingerprint(state)})`);
  const configured = config.migration.seedMethod;
  if (state.seedMethod && configured !== 'auto' && configured !== state.seedMethod)
    Annotations.of(replica).addWarning(
      `migration.seedMethod is ${configured}, but this migration was seeded (or chose to seed) with ${state.seedMethod}: the stacks and run follow the journal; set seedMethod back to ${state.seedMethod}, or start a new migration (another name) to use ${configured}`,
    );
  const target = declared.target;
  const durability = declared.targetDurability;
  if (target.kind === 'empty') new TargetStack(app, config, { phase: state.phase, loadMode: target.loadMode, durability });
  else if (target.kind === 'restore') {
    new TargetStack(app, config, {
      phase: state.phase,
      durability,
      restoreFromFrozenReplica: {
        replicaIdentifier: replicaIdentifier(config, declared.replicaGeneration),
        frozen: target.frozen,
        keepSnapshots: target.snapshots,
      },
    });
  } else annotate(`target stack not declared yet: ${target.reason}`);
  return app;
}
