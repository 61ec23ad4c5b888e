import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { parseConfig } from '../config/load.js';
import { buildApp } from '../stacks/app.js';
import { SourceReplicaStack, TargetStack } from '../stacks/index.js';
import { exampleConfig } from './helpers/config.js';

type Synth = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, { value: string }>;
  data: Record<string, Record<string, Record<string, unknown>>>;
};

function synthTarget(overrides = {}): { json: Synth; text: string } {
  const text = Testing.synth(new TargetStack(Testing.app(), parseConfig(exampleConfig(overrides))));
  return { json: JSON.parse(text) as Synth, text };
}

function only(resources: Record<string, Record<string, unknown>> | undefined, type: string): Record<string, unknown> {
  const all = Object.values(resources ?? {});
  assert.equal(all.length, 1, `expected exactly one ${type}`);
  return all[0]!;
}

test('the target is encrypted with the key the stack creates, and the key rotates', () => {
  const { json } = synthTarget();
  const db = only(json.resource.aws_db_instance, 'aws_db_instance');
  const key = only(json.resource.aws_kms_key, 'aws_kms_key');
  const keyName = Object.keys(json.resource.aws_kms_key!)[0];
  assert.equal(db.storage_encrypted, true);
  assert.equal(db.kms_key_id, `\${aws_kms_key.${keyName}.arn}`);
  assert.equal(key.enable_key_rotation, true);
  assert.equal(only(json.resource.aws_kms_alias, 'aws_kms_alias').name, 'alias/rds-live-migrate/shop-prod-encrypted');
});

