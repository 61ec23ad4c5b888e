import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../config/load.js';
import { exampleConfig } from './helpers/config.js';

test('a minimal config gets the safe defaults', () => {
  const config = parseConfig(exampleConfig());
  assert.equal(config.target.deletionProtection, true);
  assert.equal(config.target.backupRetentionDays, 7);
  assert.equal(config.target.masterUsername, 'admin');
  assert.equal(config.binlogRetentionHours, 24);
  assert.equal(config.migration.requireTls, true);
  assert.equal(config.network.allowTargetToReachSource, true);
});

const base = exampleConfig();
const badConfigs: [string, unknown, string][] = [
  ['unknown engine', { ...base, engine: 'postgres' }, 'field engine: got "postgres"; expected one of "mariadb"|"mysql"'],
  [
    'typo in a field name',
    { ...base, target: { ...base.target, instanceClas: 'db.r6g.large' } },
    'field target.instanceClas: unknown field; did you mean instanceClass?',
  ],
  ['typo at the top level', { ...base, regoin: 'eu-west-1' }, 'field regoin: unknown field; did you mean region?'],
  ['missing target', { ...base, target: undefined }, 'field target: missing; expected object, received undefined'],
  ['bad region', { ...base, region: 'europe' }, 'field region: got "europe"; expected an AWS region like eu-west-1'],
  [
    'bad identifier',
    { ...base, source: { ...base.source, instanceIdentifier: 'shop_prod' } },
    'field source.instanceIdentifier: got "shop_prod"; expected an RDS identifier',
  ],
  [
    'version without minor',
    { ...base, target: { ...base.target, engineVersion: '10' } },
    'field target.engineVersion: got "10"; expected a version like 10.11.8 or 8.0.39',
  ],
  [
    'backups off',
    { ...base, target: { ...base.target, backupRetentionDays: 0 } },
    'field target.backupRetentionDays: got 0; binlogs on RDS need automated backups: at least 1 day',
  ],
  [
    'bad security group',
    { ...base, network: { securityGroupIds: ['web'] } },
    'field network.securityGroupIds.0: got "web"; expected a security group id like sg-0123456789abcdef0',
  ],
  [
    'retention too long',
    { ...base, binlogRetentionHours: 10000 },
    'field binlogRetentionHours: got 10000; RDS keeps binlogs at most 2160 hours',
  ],
  [
    'bad KMS ARN',
    { ...base, target: { ...base.target, kmsKeyArn: 'my-key' } },
    'field target.kmsKeyArn: got "my-key"; expected a KMS key or alias ARN',
  ],
];

for (const [name, raw, expected] of badConfigs) {
  test(`bad config is refused with its field named: ${name}`, () => {
    assert.throws(
      () => parseConfig(raw, 'migration.config.json'),
      (err: unknown) => err instanceof ConfigError && err.message.includes(expected),
    );
  });
}

test('a password pasted where a secret reference belongs is refused and never echoed', () => {
  const leaked = 'Sup3r-Secret-Pa55';
  assert.throws(
    () => parseConfig({ ...base, source: { ...base.source, passwordFrom: leaked } }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.message.includes('field source.passwordFrom: not a secret reference') &&
      !err.message.includes(leaked),
  );
});

test('a missing or malformed config file names the file and what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlm-config-'));
  assert.throws(
    () => loadConfig(join(dir, 'nope.json')),
    /nope\.json: a problem in the migration config:\n {2}- cannot read it \(ENOENT\); write one from migration\.config\.example\.json/,
  );
  writeFileSync(join(dir, 'broken.json'), '{ "region": ');
  assert.throws(() => loadConfig(join(dir, 'broken.json')), /broken\.json: .*\n {2}- not valid JSON/);
});
