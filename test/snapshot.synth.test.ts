import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TerraformStack, Testing } from 'cdktf';
import { EncryptedTarget, frozenPositionFromJournal, SourceLookup } from '../stacks/index.js';

const frozen = { executed: { file: 'mysql-bin-changelog.004211', pos: 8812345 }, frozenAt: '2026-11-26T10:00:00Z' };

function synthRestoring(restore: { replicaIdentifier: string; frozen: typeof frozen }) {
  const stack = new TerraformStack(Testing.app(), 'snapshot-seed');
  const source = new SourceLookup(stack, 'source', { instanceIdentifier: 'shop-prod' }).instance;
  new EncryptedTarget(stack, 'target', { source, engine: 'mariadb', engineVersion: '10.11.8', identifier: 'shop-prod-encrypted', restoreFromFrozenReplica: restore });
  const text = Testing.synth(stack);
  return { text, json: JSON.parse(text) as { resource: Record<string, Record<string, Record<string, unknown>>> } };
}

test('snapshot seed: the frozen replica is snapshotted, the copy is encrypted with the target key, the target restores from the copy', () => {
  const { json, text } = synthRestoring({ replicaIdentifier: 'shop-prod-rlm-replica', frozen });
  const snapshot = Object.values(json.resource.aws_db_snapshot!)[0]!;
  const [copyName, copy] = Object.entries(json.resource.aws_db_snapshot_copy!)[0]!;
  const keyName = Object.keys(json.resource.aws_kms_key!)[0];
  const db = Object.values(json.resource.aws_db_instance!)[0]!;
  assert.equal(snapshot.db_instance_identifier, 'shop-prod-rlm-replica');
  assert.deepEqual(snapshot.tags, { 'rds-live-migrate:role': 'target-master', 'rds-live-migrate:frozen-at': 'mysql-bin-changelog.004211:8812345' });
  assert.equal(copy.kms_key_id, `\${aws_kms_key.${keyName}.arn}`);
  assert.equal(db.snapshot_identifier, `\${aws_db_snapshot_copy.${copyName}.db_snapshot_arn}`);
  assert.equal(db.storage_encrypted, true);
  assert.equal(db.manage_master_user_password, true);
  assert.equal(db.deletion_protection, true);
  assert.ok((db.backup_retention_period as number) > 0);
  assert.equal(db.username, undefined, 'a restored instance keeps the snapshot master user');
  assert.doesNotMatch(text, /"password"\s*:/);
});

test('snapshot seed: without a frozen position nothing synthesizes', () => {
  assert.throws(
    () => synthRestoring({ replicaIdentifier: 'shop-prod-rlm-replica', frozen: { executed: { file: '', pos: 0 }, frozenAt: '' } }),
    /the snapshot path needs the executed position recorded when shop-prod-rlm-replica was frozen/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'rlm-journal-'));
  assert.throws(() => frozenPositionFromJournal(dir), /the replica has not been frozen yet/);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'journal.json'), JSON.stringify({ version: 1, steps: { 'freeze-replica': { status: 'started' } } }));
  assert.throws(() => frozenPositionFromJournal(dir), /no completed freeze-replica step/);
  writeFileSync(join(dir, 'journal.json'), JSON.stringify({ version: 1, steps: { 'freeze-replica': { status: 'done', data: frozen } } }));
  assert.deepEqual(frozenPositionFromJournal(dir), frozen);
});
