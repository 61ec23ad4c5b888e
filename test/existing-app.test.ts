import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { buildHostApp } from '../examples/existing-app/main.js';
import { loadConfig } from '../config/load.js';
import { readStackOutputs } from '../scripts/core/stack-outputs.js';
import { s3StandInOnPath } from './helpers/aws-s3-standin.js';

// The example keeps the journal in S3; the stand-in aws answers from a local folder.
const s3 = s3StandInOnPath();

const CONFIG = resolve(import.meta.dirname, '../examples/existing-app/migration.config.json');
type Synth = {
  provider: { aws: { alias?: string }[] };
  resource: Record<string, Record<string, Record<string, unknown>>>;
  terraform: { backend: Record<string, { key?: string }> };
};

function synthHost(): Synth {
  const outdir = mkdtempSync(join(tmpdir(), 'rlm-host-'));
  buildHostApp(CONFIG, outdir).synth();
  return JSON.parse(readFileSync(join(outdir, 'stacks', 'shop', 'cdk.tf.json'), 'utf8')) as Synth;
}

test("the constructs compose into a host's stack: the host's backend, its one provider, its own DbInstance as the source", () => {
  const json = synthHost();
  assert.deepEqual(Object.keys(json.terraform.backend), ['s3']);
  assert.equal(json.terraform.backend.s3!.key, 'shop/prod/shop.tfstate');
  assert.equal(json.provider.aws.length, 1, 'no provider of our own');
  assert.equal(json.provider.aws[0]!.alias, 'shop');
  for (const [type, resources] of Object.entries(json.resource)) {
    for (const [name, r] of Object.entries(resources)) assert.equal(r.provider, 'aws.shop', `${type}.${name} uses the host's provider`);
  }
  const instances = json.resource.aws_db_instance!;
  const replica = Object.values(instances).find((r) => r.identifier === 'shop-prod-rlm-replica')!;
  assert.equal(replica.replicate_source_db, '${aws_db_instance.shop-db.arn}');
  const target = Object.values(instances).find((r) => r.identifier === 'shop-prod-encrypted')!;
  assert.equal(target.instance_class, '${aws_db_instance.shop-db.instance_class}', "the target takes the host instance's class");
  assert.equal(target.storage_encrypted, true);
});

test("the host's stack follows the migration's phase: once caught up the replica is no longer declared", () => {
  const config = loadConfig(CONFIG);
  const key = join(s3.root, 'acme-terraform-state', 'rds-live-migrate', 'shop-prod-encrypt', 'journal.json');
  mkdirSync(dirname(key), { recursive: true });
  const steps = Object.fromEntries(
    ['binlog-retention', 'replication-user', 'seed-method', 'freeze-replica', 'seed-target', 'copy-users', 'point-target', 'catch-up'].map(
      (s) => [s, { status: 'done', startedAt: '' }],
    ),
  );
  writeFileSync(
    key,
    JSON.stringify({
      version: 1,
      migration: `${config.source.instanceIdentifier} -> ${config.target.instanceIdentifier}`,
      createdAt: '',
      steps,
    }),
  );
  try {
    const ids = Object.values(synthHost().resource.aws_db_instance!).map((r) => r.identifier);
    assert.deepEqual(ids.sort(), ['shop-prod', 'shop-prod-encrypted']);
  } finally {
    rmSync(key);
  }
});

test("the CLI finds the host's endpoints under the output names the config gives, in cdktf and in terraform output -json form", async () => {
  const config = loadConfig(CONFIG);
  const dir = mkdtempSync(join(tmpdir(), 'rlm-host-outputs-'));
  const values = {
    shop_db_address: 'shop-prod.abc.eu-west-1.rds.amazonaws.com',
    shop_db_port: 3306,
    rlm_replica_identifier: 'shop-prod-rlm-replica',
    rlm_replica_address: 'replica.abc',
    rlm_replica_port: 3306,
    rlm_target_identifier: 'shop-prod-encrypted',
    rlm_target_address: 'target.abc',
    rlm_target_port: 3306,
    rlm_target_secret_arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1',
  };
  const cdktf = join(dir, 'cdktf.json');
  writeFileSync(cdktf, JSON.stringify({ shop: values }));
  const terraform = join(dir, 'terraform.json');
  writeFileSync(
    terraform,
    JSON.stringify(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, type: typeof v, sensitive: false }]))),
  );
  const flatNames = Object.fromEntries(Object.entries(config.migration.outputNames).map(([k, v]) => [k, v!.split('.')[1]!]));
  for (const outputs of [readStackOutputs(cdktf, config.migration.outputNames), readStackOutputs(terraform, flatNames)]) {
    assert.deepEqual(outputs.source, { host: values.shop_db_address, port: 3306 });
    assert.deepEqual(outputs.replica, { host: 'replica.abc', port: 3306, identifier: 'shop-prod-rlm-replica' });
    assert.equal(outputs.target?.masterSecret, values.rlm_target_secret_arn);
  }
  // A name that the file lacks is named in the error, with the config field to set.
  assert.throws(
    () => readStackOutputs(cdktf, { ...config.migration.outputNames, sourceAddress: 'shop.db_host' }),
    /the source endpoint address is missing \(looked for output shop\.db_host\).*/,
  );
  // And the CLI itself: status reads this config, its S3 journal (none yet) and reports the phase by name.
  const status = await execa(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, '../scripts/cli.ts'), '--config', CONFIG, '--json', 'status'],
    { reject: false, env: { PATH: process.env.PATH! } },
  );
  assert.equal(status.exitCode, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout.trim().split('\n').pop()!) as { phase: string }).phase, 'planned');
  const version = await execa(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '../scripts/cli.ts'), '--version']);
  assert.equal(
    version.stdout.trim(),
    (JSON.parse(readFileSync(resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string }).version,
  );
});
