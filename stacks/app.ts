import { App } from 'cdktf';
import type { MigrationConfig } from '../config/schema.js';
import { SourceReplicaStack } from './source-replica-stack.js';
import { TargetStack } from './target-stack.js';

/** Both stacks of a migration in one app; main.ts is this plus loading the config. */
export function buildApp(config: MigrationConfig, outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new SourceReplicaStack(app, config);
  new TargetStack(app, config);
  return app;
}
