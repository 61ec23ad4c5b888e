import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group/index.js';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import type { EngineFamily } from '../config/schema.js';
import { parameterGroupFamily, replicationParameters } from './engine.js';
import { FrozenReplicaSnapshot, type FrozenPosition } from './frozen-replica-snapshot.js';
import { sourceAttributes, type HostProps, type SourceInstance } from './source-instance.js';

export interface EncryptedTargetProps extends HostProps {
  /** The source-master: looked up (see SourceLookup) or the host app's own DbInstance. Used for defaults and the network rules. */
  readonly source: SourceInstance;
  readonly engine: EngineFamily;
  /** Must not be older than the source's version. */
  readonly engineVersion: string;
  readonly identifier: string;
  /** @default the source's instance class */
  readonly instanceClass?: string;
  /** GiB. @default the source's allocated storage */
  readonly allocatedStorage?: number;
  /** GiB. @default no storage autoscaling */
  readonly maxAllocatedStorage?: number;
  /** @default the source's storage type */
  readonly storageType?: string;
  /** @default the source's Multi-AZ setting */
  readonly multiAz?: boolean;
  /**
   * Load mode for a full load: automated backups off (so no binary log) and single-AZ. Switch it off
   * before the target is pointed at the source; changing backup retention between 0 and more restarts the instance.
   * @default false
   */
  readonly loadMode?: boolean;
  /** @default admin */
  readonly masterUsername?: string;
  /** Encrypt with this key instead of creating one. @default a new key with rotation on */
  readonly kmsKeyArn?: string;
  /** Binlogs on RDS only exist with automated backups. @default 7 */
  readonly backupRetentionDays?: number;
  /** @default true */
  readonly deletionProtection?: boolean;
  /** Extra parameters; the replication ones cannot be overridden. @default {} */
  readonly parameters?: Record<string, string>;
  /** @default the source's DB subnet group */
  readonly dbSubnetGroupName?: string;
  /** @default the source's VPC security groups */
  readonly securityGroupIds?: string[];
  /** The source's security group for the replication rules (target → source, and source → target after cutover). @default the source's first VPC security group */
  readonly sourceSecurityGroupId?: string;
  /** Add the ingress rules for replication in both directions (forward, and reverse after cutover). @default true */
  readonly allowTargetToReachSource?: boolean;
  /** @default {} */
  readonly tags?: Record<string, string>;
  /**
   * Restore the target from an encrypted copy of a snapshot of the frozen
   * replica instead of creating it empty (the storage-level seed).
   * @default an empty instance, seeded logically
   */
  readonly restoreFromFrozenReplica?: {
    replicaIdentifier: string;
    frozen: FrozenPosition;
    /**
     * Declare the snapshot of the frozen replica and its encrypted copy. After finalize they are only
     * copies of old data (one of them unencrypted): not declaring them makes the next deploy delete them;
     * the restored instance stays as it is.
     * @default true
     */
    keepSnapshots?: boolean;
  };
}

/**
 * The new, KMS-encrypted target-master: key, parameter group, instance and
 * the network rule it needs to replicate from the source. Its master password
 * is generated and held by AWS Secrets Manager, so no password is in the
 * config, the synthesized JSON or the Terraform state.
 */
export class EncryptedTarget extends Construct {
  readonly instance: DbInstance;
  readonly parameterGroup: DbParameterGroup;
  readonly kmsKeyArn: string;
  readonly kmsKey?: KmsKey;
  readonly frozenSnapshot?: FrozenReplicaSnapshot;

