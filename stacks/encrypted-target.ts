import { Construct } from 'constructs';
import { Fn, Op } from 'cdktf';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DataAwsDbSubnetGroup } from '@cdktf/provider-aws/lib/data-aws-db-subnet-group/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region/index.js';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group/index.js';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import type { EngineFamily } from '../config/schema.js';
import { applyParameters, DURABILITY, durabilityParameters, parameterGroupFamily, targetOwnedParameters } from './engine.js';

export { targetOwnedParameters };
import { FrozenReplicaSnapshot, type FrozenPosition } from './frozen-replica-snapshot.js';
import { sourceAttributes, type HostProps, type SourceAttributes, type SourceInstance } from './source-instance.js';

/** Instance settings copied from the source unless given (docs/target-settings.md). */
export interface TwinSettings {
  /** @default the source's option group, unless it is an RDS default group (which belongs to one engine version) */
  readonly optionGroupName?: string;
  /** @default the source's provisioned IOPS, where RDS accepts them (io1/io2, gp3 from 400 GiB) */
  readonly iops?: number;
  /** MiB/s. @default the source's, where RDS accepts it (gp3 from 400 GiB) */
  readonly storageThroughput?: number;
  /** @default the source's */
  readonly backupWindow?: string;
  /** @default the source's */
  readonly maintenanceWindow?: string;
  /** Enhanced monitoring, seconds. @default the source's */
  readonly monitoringInterval?: number;
  /** @default the source's */
  readonly monitoringRoleArn?: string;
  /** @default a host DbInstance's setting; off for a looked-up source (the data source does not expose it). The key defaults to the target's own key. */
  readonly performanceInsights?: { enabled: boolean; kmsKeyArn?: string; retentionDays?: number };
  /** @default the source's */
  readonly cloudwatchLogsExports?: string[];
  /** @default the source's */
  readonly caCertIdentifier?: string;
  /** @default a host DbInstance's setting; true for a looked-up source */
  readonly copyTagsToSnapshot?: boolean;
  /** @default the source's */
  readonly port?: number;
  /** @default the source's */
  readonly autoMinorVersionUpgrade?: boolean;
  /** @default a host DbInstance's setting; false for a looked-up source */
  readonly iamDatabaseAuthentication?: boolean;
}

export interface EncryptedTargetProps extends HostProps, TwinSettings {
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
  /** GiB. @default the source's storage autoscaling ceiling */
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
  /**
   * While the target only catches up: commits flushed once a second (innodb_flush_log_at_trx_commit=2,
   * sync_binlog=0), applied without a restart. Otherwise every commit is durable (1 and 1, unless
   * `parameters` says otherwise). @default false
   */
  readonly relaxedDurability?: boolean;
  /** @default admin */
  readonly masterUsername?: string;
  /** Encrypt with this key instead of creating one. @default a new key with rotation on */
  readonly kmsKeyArn?: string;
  /** Administrators of the key the construct creates; they manage it, only RDS and Secrets Manager use it. @default the account root (delegating to IAM) */
  readonly keyAdminArns?: string[];
  /** require_secure_transport on the target. @default true */
  readonly requireSecureTransport?: boolean;
  /** Binlogs on RDS only exist with automated backups. @default 7 */
  readonly backupRetentionDays?: number;
  /** @default true */
  readonly deletionProtection?: boolean;
  /** Extra parameters; the replication ones cannot be overridden. @default {} */
  readonly parameters?: Record<string, string>;
  /** @default the source's DB subnet group */
  readonly dbSubnetGroupName?: string;
  /** Groups the target joins besides its own (so that what reaches the source reaches the target). @default the source's VPC security groups */
  readonly securityGroupIds?: string[];
  /** VPC of the target's own security group. @default the VPC of the target's DB subnet group */
  readonly vpcId?: string;
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
 * The new, KMS-encrypted target-master: key, parameter group, instance, its own
 * security group and the network rules it needs to replicate from the source
 * (and back after cutover). Its master password is generated and held by AWS
 * Secrets Manager, so no password is in the config, the synthesized JSON or the
 * Terraform state. Every instance setting the source exposes is copied unless
 * given: after cutover the application runs on this instance.
 */
export class EncryptedTarget extends Construct {
  readonly instance: DbInstance;
  readonly parameterGroup: DbParameterGroup;
  readonly securityGroup: SecurityGroup;
  readonly kmsKeyArn: string;
  readonly kmsKey?: KmsKey;
  readonly frozenSnapshot?: FrozenReplicaSnapshot;

