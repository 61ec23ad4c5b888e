import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../config/load.js';
import { ident } from '../scripts/db/connection.js';
import { connectSandboxAdmin } from '../scripts/dev/demo/scenario.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { exampleConfig } from './helpers/config.js';
import { lastJson, shopSandbox, type TestSandbox } from './helpers/sandbox.js';

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
        (err: unknown) =>
          err instanceof ConfigError && err.message.includes('field migration.databases.0') && err.message.includes(expected),
      );
    });
  }
});

// One name holding a quote, a backslash, a backtick, a dot and non-ASCII text.
const ODD = "o'\\`.ü";
const DB = `db ${ODD}`;
const TABLE = `t ${ODD}`;
const COLUMN = `c ${ODD}`;
const ROUTINE = `p ${ODD}`;
const USER = `u ${ODD}`;
const HOST = `h ${ODD}`;

describe('names with a quote, a backslash, a backtick, a dot and non-ASCII text migrate and verify', () => {
  let sb: TestSandbox;
  before(async () => {
    // No load mode: its restart of the target reloads the accounts, and a server with skip-name-resolve (the
    // sandbox's, and RDS's) ignores an account whose host is a name rather than an address, as this odd host is.
    sb = await shopSandbox(0.01, { targetLoadMode: false });
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    const t = `${ident(DB)}.${ident(TABLE)}`;
    try {
      await root.query(`CREATE DATABASE ${ident(DB)}`);
      await root.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, ${ident(COLUMN)} VARCHAR(20), y VARCHAR(20))`);
      await root.query(`INSERT INTO ${t} VALUES (1, 'a#', 'b'), (2, ?, ?)`, [ODD, null]);
      await root.query(`CREATE DEFINER = 'admin'@'%' PROCEDURE ${ident(DB)}.${ident(ROUTINE)}() SELECT COUNT(*) FROM ${t}`);
      await root.query('CREATE USER ?@? IDENTIFIED BY ?', [USER, HOST, 'odd-user-pw-1']);
      await root.query(`GRANT SELECT ON ${ident(DB)}.* TO ?@?`, [USER, HOST]);
    } finally {
      await root.end();
    }
  });
  after(async () => sb.down());

  test('run migrates them, verify is clean', async () => {
    const plan = await sb.cli(['plan']);
    assert.equal(plan.exitCode, 0, String(plan.all));
    const run = await sb.cli(['run']);
    assert.equal(run.exitCode, 0, String(run.all));
    const target = await connectSandboxAdmin(sb.state, 'target-master');
    try {
      assert.deepEqual(await target.query(`SELECT id, ${ident(COLUMN)} AS c FROM ${ident(DB)}.${ident(TABLE)} ORDER BY id`), [
        { id: 1, c: 'a#' },
        { id: 2, c: ODD },
      ]);
      assert.equal(Number(await target.value('SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?', [USER, HOST])), 1);
      assert.equal(
        Number(
          await target.value('SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ?', [
            DB,
            ROUTINE,
          ]),
        ),
        1,
      );
    } finally {
      await target.close();
    }
    const verify = await sb.cli(['verify', '--json']);
    assert.equal(verify.exitCode, 0, String(verify.all));
    assert.equal(lastJson<{ ok: boolean }>(verify).ok, true);
  });

  test("a row changed on the target from ('a#','b') to ('a','#b') is reported by verify", async () => {
    const target = await connectSandboxAdmin(sb.state, 'target-master');
    try {
      await target.query(`UPDATE ${ident(DB)}.${ident(TABLE)} SET ${ident(COLUMN)} = 'a', y = '#b' WHERE id = 1`);
    } finally {
      await target.close();
    }
    const verify = await sb.cli(['verify', '--json']);
    assert.equal(verify.exitCode, 1, String(verify.all));
    const report = lastJson<{ differences: { table: string; keys: string[] }[] }>(verify);
    assert.deepEqual(
      report.differences.map((d) => [d.table, d.keys]),
      [[`${DB}.${TABLE}`, ['1']]],
    );
  });
});
