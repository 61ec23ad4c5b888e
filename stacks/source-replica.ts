import { Construct } from 'constructs';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';
import type { DataAwsDbInstance } from '@cdktf/provider-aws/lib/data-aws-db-instance/index.js';

export interface SourceReplicaProps {
  /** The source-master, looked up (see SourceLookup). */
  readonly source: DataAwsDbInstance;
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
    this.instance = new DbInstance(this, 'source-slave', {
      identifier: props.identifier,
      // The ARN rather than the identifier: it also works when the replica is in another region.
      replicateSourceDb: props.source.dbInstanceArn,
      instanceClass: props.instanceClass ?? props.source.dbInstanceClass,
      vpcSecurityGroupIds: props.source.vpcSecurityGroups,
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
