import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerraformStack, Testing } from 'cdktf';
import { EncryptedTarget, SourceLookup } from '../stacks/index.js';
import { type Synth, synthApp } from './helpers/synth-app.js';

const frozen = { executed: { file: 'mysql-bin-changelog.004211', pos: 8812345 }, frozenAt: '2026-11-26T10:00:00Z' };

function synthRestoring(restore: { replicaIdentifier: string; frozen: typeof frozen }) {
  const stack = new TerraformStack(Testing.app(), 'snapshot-seed');
  const source = new SourceLookup(stack, 'source', { instanceIdentifier: 'shop-prod' }).instance;
  new EncryptedTarget(stack, 'target', {
    source,
    engine: 'mariadb',
    engineVersion: '10.11.8',
    identifier: 'shop-prod-encrypted',
    restoreFromFrozenReplica: restore,
  });
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
  assert.deepEqual(snapshot.tags, {
    'rds-live-migrate:role': 'target-master',
    'rds-live-migrate:frozen-at': 'mysql-bin-changelog.004211:8812345',
  });
  assert.equal(copy.kms_key_id, `\${aws_kms_key.${keyName}.arn}`);
  assert.equal(db.snapshot_identifier, `\${aws_db_snapshot_copy.${copyName}.db_snapshot_arn}`);
  assert.equal(db.storage_encrypted, true);
  assert.equal(db.manage_master_user_password, true);
  assert.equal(db.deletion_protection, true);
  assert.ok((db.backup_retention_period as number) > 0);
  assert.equal(db.username, undefined, 'a restored instance keeps the snapshot master user');
  assert.deepEqual(
    (db.lifecycle as { ignore_changes: string[] }).ignore_changes,
    ['snapshot_identifier', 'username'],
    'a later change of seed method must not replace the target',
  );
  assert.doesNotMatch(text, /"password"\s*:/);
});

test('snapshot seed: without a frozen position nothing synthesizes', () => {
  assert.throws(
    () => synthRestoring({ replicaIdentifier: 'shop-prod-rlm-replica', frozen: { executed: { file: '', pos: 0 }, frozenAt: '' } }),
    /the snapshot path needs the executed position recorded when shop-prod-rlm-replica was frozen/,
  );
  // A freeze that started and did not finish records no position: the target stays undeclared.
  assert.deepEqual(Object.keys(synthApp({ seedMethod: 'snapshot' }, { 'freeze-replica': { status: 'started' } })), ['source-replica']);
});

test('app: with the snapshot seed the target stack does not exist until the journal has the frozen position', () => {
  const before = synthApp({ seedMethod: 'snapshot' });
  assert.deepEqual(Object.keys(before), ['source-replica'], 'nothing to deploy as target before the freeze');
  assert.ok(before['source-replica']!.output!.source_address, 'the replica stack exports the source endpoint for the engine');

  const after = synthApp(
    { seedMethod: 'snapshot' },
    { 'seed-method': { status: 'done', data: { method: 'snapshot' } }, 'freeze-replica': { status: 'done', data: frozen } },
  );
  const target = after.target!;
  const snapshot = Object.values(target.resource!.aws_db_snapshot!)[0]!;
  assert.equal(snapshot.db_instance_identifier, 'shop-prod-rlm-replica', 'the snapshot is of the replica the replica stack declares');
  assert.equal((snapshot.tags as Record<string, string>)['rds-live-migrate:frozen-at'], 'mysql-bin-changelog.004211:8812345');
  assert.ok(Object.values(target.resource!.aws_db_instance!)[0]!.snapshot_identifier);
});

test('app: seedMethod auto declares the target as the journaled choice says, and not before the choice', () => {
  assert.deepEqual(Object.keys(synthApp({ seedMethod: 'auto' })), ['source-replica']);
  const logical = synthApp({ seedMethod: 'auto' }, { 'seed-method': { status: 'done', data: { method: 'logical' } } });
  assert.equal(Object.values(logical.target!.resource!.aws_db_instance!)[0]!.snapshot_identifier, undefined, 'an empty target');
  assert.equal(logical.target!.resource!.aws_db_snapshot, undefined);
  const snapshot = synthApp(
    { seedMethod: 'auto' },
    { 'seed-method': { status: 'done', data: { method: 'snapshot' } }, 'freeze-replica': { status: 'done', data: frozen } },
  );
  assert.ok(snapshot.target!.resource!.aws_db_snapshot_copy);
  // The default (logical) keeps the original order: both stacks deploy before run.
  assert.deepEqual(Object.keys(synthApp({})).sort(), ['source-replica', 'target']);
});

test('app: once finalized, neither snapshot is declared and the target instance stays exactly as it was (no replacement)', () => {
  const journal = { 'seed-method': { status: 'done', data: { method: 'snapshot' } }, 'freeze-replica': { status: 'done', data: frozen } };
  const during = synthApp({ seedMethod: 'snapshot' }, journal).target!;
  const after = synthApp({ seedMethod: 'snapshot' }, { ...journal, finalize: { status: 'done', data: {} } }).target!;
  const db = (s: Synth) => Object.values(s.resource!.aws_db_instance!)[0]!;
  assert.ok(during.resource!.aws_db_snapshot && during.resource!.aws_db_snapshot_copy);
  assert.equal(after.resource!.aws_db_snapshot, undefined);
  assert.equal(after.resource!.aws_db_snapshot_copy, undefined);
  // snapshot_identifier and username would force a new instance; both are ignored, and the rest is unchanged.
  assert.deepEqual((db(after).lifecycle as { ignore_changes: string[] }).ignore_changes, ['snapshot_identifier', 'username']);
  const { snapshot_identifier: _during, ...restDuring } = db(during);
  const { snapshot_identifier: _after, ...restAfter } = db(after);
  assert.deepEqual(restAfter, restDuring);
});
