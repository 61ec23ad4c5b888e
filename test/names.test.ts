import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../config/load.js';
import { exampleConfig } from './helpers/config.js';

const withDatabases = (databases: string[]) => exampleConfig({ migration: { databases } });

describe('migration.databases takes every name MariaDB takes (tried on a server), and only those', () => {
  test('legal names with dots, slashes, backslashes, quotes, backticks, spaces and non-ASCII are accepted', () => {
    const names = ['shop.v2', 'a/b', 'o\\', "it's", 'b`t', ' lead', 'naïve ü', '.', 'x'.repeat(64), 'é'.repeat(64)];
    assert.deepEqual(parseConfig(withDatabases(names)).migration.databases, names);
  });

  for (const [name, bad, expected] of [
    ['empty', '', 'not an empty string'],
    ['trailing space', 'shop ', 'cannot end with a space'],
    ['65 characters', 'x'.repeat(65), 'at most 64 characters'],
    ['emoji', 'shop😀', 'outside the Basic Multilingual Plane'],
    ['NUL', 'a\u0000b', 'cannot hold NUL'],
    ['#mysql50# prefix', '#mysql50#x', 'reserved by MariaDB'],
  ] as const) {
    test(`an illegal name is refused with its field named: ${name}`, () => {
      assert.throws(
        () => parseConfig(withDatabases([bad]), 'migration.config.json'),
        (err: unknown) => err instanceof ConfigError && err.message.includes('field migration.databases.0') && err.message.includes(expected),
      );
    });
  }
});
