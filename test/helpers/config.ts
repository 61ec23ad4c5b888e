import type { MigrationConfigInput } from '../../config/schema.js';

/** A valid config; tests change one thing at a time. */
export function exampleConfig(overrides: Partial<MigrationConfigInput> = {}): MigrationConfigInput {
  return {
    region: 'eu-west-1',
    engine: 'mariadb',
    source: { instanceIdentifier: 'shop-prod', masterUsername: 'admin', passwordFrom: 'env:SOURCE_MASTER_PASSWORD' },
    target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8' },
    tags: { team: 'platform' },
    ...overrides,
  };
}