  constructor(scope: Construct, id: string, props: EncryptedTargetProps) {
    super(scope, id);
    const { provider } = props;
    const source = sourceAttributes(props.source);
    const tags = { ...props.tags, 'rds-live-migrate:role': 'target-master' };
    const reserved = Object.keys(replicationParameters(props.engine)).filter((name) => props.parameters && name in props.parameters);
    if (reserved.length) {
      throw new Error(`EncryptedTarget ${props.identifier}: parameters ${reserved.join(', ')} are set by rds-live-migrate for replication and cannot be overridden; remove them from target.parameters`);
    }

    if (props.kmsKeyArn) {
      this.kmsKeyArn = props.kmsKeyArn;
    } else {
      this.kmsKey = new KmsKey(this, 'key', {
        provider,
        description: `rds-live-migrate: storage encryption for ${props.identifier}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      });
      new KmsAlias(this, 'key-alias', { provider, name: `alias/rds-live-migrate/${props.identifier}`, targetKeyId: this.kmsKey.keyId });
      this.kmsKeyArn = this.kmsKey.arn;
    }

    const family = parameterGroupFamily(props.engine, props.engineVersion);
    const parameters = { ...props.parameters, ...replicationParameters(props.engine) };
    this.parameterGroup = new DbParameterGroup(this, 'parameters', {
      provider,
      name: `${props.identifier}-${family.replace('.', '-')}`,
      family,
      description: `rds-live-migrate: replication settings for ${props.identifier}`,
      parameter: Object.entries(parameters)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => ({ name, value, applyMethod: 'pending-reboot' })),
      tags,
      lifecycle: { createBeforeDestroy: true },
    });

    const restore = props.restoreFromFrozenReplica;
    if (restore && (restore.keepSnapshots ?? true)) {
      this.frozenSnapshot = new FrozenReplicaSnapshot(this, 'seed-snapshot', {
        provider,
        replicaIdentifier: restore.replicaIdentifier,
        frozen: restore.frozen,
        kmsKeyArn: this.kmsKeyArn,
        identifierPrefix: props.identifier,
        tags,
      });
    }

    this.instance = new DbInstance(this, 'target-master', {
      provider,
      identifier: props.identifier,
      engine: props.engine,
      engineVersion: props.engineVersion,
      instanceClass: props.instanceClass ?? source.instanceClass,
      allocatedStorage: props.allocatedStorage ?? source.allocatedStorage,
      maxAllocatedStorage: props.maxAllocatedStorage,
      storageType: props.storageType ?? source.storageType,
      multiAz: props.loadMode ? false : (props.multiAz ?? source.multiAz),
      // A restored instance takes its master user name from the snapshot.
      username: restore ? undefined : (props.masterUsername ?? 'admin'),
      snapshotIdentifier: this.frozenSnapshot?.encryptedCopy.dbSnapshotArn,
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: this.kmsKeyArn,
      storageEncrypted: true,
      kmsKeyId: this.kmsKeyArn,
      parameterGroupName: this.parameterGroup.name,
      dbSubnetGroupName: props.dbSubnetGroupName ?? source.dbSubnetGroupName,
      vpcSecurityGroupIds: props.securityGroupIds ?? source.securityGroupIds,
      backupRetentionPeriod: props.loadMode ? 0 : (props.backupRetentionDays ?? 7),
      deletionProtection: props.deletionProtection ?? true,
      copyTagsToSnapshot: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${props.identifier}-final`,
      autoMinorVersionUpgrade: false,
      applyImmediately: true,
      tags,
      // Both force a new instance. How the target was seeded must never replace it later,
      // e.g. when a config switches seedMethod after the migration.
      lifecycle: { ignoreChanges: ['snapshot_identifier', 'username'] },
    });

    if (props.allowTargetToReachSource ?? true) {
      const targetGroup = Fn.element(props.securityGroupIds ?? source.securityGroupIds, 0);
      const sourceGroup = props.sourceSecurityGroupId ?? Fn.element(source.securityGroupIds, 0);
      new VpcSecurityGroupIngressRule(this, 'target-to-source', {
        provider,
        description: `rds-live-migrate: ${props.identifier} replicates from the source`,
        securityGroupId: sourceGroup,
        referencedSecurityGroupId: targetGroup,
        ipProtocol: 'tcp',
        fromPort: source.port,
        toPort: source.port,
        tags,
      });
      // After cutover the old source follows the target (reverse replication, the way back).
      new VpcSecurityGroupIngressRule(this, 'source-to-target', {
        provider,
        description: `rds-live-migrate: the old source follows ${props.identifier} after cutover`,
        securityGroupId: targetGroup,
        referencedSecurityGroupId: sourceGroup,
        ipProtocol: 'tcp',
        fromPort: this.instance.port,
        toPort: this.instance.port,
        tags,
      });
    }
  }

  /** ARN of the Secrets Manager secret that holds the master password. */
  get masterSecretArn(): string {
    return this.instance.masterUserSecret.get(0).secretArn;
  }
}
