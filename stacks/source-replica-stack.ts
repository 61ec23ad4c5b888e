import type { Construct } from 'constructs';
import { type App, TerraformOutput, TerraformStack } from 'cdktf';
import { stateBackend } from './backend.js';
import type { MigrationConfig } from '../config/schema.js';
import { awsProvider } from './provider.js';
import { SourceLookup } from './source-lookup.js';
import { SourceReplica } from './source-replica.js';

import { replicaIdentifier, SOURCE_REPLICA_STACK } from './names.js';

export { replicaIdentifier, SOURCE_REPLICA_STACK };

/**
 * The temporary source-slave, declared until the target has caught up; from
 * then on the stack declares no replica, so the next deploy removes it (the
 * stack stays, exporting the source endpoint).
 */
export class SourceReplicaStack extends TerraformStack {
  readonly replica?: SourceReplica;

  constructor(
    scope: Construct,
    config: MigrationConfig,
    options: { declareReplica?: boolean; replicaGeneration?: number } = {},
    id = SOURCE_REPLICA_STACK,
  ) {
    super(scope, id);
    stateBackend(this, config, id, (scope as App).outdir);
    awsProvider(this, config);
    const source = new SourceLookup(this, 'source', { instanceIdentifier: config.source.instanceIdentifier }).instance;
    if (options.declareReplica ?? true) {
      this.replica = new SourceReplica(this, 'replica', {
        source,
        identifier: replicaIdentifier(config, options.replicaGeneration),
        instanceClass: config.replica.instanceClass,
        tags: config.tags,
      });
      new TerraformOutput(this, 'replica_identifier', { value: this.replica.instance.identifier });
      new TerraformOutput(this, 'replica_address', { value: this.replica.instance.address });
      new TerraformOutput(this, 'replica_port', { value: this.replica.instance.port });
    }
    // The engine reaches the source before the target stack exists (the snapshot seed deploys it after the freeze).
    new TerraformOutput(this, 'source_address', { value: source.address });
    new TerraformOutput(this, 'source_port', { value: source.port });
  }
}
