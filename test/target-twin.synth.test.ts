import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Testing, TerraformStack } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';
import { parseConfig } from '../config/load.js';
import type { MigrationConfigInput } from '../config/schema.js';
import { buildApp } from '../stacks/app.js';
import { EncryptedTarget, TargetStack } from '../stacks/index.js';
import { exampleConfig } from './helpers/config.js';

type Resources = Record<string, Record<string, Record<string, unknown>>>;
type Synth = { resource: Resources; output: Record<string, unknown> };

const synth = (overrides: Partial<MigrationConfigInput> = {}): Synth =>
  JSON.parse(Testing.synth(new TargetStack(Testing.app(), parseConfig(exampleConfig(overrides))))) as Synth;
const target = (json: Synth) => Object.entries(json.resource.aws_db_instance!).find(([k]) => k.includes('target-master'))![1];
const fromLookup = (attribute: string) => new RegExp(`^\\$\\{data\\.aws_db_instance\\.source_source-master_\\w+\\.${attribute}\\}$`);

test('by default the target copies every setting the looked-up source exposes', () => {
  const db = target(synth());
  const copied: Record<string, string> = {
    backup_window: 'preferred_backup_window',
    maintenance_window: 'preferred_maintenance_window',
    monitoring_interval: 'monitoring_interval',
    monitoring_role_arn: 'monitoring_role_arn',
    enabled_cloudwatch_logs_exports: 'enabled_cloudwatch_logs_exports',
    ca_cert_identifier: 'ca_cert_identifier',
    port: 'port',
    max_allocated_storage: 'max_allocated_storage',
    auto_minor_version_upgrade: 'auto_minor_version_upgrade',
  };
  for (const [setting, attribute] of Object.entries(copied)) assert.match(String(db[setting]), fromLookup(attribute), setting);
  // What the data source does not expose: ours.
  assert.equal(db.copy_tags_to_snapshot, true);
  assert.equal(db.iam_database_authentication_enabled, false);
  assert.equal(db.performance_insights_enabled, false);
  assert.equal(db.deletion_protection, true);
});

test('the option group is copied unless it is an RDS default group, which belongs to one engine version', () => {
  assert.match(
    String(target(synth()).option_group_name),
    /^\$\{startswith\(element\(data\.aws_db_instance\.\S+\.option_group_memberships, 0\), "default:"\) \? null : element\(/,
  );
});

test('IOPS and throughput are copied only where RDS accepts them (io1/io2; gp3 from 400 GiB)', () => {
  const db = target(synth());
  assert.match(
    String(db.iops),
    /storage_type == "io1"\) \|\| \(\S+ == "io2"\)\) \|\| \(\(\S+ == "gp3"\) && \(\S+allocated_storage >= 400\)\)\) \? \S+\.iops : null\}$/,
  );
  assert.match(String(db.storage_throughput), /\(\S+ == "gp3"\) && \(\S+allocated_storage >= 400\)\) \? \S+\.storage_throughput : null\}$/);
});

test('each copied setting can be overridden from target.*', () => {
  const db = target(
    synth({
      target: {
        instanceIdentifier: 'shop-prod-encrypted',
        engineVersion: '10.11.8',
        optionGroupName: 'shop-audit-10-11',
        storageType: 'io1',
        iops: 12000,
        backupWindow: '02:00-03:00',
        maintenanceWindow: 'sun:05:00-sun:06:00',
        monitoringInterval: 15,
        monitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring',
        performanceInsights: { enabled: true, retentionDays: 31 },
        cloudwatchLogsExports: ['audit', 'error'],
        caCertIdentifier: 'rds-ca-rsa2048-g1',
        copyTagsToSnapshot: false,
        port: 3307,
        autoMinorVersionUpgrade: false,
        iamDatabaseAuthentication: true,
        maxAllocatedStorage: 1000,
      },
    }),
  );
  assert.deepEqual(
    [
      db.option_group_name,
      db.iops,
      db.backup_window,
      db.maintenance_window,
      db.monitoring_interval,
      db.monitoring_role_arn,
      db.enabled_cloudwatch_logs_exports,
      db.ca_cert_identifier,
      db.copy_tags_to_snapshot,
      db.port,
      db.auto_minor_version_upgrade,
      db.iam_database_authentication_enabled,
      db.max_allocated_storage,
    ],
    [
      'shop-audit-10-11',
      12000,
      '02:00-03:00',
      'sun:05:00-sun:06:00',
      15,
      'arn:aws:iam::123456789012:role/rds-monitoring',
      ['audit', 'error'],
      'rds-ca-rsa2048-g1',
      false,
      3307,
      false,
      true,
      1000,
    ],
  );
  // Performance Insights data is encrypted with the target's own key unless another is given.
  assert.equal(db.performance_insights_enabled, true);
  assert.equal(db.performance_insights_kms_key_id, db.kms_key_id);
  assert.equal(db.performance_insights_retention_period, 31);
});

