import type { Construct } from 'constructs';
import { type App, TerraformOutput, TerraformStack } from 'cdktf';
import { stateBackend } from './backend.js';
import type { MigrationConfig } from '../config/schema.js';
import type { Phase } from '../scripts/core/phases.js';
import { EncryptedTarget, type EncryptedTargetProps } from './encrypted-target.js';
import { DnsName } from './dns-name.js';
import { awsProvider } from './provider.js';
import { SourceLookup } from './source-lookup.js';

import { TARGET_STACK } from './names.js';

export { TARGET_STACK };

export interface TargetStackOptions {
  restoreFromFrozenReplica?: EncryptedTargetProps['restoreFromFrozenReplica'];
  /** The migration's phase: after finalize the application's DNS name is declared at the target. @default planned */
  phase?: Phase;
  /** The target's load mode during the logical seed (see EncryptedTargetProps.loadMode). @default false */
  loadMode?: boolean;
  /** How the target flushes commits (see EncryptedTargetProps.relaxedDurability). @default strict */
  durability?: 'relaxed' | 'strict';
}

/** The encrypted target-master and what it needs to replicate from the source. */
export class TargetStack extends TerraformStack {
  readonly target: EncryptedTarget;

  constructor(scope: Construct, config: MigrationConfig, options: TargetStackOptions = {}, id = TARGET_STACK) {
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
      keyAdminArns: t.keyAdminArns,
      requireSecureTransport: t.requireSecureTransport,
      backupRetentionDays: t.backupRetentionDays,
      deletionProtection: t.deletionProtection,
      parameters: t.parameters,
      optionGroupName: t.optionGroupName,
      iops: t.iops,
      storageThroughput: t.storageThroughput,
      backupWindow: t.backupWindow,
      maintenanceWindow: t.maintenanceWindow,
      monitoringInterval: t.monitoringInterval,
      monitoringRoleArn: t.monitoringRoleArn,
      performanceInsights: t.performanceInsights,
      cloudwatchLogsExports: t.cloudwatchLogsExports,
      caCertIdentifier: t.caCertIdentifier,
      copyTagsToSnapshot: t.copyTagsToSnapshot,
      port: t.port,
      autoMinorVersionUpgrade: t.autoMinorVersionUpgrade,
      iamDatabaseAuthentication: t.iamDatabaseAuthentication,
      dbSubnetGroupName: config.network.dbSubnetGroupName,
      securityGroupIds: config.network.securityGroupIds,
      vpcId: config.network.vpcId,
      sourceSecurityGroupId: config.source.securityGroupId,
      allowTargetToReachSource: config.network.allowTargetToReachSource,
      tags: config.tags,
      restoreFromFrozenReplica: options.restoreFromFrozenReplica,
      loadMode: options.loadMode,
      relaxedDurability: options.durability === 'relaxed',
    });
    new TerraformOutput(this, 'target_identifier', { value: this.target.instance.identifier });
    new TerraformOutput(this, 'target_address', { value: this.target.instance.address });
    new TerraformOutput(this, 'target_port', { value: this.target.instance.port });
    new TerraformOutput(this, 'master_secret_arn', { value: this.target.masterSecretArn });
    new TerraformOutput(this, 'kms_key_arn', { value: this.target.kmsKeyArn });
    // The engine reads from the outputs whether the deployed target is still in load mode.
    new TerraformOutput(this, 'target_load_mode', { value: options.loadMode ? 'on' : 'off' });
    new TerraformOutput(this, 'target_durability', { value: options.durability ?? 'strict' });
    const snapshot = this.target.frozenSnapshot?.encryptedCopy;
    if (snapshot) new TerraformOutput(this, 'frozen_snapshot_identifier', { value: snapshot.targetDbSnapshotIdentifier });
    if (config.dns) {
      const finalized = options.phase === 'finalized';
      const dns = new DnsName(this, 'dns', {
        ...config.dns,
        pointsAt: finalized ? this.target.instance.address : source.address,
        switchedBy: finalized ? 'stack' : 'migration',
      });
      new TerraformOutput(this, 'dns_name', { value: dns.record.fqdn });
    }
    new TerraformOutput(this, 'source_address', { value: source.address });
    new TerraformOutput(this, 'source_port', { value: source.port });
  }
}
