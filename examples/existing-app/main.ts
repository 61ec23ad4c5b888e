// A host app that already manages its database with CDKTF, with its own S3
// backend and AWS provider, and adds the migration's constructs to its own
// stack. The migration's phase (read from the journal, as the module's own
// stacks do) says whether the temporary replica is still declared.
import { App, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';
import {
  declaredInfrastructure,
  EncryptedTarget,
  loadConfig,
  readMigrationState,
  SourceReplica,
  type MigrationConfig,
} from '../../index.js';

export class ShopStack extends TerraformStack {
  constructor(scope: Construct, id: string, migration: MigrationConfig) {
    super(scope, id);
    new S3Backend(this, { bucket: 'acme-terraform-state', key: 'shop/prod/shop.tfstate', region: 'eu-west-1', encrypt: true });
    const provider = new AwsProvider(this, 'aws', { region: 'eu-west-1', alias: 'shop' });

    // The host's own production database, unencrypted: the source of the migration.
    const db = new DbInstance(this, 'shop-db', {
      provider,
      identifier: 'shop-prod',
      engine: 'mariadb',
      engineVersion: '10.11.8',
      instanceClass: 'db.r6g.large',
      allocatedStorage: 500,
      username: 'admin',
      manageMasterUserPassword: true,
      backupRetentionPeriod: 7,
      vpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      dbSubnetGroupName: 'shop-private',
    });
    new TerraformOutput(this, 'shop_db_address', { value: db.address });
    new TerraformOutput(this, 'shop_db_port', { value: db.port });

    const declared = declaredInfrastructure(readMigrationState(migration));
    if (declared.replica) {
      const replica = new SourceReplica(this, 'rlm-replica', { provider, source: db, identifier: 'shop-prod-rlm-replica' });
      new TerraformOutput(this, 'rlm_replica_identifier', { value: replica.instance.identifier });
      new TerraformOutput(this, 'rlm_replica_address', { value: replica.instance.address });
      new TerraformOutput(this, 'rlm_replica_port', { value: replica.instance.port });
    }
    const target = new EncryptedTarget(this, 'rlm-target', {
      provider,
      source: db,
      engine: 'mariadb',
      engineVersion: '10.11.8',
      identifier: migration.target.instanceIdentifier,
      sourceSecurityGroupId: 'sg-0123456789abcdef0',
    });
    new TerraformOutput(this, 'rlm_target_identifier', { value: target.instance.identifier });
    new TerraformOutput(this, 'rlm_target_address', { value: target.instance.address });
    new TerraformOutput(this, 'rlm_target_port', { value: target.instance.port });
    new TerraformOutput(this, 'rlm_target_secret_arn', { value: target.masterSecretArn });
  }
}

export function buildHostApp(configFile = new URL('migration.config.json', import.meta.url).pathname, outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new ShopStack(app, 'shop', loadConfig(configFile));
  return app;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) buildHostApp().synth();