test("a host's own DbInstance as the source: the settings the data source lacks are copied too", () => {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'host');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
  const source = new DbInstance(stack, 'shop', {
    identifier: 'shop-prod',
    engine: 'mariadb',
    instanceClass: 'db.r6g.large',
    allocatedStorage: 500,
    storageType: 'gp3',
    iops: 12000,
    storageThroughput: 500,
    performanceInsightsEnabled: true,
    performanceInsightsRetentionPeriod: 93,
    copyTagsToSnapshot: false,
    iamDatabaseAuthenticationEnabled: true,
  });
  new EncryptedTarget(stack, 'target', { source, engine: 'mariadb', engineVersion: '10.11.8', identifier: 'shop-prod-encrypted' });
  const json = JSON.parse(Testing.synth(stack)) as Synth;
  const db = Object.entries(json.resource.aws_db_instance!).find(([k]) => k.includes('target-master'))![1];
  const ref = (attribute: string) => new RegExp(`aws_db_instance\\.shop\\.${attribute}`);
  assert.match(String(db.performance_insights_enabled), ref('performance_insights_enabled'));
  assert.match(String(db.performance_insights_retention_period), ref('performance_insights_retention_period'));
  assert.match(String(db.performance_insights_kms_key_id), /\? aws_kms_key\.target_key_\w+\.arn : null/);
  assert.match(String(db.copy_tags_to_snapshot), ref('copy_tags_to_snapshot'));
  assert.match(String(db.iam_database_authentication_enabled), ref('iam_database_authentication_enabled'));
  assert.match(String(db.option_group_name), ref('option_group_name'));
  assert.match(String(db.backup_window), ref('backup_window'));
});

const dns = { zoneId: 'Z0123456789ABCDEFGHIJ', name: 'db.shop.internal' };
const record = (json: Synth) => Object.values(json.resource.aws_route53_record!)[0]!;

test('without dns in the config no record is declared', () => {
  assert.equal(synth().resource.aws_route53_record, undefined);
});

test('the DNS name: a CNAME with a short TTL at the source, whose value the stack never points back', () => {
  const json = synth({ dns });
  const r = record(json);
  assert.deepEqual([r.zone_id, r.name, r.type, r.ttl], [dns.zoneId, dns.name, 'CNAME', 5]);
  assert.match(String((r.records as string[])[0]), fromLookup('address'));
  assert.deepEqual(r.lifecycle, { ignore_changes: ['records'] });
  assert.ok(json.output.dns_name);
  assert.equal(record(synth({ dns: { ...dns, ttl: 30 } })).ttl, 30);
  assert.throws(
    () => parseConfig(exampleConfig({ dns: { zoneId: 'zone', name: 'db' } })),
    /dns\.zoneId.*expected a Route 53 hosted zone id.*\n.*dns\.name.*expected a fully qualified DNS name/s,
  );
});

test('after finalize the declared value is the target, and it is no longer ignored', () => {
  const config = parseConfig(exampleConfig({ dns }));
  const synthOf = (phase: 'cut-over' | 'finalized') => {
    const app = buildApp(config, { phase, seedMethod: 'logical', reseeds: 0 }, `/tmp/rlm-twin-${process.pid}-${phase}`);
    const stack = app.node.findChild('target') as TargetStack;
    return JSON.parse(Testing.synth(stack)) as Synth;
  };
  const cutOver = record(synthOf('cut-over'));
  assert.match(String((cutOver.records as string[])[0]), fromLookup('address'));
  assert.deepEqual(cutOver.lifecycle, { ignore_changes: ['records'] });
  const finalized = record(synthOf('finalized'));
  assert.match(String((finalized.records as string[])[0]), /^\$\{aws_db_instance\.target_target-master_\w+\.address\}$/);
  assert.equal(finalized.lifecycle, undefined);
});