test('a given KMS key ARN is used as is and no key is created', () => {
  const arn = 'arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-aaaa-bbbb-cccc-000000000000';
  const { json } = synthTarget({ target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8', kmsKeyArn: arn } });
  assert.equal(json.resource.aws_kms_key, undefined);
  assert.equal(only(json.resource.aws_db_instance, 'aws_db_instance').kms_key_id, arn);
});

test('the target has backups (so binlogs exist), deletion protection and tags copied to snapshots', () => {
  const db = only(synthTarget().json.resource.aws_db_instance, 'aws_db_instance');
  assert.ok((db.backup_retention_period as number) > 0);
  assert.equal(db.deletion_protection, true);
  assert.equal(db.copy_tags_to_snapshot, true);
  assert.equal(db.skip_final_snapshot, false);
});

test('the master password is managed by Secrets Manager and no password is synthesized', () => {
  const { json, text } = synthTarget();
  const db = only(json.resource.aws_db_instance, 'aws_db_instance');
  assert.equal(db.manage_master_user_password, true);
  assert.equal(db.password, undefined);
  assert.doesNotMatch(text, /"password"\s*:/);
  assert.match(json.output.master_secret_arn!.value, /master_user_secret\[0\]\.secret_arn/);
});

test('the parameter group has the engine family, ROW binlogs and trusts function creators', () => {
  const group = only(synthTarget().json.resource.aws_db_parameter_group, 'aws_db_parameter_group');
  assert.equal(group.family, 'mariadb10.11');
  const params = Object.fromEntries((group.parameter as { name: string; value: string }[]).map((p) => [p.name, p.value]));
  assert.equal(params.binlog_format, 'ROW');
  assert.equal(params.log_bin_trust_function_creators, '1');
  assert.equal(params.local_infile, '1');
});

test('RDS MySQL 8 gets a mysql8.0 parameter group', () => {
  const group = only(
    synthTarget({ engine: 'mysql', target: { instanceIdentifier: 't1', engineVersion: '8.0.39' } }).json.resource.aws_db_parameter_group,
    'pg',
  );
  assert.equal(group.family, 'mysql8.0');
});

test('replication parameters cannot be overridden by target.parameters', () => {
  assert.throws(
    () => synthTarget({ target: { instanceIdentifier: 't1', engineVersion: '10.11.8', parameters: { binlog_format: 'MIXED' } } }),
    /parameters binlog_format are set by rds-live-migrate for replication and cannot be overridden/,
  );
});

test('replication may cross the security groups both ways: target to source, and source to target after cutover', () => {
  const rules = synthTarget().json.resource.aws_vpc_security_group_ingress_rule!;
  const [forward, reverse] = [
    rules[Object.keys(rules).find((k) => k.includes('target-to-source'))!]!,
    rules[Object.keys(rules).find((k) => k.includes('source-to-target'))!]!,
  ];
  assert.match(String(forward.from_port), /data\.aws_db_instance\.source_source-master_\w+\.port/);
  assert.match(String(reverse.from_port), /aws_db_instance\.target_target-master_\w+\.port/);
  assert.equal(forward.security_group_id, reverse.referenced_security_group_id);
  assert.equal(forward.referenced_security_group_id, reverse.security_group_id);
  assert.equal(forward.ip_protocol, 'tcp');
  const none = synthTarget({ network: { allowTargetToReachSource: false } }).json;
  assert.equal(none.resource.aws_vpc_security_group_ingress_rule, undefined);
});

test('the target stack outputs endpoint, port, secret ARN, key ARN, its load mode and durability, and the source endpoint', () => {
  const outputs = Object.keys(synthTarget().json.output).sort();
  assert.deepEqual(outputs, [
    'kms_key_arn',
    'master_secret_arn',
    'source_address',
    'source_port',
    'target_address',
    'target_durability',
    'target_identifier',
    'target_load_mode',
    'target_port',
  ]);
});

test('the source is only looked up, never declared as a resource', () => {
  const { json } = synthTarget();
  const lookup = only(json.data.aws_db_instance, 'data source');
  assert.equal(lookup.db_instance_identifier, 'shop-prod');
  assert.equal(Object.keys(json.resource.aws_db_instance!).length, 1);
});

test('the replica replicates from the looked-up source and can be torn down', () => {
  const text = Testing.synth(new SourceReplicaStack(Testing.app(), parseConfig(exampleConfig())));
  const json = JSON.parse(text) as Synth;
  const replica = only(json.resource.aws_db_instance, 'replica');
  const sourceName = Object.keys(json.data.aws_db_instance!)[0];
  assert.equal(replica.replicate_source_db, `\${data.aws_db_instance.${sourceName}.db_instance_arn}`);
  assert.equal(replica.identifier, 'shop-prod-rlm-replica');
  assert.equal(replica.skip_final_snapshot, true);
  assert.equal(replica.deletion_protection, false);
  assert.deepEqual(Object.keys(json.output).sort(), [
    'replica_address',
    'replica_identifier',
    'replica_port',
    'source_address',
    'source_port',
  ]);
  assert.doesNotMatch(text, /"password"\s*:/);
});

test('main.ts synthesizes both stacks from the example config into cdktf.out', async () => {
  const { execa } = await import('execa');
  const outdir = `/tmp/rlm-synth-${process.pid}`;
  await execa('npx', ['tsx', 'main.ts'], { env: { CDKTF_OUTDIR: outdir, RDS_LIVE_MIGRATE_CONFIG: 'migration.config.example.json' } });
  for (const stack of ['source-replica', 'target']) {
    const text = readFileSync(`${outdir}/stacks/${stack}/cdk.tf.json`, 'utf8');
    assert.match(text, /aws_db_instance/);
  }
});

test('state backends: S3 with the native lock file, keyed by the migration name; two migrations never share a key', () => {
  const synthBackend = (name: string) => {
    const outdir = mkdtempSync(join(tmpdir(), 'rlm-backend-'));
    const config = parseConfig(exampleConfig({ name, state: { backend: 's3', bucket: 'acme-tf-state' } }));
    buildApp(config, { phase: 'planned', seedMethod: 'logical', reseeds: 0 }, outdir).synth();
    const read = (stack: string) =>
      (
        JSON.parse(readFileSync(join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as {
          terraform: { backend: { s3: Record<string, unknown> } };
        }
      ).terraform.backend.s3;
    return { replica: read('source-replica'), target: read('target') };
  };
  const staging = synthBackend('shop-staging');
  const production = synthBackend('shop-production');
  assert.deepEqual(staging.replica, {
    bucket: 'acme-tf-state',
    key: 'rds-live-migrate/shop-staging/source-replica.tfstate',
    region: 'eu-west-1',
    encrypt: true,
    use_lockfile: true,
  });
  assert.equal(staging.target.key, 'rds-live-migrate/shop-staging/target.tfstate');
  assert.equal(production.target.key, 'rds-live-migrate/shop-production/target.tfstate');
});
