import type { Construct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import type { MigrationConfig } from '../config/schema.js';

export function awsProvider(scope: Construct, config: MigrationConfig): AwsProvider {
  return new AwsProvider(scope, 'aws', {
    region: config.region,
    defaultTags: [{ tags: { ...config.tags, 'rds-live-migrate:source': config.source.instanceIdentifier } }],
  });
}
