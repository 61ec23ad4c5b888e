import type { MigrationConfig } from '../../config/schema.js';
import { awsCli } from '../support/aws-cli.js';
import type { Finding } from './preflight/index.js';

type Aws = (args: string[]) => Promise<unknown>;

/** The aws CLI in the migration's region, JSON out. */
function awsJson(region: string): Aws {
  return async (args) => JSON.parse(await awsCli([...args, '--region', region, '--output', 'json']));
}

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
}

/**
 * What AWS would otherwise only refuse half-way through the target deploy,
 * after the freeze: a replica RDS cannot snapshot right now, a key that is
 * disabled, pending deletion or in another region, a key policy that lets
 * nobody create the grants RDS uses. Reads only.
 */
export async function awsSnapshotFindings(
  config: MigrationConfig,
  replicaIdentifier: string,
  aws: Aws = awsJson(config.region),
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const cannotCheck = (err: unknown, what: string) =>
    findings.push({
      id: 'aws-check',
      severity: 'warn',
      server: 'config',
      message: `could not check ${what}: ${(err as Error).message}`,
      fix: 'give this job rds:DescribeDBInstances, kms:DescribeKey and kms:GetKeyPolicy, or set migration.awsChecks to false to skip these checks',
    });

  try {
    const described = (await aws(['rds', 'describe-db-instances', '--db-instance-identifier', replicaIdentifier])) as {
      DBInstances?: { DBInstanceStatus?: string }[];
    };
    const status = described.DBInstances?.[0]?.DBInstanceStatus;
    if (status !== 'available') {
      findings.push({
        id: 'replica-not-snapshottable',
        severity: 'block',
        server: 'source-slave',
        message: `source-slave (${replicaIdentifier}) is ${status ?? 'not found'}; RDS snapshots only an available instance`,
        fix: 'wait until the replica is available (aws rds wait db-instance-available), then run again',
      });
    }
  } catch (err) {
    cannotCheck(err, `that ${replicaIdentifier} can be snapshotted`);
  }

  const key = config.target.kmsKeyArn;
  if (!key) return findings; // the target stack creates the key, with the account's default policy
  const keyRegion = key.split(':')[3];
  if (keyRegion !== config.region) {
    findings.push({
      id: 'kms-key-region',
      severity: 'block',
      server: 'config',
      message: `target.kmsKeyArn is in ${keyRegion}, the snapshot copy is made in ${config.region}`,
      fix: `use a key in ${config.region}`,
    });
  }
  try {
    const { KeyMetadata: meta } = (await aws(['kms', 'describe-key', '--key-id', key])) as {
      KeyMetadata?: { KeyState?: string; KeyUsage?: string };
    };
    if (meta?.KeyState !== 'Enabled') {
      findings.push({
        id: 'kms-key-state',
        severity: 'block',
        server: 'config',
        message: `target.kmsKeyArn is ${meta?.KeyState ?? 'unknown'}; RDS can encrypt the snapshot copy only with an enabled key`,
        fix: 'enable the key (or cancel its deletion), or use another key',
      });
    } else if (meta.KeyUsage !== 'ENCRYPT_DECRYPT') {
      findings.push({
        id: 'kms-key-usage',
        severity: 'block',
        server: 'config',
        message: `target.kmsKeyArn has KeyUsage ${meta.KeyUsage}; RDS needs a symmetric ENCRYPT_DECRYPT key`,
        fix: 'use a symmetric encryption key',
      });
    }
    const policy = (await aws(['kms', 'get-key-policy', '--key-id', key, '--policy-name', 'default'])) as { Policy?: string };
    const statements = ([] as PolicyStatement[]).concat(
      (JSON.parse(policy.Policy ?? '{}') as { Statement?: PolicyStatement | PolicyStatement[] }).Statement ?? [],
    );
    const allowsGrants = statements.some(
      (s) => s.Effect === 'Allow' && ([] as string[]).concat(s.Action ?? []).some((a) => ['kms:*', 'kms:CreateGrant'].includes(a)),
    );
    if (!allowsGrants) {
      findings.push({
        id: 'kms-key-policy',
        severity: 'block',
        server: 'config',
        message:
          'the key policy of target.kmsKeyArn allows no kms:CreateGrant; RDS copies and restores snapshots through grants on the key',
        fix: 'allow kms:CreateGrant (with kms:GrantIsForAWSResource) to the role that deploys the target stack, or to the account',
      });
    }
  } catch (err) {
    cannotCheck(err, 'the KMS key');
  }
  return findings;
}
