import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../config/load.js';
import { exampleConfig } from './helpers/config.js';

describe('the replication user never names an account someone logs in with', () => {
  for (const side of ['source', 'target'] as const) {
    test(`the config check refuses the ${side} master user as replication user`, () => {
      const base = exampleConfig({ target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8', masterUsername: 'tadmin' } });
      const master = side === 'source' ? 'admin' : 'tadmin';
      assert.throws(
        () => parseConfig({ ...base, migration: { replicationUser: master } }, 'migration.config.json'),
        (err: unknown) => err instanceof ConfigError && err.message.includes(`field migration.replicationUser`) && err.message.includes(`"${master}" is the ${side} master user`),
      );
    });
  }
});
