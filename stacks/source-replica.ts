import { Construct } from 'constructs';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';
import { sourceAttributes, type HostProps, type SourceInstance } from './source-instance.js';

export interface SourceReplicaProps extends HostProps {
  /** The source-master: looked up (see SourceLookup) or the host app's own DbInstance. */
  readonly source: SourceInstance;
  /** Identifier of the temporary replica. */
  readonly identifier: string;
  /** @default the source's instance class */
  readonly instanceClass?: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * The temporary source-slave. It is frozen to give the seed a consistent,
 * unchanging copy and destroyed once the target replicates from the source,
 * so it keeps no final snapshot and has no deletion protection.
 */
export class SourceReplica extends Construct {
  readonly instance: DbInstance;

  constructor(scope: Construct, id: string, props: SourceReplicaProps) {
    super(scope, id);
    const source = sourceAttributes(props.source);
    this.instance = new DbInstance(this, 'source-slave', {
      provider: props.provider,
      identifier: props.identifier,
      // The ARN rather than the identifier: it also works when the replica is in another region.
      replicateSourceDb: source.arn,
      instanceClass: props.instanceClass ?? source.instanceClass,
      vpcSecurityGroupIds: source.securityGroupIds,
      // A replica of an unencrypted instance cannot be encrypted; this one is temporary.
      storageEncrypted: false,
      // The replica must not serve backups of its own: binlogs are read from source-master.
      backupRetentionPeriod: 0,
      skipFinalSnapshot: true,
      deletionProtection: false,
      applyImmediately: true,
      autoMinorVersionUpgrade: false,
      tags: { ...props.tags, 'rds-live-migrate:role': 'source-slave' },
    });
  }
}