  constructor(scope: Construct, id: string, props: EncryptedTargetProps) {
    super(scope, id);
    const { provider } = props;
    const source = sourceAttributes(props.source);
    const tags = { ...props.tags, 'rds-live-migrate:role': 'target-master' };
    const ours = targetOwnedParameters(props.engine, props.requireSecureTransport ?? true);
    const reserved = Object.keys(ours).filter((name) => props.parameters && name in props.parameters);
    if (reserved.length) {
      const transport = reserved.includes('require_secure_transport')
        ? ' (to allow unencrypted connections, set target.requireSecureTransport to false)'
        : '';
      throw new Error(
        `EncryptedTarget ${props.identifier}: parameters ${reserved.join(', ')} are set by rds-live-migrate for replication and cannot be overridden; remove them from target.parameters${transport}`,
      );
    }

    if (props.kmsKeyArn) {
      this.kmsKeyArn = props.kmsKeyArn;
    } else {
      this.kmsKey = new KmsKey(this, 'key', {
        provider,
        description: `rds-live-migrate: storage encryption for ${props.identifier}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: keyPolicy(this, provider, props.keyAdminArns),
        tags,
      });
      new KmsAlias(this, 'key-alias', { provider, name: `alias/rds-live-migrate/${props.identifier}`, targetKeyId: this.kmsKey.keyId });
      this.kmsKeyArn = this.kmsKey.arn;
    }

    const family = parameterGroupFamily(props.engine, props.engineVersion);
    const parameters = {
      ...applyParameters(props.engine),
      ...durabilityParameters('strict'),
      ...props.parameters,
      ...ours,
      ...(props.relaxedDurability ? durabilityParameters('relaxed') : {}),
    };
    this.parameterGroup = new DbParameterGroup(this, 'parameters', {
      provider,
      name: `${props.identifier}-${family.replace('.', '-')}`,
      family,
      description: `rds-live-migrate: replication settings for ${props.identifier}`,
      parameter: Object.entries(parameters)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => ({ name, value, applyMethod: name in DURABILITY ? 'immediate' : 'pending-reboot' })),
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

    const dbSubnetGroupName = props.dbSubnetGroupName ?? source.dbSubnetGroupName;
    const vpcId = props.vpcId ?? new DataAwsDbSubnetGroup(this, 'subnet-group', { provider, name: dbSubnetGroupName }).vpcId;
    this.securityGroup = new SecurityGroup(this, 'security-group', {
      provider,
      name: `${props.identifier}-rlm-target`,
      description: `rds-live-migrate: replication between ${props.identifier} and its source`,
      vpcId,
      tags,
    });

    const storageType = props.storageType ?? source.storageType;
    const allocatedStorage = props.allocatedStorage ?? source.allocatedStorage;
    this.instance = new DbInstance(this, 'target-master', {
      provider,
      identifier: props.identifier,
      engine: props.engine,
      engineVersion: props.engineVersion,
      instanceClass: props.instanceClass ?? source.instanceClass,
      allocatedStorage,
      maxAllocatedStorage: props.maxAllocatedStorage ?? source.maxAllocatedStorage,
      storageType,
      ...provisionedStorage(props, source, storageType, allocatedStorage),
      multiAz: props.loadMode ? false : (props.multiAz ?? source.multiAz),
      // A restored instance takes its master user name from the snapshot.
      username: restore ? undefined : (props.masterUsername ?? 'admin'),
      snapshotIdentifier: this.frozenSnapshot?.encryptedCopy.dbSnapshotArn,
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: this.kmsKeyArn,
      storageEncrypted: true,
      kmsKeyId: this.kmsKeyArn,
      parameterGroupName: this.parameterGroup.name,
      dbSubnetGroupName,
      vpcSecurityGroupIds: Fn.concat([[this.securityGroup.id], props.securityGroupIds ?? source.securityGroupIds]) as string[],
      backupRetentionPeriod: props.loadMode ? 0 : (props.backupRetentionDays ?? 7),
      deletionProtection: props.deletionProtection ?? true,
      ...twinSettings(props, source, this.kmsKeyArn),
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${props.identifier}-final`,
      applyImmediately: true,
      tags,
      // Both force a new instance. How the target was seeded must never replace it later,
      // e.g. when a config switches seedMethod after the migration.
      lifecycle: { ignoreChanges: ['snapshot_identifier', 'username'] },
    });

    if (props.allowTargetToReachSource ?? true) {
      replicationRules(this, {
        provider,
        identifier: props.identifier,
        tags,
        targetGroup: this.securityGroup.id,
        sourceGroup: props.sourceSecurityGroupId ?? Fn.element(source.securityGroupIds, 0),
        sourcePort: source.port,
        targetPort: this.instance.port,
      });
    }
  }

  /** ARN of the Secrets Manager secret that holds the master password. */
  get masterSecretArn(): string {
    return this.instance.masterUserSecret.get(0).secretArn;
  }
}

// RDS refuses IOPS and throughput below its baseline: gp3 under 400 GiB (MariaDB, MySQL) and gp2 take none.
function provisionedStorage(props: EncryptedTargetProps, source: SourceAttributes, storageType: string, allocatedStorage: number) {
  const gp3Provisioned = Op.and(Op.eq(storageType, 'gp3'), Op.gte(allocatedStorage, 400));
  const takesIops = Op.or(Op.or(Op.eq(storageType, 'io1'), Op.eq(storageType, 'io2')), gp3Provisioned);
  return {
    iops: props.iops ?? (Fn.conditional(takesIops, source.iops, null) as number),
    storageThroughput: props.storageThroughput ?? (Fn.conditional(gp3Provisioned, source.storageThroughput, null) as number),
  };
}

function twinSettings(props: EncryptedTargetProps, source: SourceAttributes, kmsKeyArn: string) {
  // An RDS default option group belongs to one engine major version; the target gets its own version's default.
  const optionGroupName =
    props.optionGroupName ?? (Fn.conditional(Fn.startswith(source.optionGroupName, 'default:'), null, source.optionGroupName) as string);
  return {
    optionGroupName,
    backupWindow: props.backupWindow ?? source.backupWindow,
    maintenanceWindow: props.maintenanceWindow ?? source.maintenanceWindow,
    monitoringInterval: props.monitoringInterval ?? source.monitoringInterval,
    monitoringRoleArn: props.monitoringRoleArn ?? source.monitoringRoleArn,
    enabledCloudwatchLogsExports: props.cloudwatchLogsExports ?? source.cloudwatchLogsExports,
    caCertIdentifier: props.caCertIdentifier ?? source.caCertIdentifier,
    copyTagsToSnapshot: props.copyTagsToSnapshot ?? source.copyTagsToSnapshot ?? true,
    port: props.port ?? source.port,
    autoMinorVersionUpgrade: props.autoMinorVersionUpgrade ?? source.autoMinorVersionUpgrade,
    iamDatabaseAuthenticationEnabled: props.iamDatabaseAuthentication ?? source.iamDatabaseAuthentication ?? false,
    ...performanceInsights(props, source, kmsKeyArn),
  };
}

// The Performance Insights key cannot change once set, and the source's key is the source's business:
// the target's own key keeps every copy of the target's data under one policy.
function performanceInsights(props: EncryptedTargetProps, source: SourceAttributes, kmsKeyArn: string) {
  const given = props.performanceInsights;
  if (given) {
    if (!given.enabled) return { performanceInsightsEnabled: false };
    return {
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: given.kmsKeyArn ?? kmsKeyArn,
      performanceInsightsRetentionPeriod: given.retentionDays ?? 7,
    };
  }
  const copied = source.performanceInsights;
  if (!copied) return { performanceInsightsEnabled: false };
  const whenOn = <T>(value: T) => Fn.conditional(copied.enabled, value, null) as T;
  return {
    performanceInsightsEnabled: copied.enabled,
    performanceInsightsKmsKeyId: whenOn(kmsKeyArn),
    performanceInsightsRetentionPeriod: whenOn(copied.retentionDays),
  };
}

/**
 * Administrators manage the key and never use it; RDS and Secrets Manager (the
 * master password) use it on behalf of principals of this account only.
 */
function keyPolicy(scope: Construct, provider: HostProps['provider'], adminArns: string[] | undefined): string {
  const account = new DataAwsCallerIdentity(scope, 'account', { provider }).accountId;
  const partition = new DataAwsPartition(scope, 'partition', { provider }).partition;
  const region = new DataAwsRegion(scope, 'region', { provider }).region;
  return Fn.jsonencode({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'KeyAdministrators',
        Effect: 'Allow',
        Principal: { AWS: adminArns ?? [`arn:${partition}:iam::${account}:root`] },
        Action: KEY_ADMIN_ACTIONS,
        Resource: '*',
      },
      {
        Sid: 'UseThroughRdsOnly',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncrypt*',
          'kms:GenerateDataKey*',
          'kms:CreateGrant',
          'kms:ListGrants',
          'kms:DescribeKey',
        ],
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:CallerAccount': account,
            'kms:ViaService': [`rds.${region}.amazonaws.com`, `secretsmanager.${region}.amazonaws.com`],
          },
        },
      },
    ],
  });
}

