import type { Construct } from 'constructs';
import { type App, TerraformOutput, TerraformStack } from 'cdktf';
import { stateBackend } from './backend.js';
import type { MigrationConfig } from '../config/schema.js';
import { EncryptedTarget, type EncryptedTargetProps } from './encrypted-target.js';
import { awsProvider } from './provider.js';
import { SourceLookup } from './source-lookup.js';

export const TARGET_STACK = 'target';

/** The encrypted target-master and what it needs to replicate from the source. */
export class TargetStack extends TerraformStack {
  readonly target: EncryptedTarget;

  constructor(scope: Construct, config: MigrationConfig, options: { restoreFromFrozenReplica?: EncryptedTargetProps['restoreFromFrozenReplica']; loadMode?: boolean } = {}, id = TARGET_STACK) {
    super(scope, id);
    stateBackend(this, config, id, (scope as App).outdir);
    awsProvider(this, config);
    const source = new SourceLookup(this, 'source', { instanceIdentifier: config.source.instanceIdentifier }).instance;
    const t = config.target;
    this.target = new EncryptedTarget(this, 'target', {
      source,
      engine: config.engine,
      engineVersion: t.engineVersion,
      identifier: t.instanceIdentifier,
      instanceClass: t.instanceClass,
      allocatedStorage: t.allocatedStorage,
      maxAllocatedStorage: t.maxAllocatedStorage,
      storageType: t.storageType,
      multiAz: t.multiAz,
      masterUsername: t.masterUsername,
      kmsKeyArn: t.kmsKeyArn,
      backupRetentionDays: t.backupRetentionDays,
      deletionProtection: t.deletionProtection,
      parameters: t.parameters,
      dbSubnetGroupName: config.network.dbSubnetGroupName,
      securityGroupIds: config.network.securityGroupIds,
      sourceSecurityGroupId: config.source.securityGroupId,
      allowTargetToReachSource: config.network.allowTargetToReachSource,
      tags: config.tags,
      restoreFromFrozenReplica: options.restoreFromFrozenReplica,
      loadMode: options.loadMode,
    });
    new TerraformOutput(this, 'target_identifier', { value: this.target.instance.identifier });
    new TerraformOutput(this, 'target_address', { value: this.target.instance.address });
    new TerraformOutput(this, 'target_port', { value: this.target.instance.port });
    new TerraformOutput(this, 'master_secret_arn', { value: this.target.masterSecretArn });
    new TerraformOutput(this, 'kms_key_arn', { value: this.target.kmsKeyArn });
    // The engine reads from the outputs whether the deployed target is still in load mode.
    new TerraformOutput(this, 'target_load_mode', { value: options.loadMode ? 'on' : 'off' });
    const snapshot = this.target.frozenSnapshot?.encryptedCopy;
    if (snapshot) new TerraformOutput(this, 'frozen_snapshot_identifier', { value: snapshot.targetDbSnapshotIdentifier });
    new TerraformOutput(this, 'source_address', { value: source.address });
    new TerraformOutput(this, 'source_port', { value: source.port });
  }
}
