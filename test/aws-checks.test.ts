import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { awsSnapshotFindings } from '../scripts/run/aws-snapshot-checks.js';
import { exampleConfig } from './helpers/config.js';

// No AWS here: a stand-in `aws` executable on PATH answers as the real CLI would, from files the test writes.
const bin = mkdtempSync(join(tmpdir(), 'rlm-aws-'));
const answer = (name: string, json: unknown) => writeFileSync(join(bin, `${name}.json`), JSON.stringify(json));
const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-aaaa-bbbb-cccc-000000000000';
const config = (kmsKeyArn = KEY) =>
  parseConfig(
    exampleConfig({
      target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8', kmsKeyArn },
      migration: { seedMethod: 'snapshot' },
    }),
  );
const policy = (actions: string[]) => ({
  Policy: JSON.stringify({
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: actions, Resource: '*' }],
  }),
});

describe('AWS-side preflight of the snapshot seed (through the aws CLI)', () => {
  const path = process.env.PATH;
  before(() => {
    writeFileSync(
      join(bin, 'aws'),
      `#!/bin/sh
[ -f "${bin}/fail" ] && { echo "Unable to locate credentials. You can configure credentials by running \\"aws configure\\"." >&2; exit 253; }
case "$2" in describe-db-instances) cat "${bin}/replica.json";; describe-key) cat "${bin}/key.json";; get-key-policy) cat "${bin}/policy.json";; *) exit 2;; esac
`,
    );
    chmodSync(join(bin, 'aws'), 0o755);
    process.env.PATH = `${bin}:${path}`;
  });
  after(() => {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  });

  test('an available replica and an enabled key whose policy allows grants: nothing to report', async () => {
    answer('replica', { DBInstances: [{ DBInstanceStatus: 'available' }] });
    answer('key', { KeyMetadata: { KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT' } });
    answer('policy', policy(['kms:*']));
    assert.deepEqual(await awsSnapshotFindings(config(), 'shop-prod-rlm-replica'), []);
  });

  test('a replica RDS cannot snapshot now and a key pending deletion block the run', async () => {
    answer('replica', { DBInstances: [{ DBInstanceStatus: 'modifying' }] });
    answer('key', { KeyMetadata: { KeyState: 'PendingDeletion', KeyUsage: 'ENCRYPT_DECRYPT' } });
    const findings = await awsSnapshotFindings(config(), 'shop-prod-rlm-replica');
    assert.deepEqual(
      findings.map((f) => [f.id, f.severity]),
      [
        ['replica-not-snapshottable', 'block'],
        ['kms-key-state', 'block'],
      ],
    );
    assert.match(findings[0]!.message, /source-slave \(shop-prod-rlm-replica\) is modifying; RDS snapshots only an available instance/);
  });

  test('a key in another region, or whose policy allows no grants, blocks the run', async () => {
    answer('replica', { DBInstances: [{ DBInstanceStatus: 'available' }] });
    answer('key', { KeyMetadata: { KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT' } });
    answer('policy', policy(['kms:Encrypt', 'kms:Decrypt']));
    const findings = await awsSnapshotFindings(config(KEY.replace('eu-west-1', 'us-east-1')), 'shop-prod-rlm-replica');
    assert.deepEqual(
      findings.map((f) => f.id),
      ['kms-key-region', 'kms-key-policy'],
    );
    assert.match(findings[1]!.message, /allows no kms:CreateGrant/);
  });

  test("when the CLI cannot ask (no credentials), it says so as a warning with the CLI's own words", async () => {
    writeFileSync(join(bin, 'fail'), '');
    try {
      const findings = await awsSnapshotFindings(config(), 'shop-prod-rlm-replica');
      assert.deepEqual(
        findings.map((f) => [f.id, f.severity]),
        [
          ['aws-check', 'warn'],
          ['aws-check', 'warn'],
        ],
      );
      assert.match(
        findings[0]!.message,
        /could not check that shop-prod-rlm-replica can be snapshotted: aws rds describe-db-instances: Unable to locate credentials/,
      );
      assert.match(findings[0]!.fix, /set migration.awsChecks to false/);
    } finally {
      rmSync(join(bin, 'fail'));
    }
  });
});
