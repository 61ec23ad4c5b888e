import { Construct } from 'constructs';
import { DbSnapshot } from '@cdktf/provider-aws/lib/db-snapshot/index.js';
import { DbSnapshotCopy } from '@cdktf/provider-aws/lib/db-snapshot-copy/index.js';

/** The executed position recorded when source-slave was frozen (the journal's freeze-replica entry). */
export interface FrozenPosition {
  readonly executed: { readonly file: string; readonly pos: number };
  readonly frozenAt: string;
}

export interface FrozenReplicaSnapshotProps {
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
  /**
   * Keep the unencrypted snapshot of the replica. Once the migration is
   * finalized it is one more unencrypted copy of the data; declaring it no
   * longer makes the next deploy delete it (the encrypted copy stays).
   * @default true
   */
  readonly keepUnencryptedSnapshot?: boolean;
}

/**
 * A manual snapshot of the frozen replica and its copy encrypted with the
 * target's key, for the storage-level seed. Both carry the frozen position in
 * their tags, so a reviewer sees in the diff which position the target will
 * resume replication from.
 */
export class FrozenReplicaSnapshot extends Construct {
  /** Absent once keepUnencryptedSnapshot is false. */
  readonly snapshot?: DbSnapshot;
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
    if (props.keepUnencryptedSnapshot ?? true) {
      this.snapshot = new DbSnapshot(this, 'frozen', { dbInstanceIdentifier: props.replicaIdentifier, dbSnapshotIdentifier: snapshotIdentifier, tags });
    }
    this.encryptedCopy = new DbSnapshotCopy(this, 'encrypted-copy', {
      // The identifier, not a reference: the copy must stay as it is when the snapshot is dropped (its source forces a new copy).
      sourceDbSnapshotIdentifier: snapshotIdentifier,
      dependsOn: this.snapshot ? [this.snapshot] : [],
      targetDbSnapshotIdentifier: `${props.identifierPrefix}-encrypted-${at}`,
      kmsKeyId: props.kmsKeyArn,
      copyTags: true,
      tags,
    });
  }
}