const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];

interface RuleProps extends HostProps {
  identifier: string;
  tags: Record<string, string>;
  targetGroup: string;
  sourceGroup: string;
  sourcePort: number;
  targetPort: number;
}

/**
 * One rule each way between the target's own group and the source's group,
 * never a group referencing itself: that would open the port to every member
 * of a group often shared with application hosts.
 */
function replicationRules(scope: Construct, r: RuleProps) {
  const { provider, tags } = r;
  new VpcSecurityGroupIngressRule(scope, 'target-to-source', {
    provider,
    description: `rds-live-migrate: ${r.identifier} replicates from the source`,
    securityGroupId: r.sourceGroup,
    referencedSecurityGroupId: r.targetGroup,
    ipProtocol: 'tcp',
    fromPort: r.sourcePort,
    toPort: r.sourcePort,
    tags,
  });
  // The target's own group starts with no egress (Terraform removes AWS's default rule).
  new VpcSecurityGroupEgressRule(scope, 'target-out-to-source', {
    provider,
    description: `rds-live-migrate: ${r.identifier} connects to the source`,
    securityGroupId: r.targetGroup,
    referencedSecurityGroupId: r.sourceGroup,
    ipProtocol: 'tcp',
    fromPort: r.sourcePort,
    toPort: r.sourcePort,
    tags,
  });
  // After cutover the old source follows the target (reverse replication, the way back).
  new VpcSecurityGroupIngressRule(scope, 'source-to-target', {
    provider,
    description: `rds-live-migrate: the old source follows ${r.identifier} after cutover`,
    securityGroupId: r.targetGroup,
    referencedSecurityGroupId: r.sourceGroup,
    ipProtocol: 'tcp',
    fromPort: r.targetPort,
    toPort: r.targetPort,
    tags,
  });
}
