import { Construct } from 'constructs';
import { DbSnapshot } from '@cdktf/provider-aws/lib/db-snapshot/index.js';
import { DbSnapshotCopy } from '@cdktf/provider-aws/lib/db-snapshot-copy/index.js';

import type { FrozenPosition } from '../scripts/core/journal-format.js';
import type { HostProps } from './source-instance.js';

export type { FrozenPosition } from '../scripts/core/journal-format.js';

export interface FrozenReplicaSnapshotProps extends HostProps {
  /** Identifier of the frozen source-slave. */
  readonly replicaIdentifier: string;
  /** Where the replica was frozen. Required: a snapshot of a replica that still applies changes matches no position. */
  readonly frozen: FrozenPosition;
  /** The target's key: the copy is where encryption happens. */
  readonly kmsKeyArn: string;
  /** Prefix of the snapshot identifiers, usually the target's identifier. */
  readonly identifierPrefix: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * A manual snapshot of the frozen replica and its copy encrypted with the
 * target's key, for the storage-level seed. Both carry the frozen position in
 * their tags, so a reviewer sees in the diff which position the target will
 * resume replication from.
 */
export class FrozenReplicaSnapshot extends Construct {
  readonly snapshot: DbSnapshot;
  readonly encryptedCopy: DbSnapshotCopy;

  constructor(scope: Construct, id: string, props: FrozenReplicaSnapshotProps) {
    super(scope, id);
    const { file, pos } = props.frozen.executed ?? {};
    if (!file || !Number.isInteger(pos) || pos <= 0) {
      throw new Error(
        `FrozenReplicaSnapshot ${props.identifierPrefix}: the snapshot path needs the executed position recorded when ${props.replicaIdentifier} was frozen (got ${JSON.stringify(props.frozen)}); run \`rds-live-migrate run\` with seedMethod snapshot to freeze it first`,
      );
    }
    const at = `${file.replace(/[^A-Za-z0-9]/g, '-')}-${pos}`;
    const tags = { ...props.tags, 'rds-live-migrate:frozen-at': `${file}:${pos}` };
    const snapshotIdentifier = `${props.identifierPrefix}-frozen-${at}`;
    this.snapshot = new DbSnapshot(this, 'frozen', {
      provider: props.provider,
      dbInstanceIdentifier: props.replicaIdentifier,
      dbSnapshotIdentifier: snapshotIdentifier,
      tags,
    });
    this.encryptedCopy = new DbSnapshotCopy(this, 'encrypted-copy', {
      provider: props.provider,
      sourceDbSnapshotIdentifier: this.snapshot.dbSnapshotArn,
      targetDbSnapshotIdentifier: `${props.identifierPrefix}-encrypted-${at}`,
      kmsKeyId: props.kmsKeyArn,
      copyTags: true,
      tags,
    });
  }
}
