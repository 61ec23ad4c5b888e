import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import type { Finding } from '../scripts/run/preflight/index.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { journalOf, lastJson, shopSandbox, type TestSandbox } from './helpers/sandbox.js';
import { ConfigError, parseConfig } from '../config/load.js';
import { exampleConfig } from './helpers/config.js';

describe('the replication user never names an account someone logs in with', () => {
  for (const side of ['source', 'target'] as const) {
    test(`the config check refuses the ${side} master user as replication user`, () => {
      const base = exampleConfig({
        target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8', masterUsername: 'tadmin' },
      });
      const master = side === 'source' ? 'admin' : 'tadmin';
      assert.throws(
        () => parseConfig({ ...base, migration: { replicationUser: master } }, 'migration.config.json'),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes(`field migration.replicationUser`) &&
          err.message.includes(`"${master}" is the ${side} master user`),
      );
    });
  }
});

describe('preflight refuses a replication user that is an existing account with more than replication grants', () => {
  let sb: TestSandbox;
  before(async () => (sb = await shopSandbox(0.01)));
  after(async () => sb.down());

  const hashOf = async (root: Connection, user: string) => {
    const [rows] = await root.query('SELECT authentication_string AS h FROM mysql.user WHERE User = ?', [user]);
    return (rows as { h: string }[]).map((r) => r.h).join(',');
  };

  test('an application account named like the replication user: plan names it and its grants, run changes nothing', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    try {
      await root.query("CREATE USER 'rlm_repl'@'%' IDENTIFIED BY 'app-password-1'");
      await root.query("GRANT SELECT ON shop.* TO 'rlm_repl'@'%'");
      const before = await hashOf(root, 'rlm_repl');

      const plan = await sb.cli(['plan', '--json']);
      assert.equal(plan.exitCode, 1, String(plan.all));
      const finding = lastJson<{ findings: Finding[] }>(plan).findings.find((f) => f.id === 'replication-user-taken');
      assert.ok(finding, String(plan.all));
      assert.equal(finding.severity, 'block');
      assert.match(finding.message, /'rlm_repl'@'%' \(SELECT ON `shop`\.\*\)/);
      assert.match(finding.fix, /set migration\.replicationUser to a name no account uses/);

      const run = await sb.cli(['run']);
      assert.notEqual(run.exitCode, 0);
      assert.equal(await hashOf(root, 'rlm_repl'), before, 'run must not re-key the account');
      assert.ok(
        !existsSync(join(sb.state.dir, 'work', 'journal.json')) ||
          Object.values(journalOf(sb.state).steps).every((s) => s.status !== 'done'),
        'no step may have run',
      );
    } finally {
      await root.end();
    }
  });

  test('an account holding only replication grants (ours, from an earlier run) passes', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    try {
      await root.query("DROP USER IF EXISTS 'rlm_repl'@'%'");
      await root.query("CREATE USER 'rlm_repl'@'%' IDENTIFIED BY 'x-earlier-run'");
      await root.query("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'rlm_repl'@'%'");
      const plan = await sb.cli(['plan', '--json']);
      assert.equal(plan.exitCode, 0, String(plan.all));
      assert.ok(!lastJson<{ findings: Finding[] }>(plan).findings.some((f) => f.id === 'replication-user-taken'));
    } finally {
      await root.end();
    }
  });
});

describe('password hashes never reach the output, also when a statement carrying them fails', () => {
  let sb: TestSandbox;
  before(async () => (sb = await shopSandbox(0.01)));
  after(async () => sb.down());

  test('copying a user whose CREATE USER fails on the target: the error names the user, never its hashes', async () => {
    // The plugin is on the source side only, so the replayed CREATE USER (with both hashes in it) fails on the target.
    for (const role of ['source-master', 'source-slave']) {
      const root = await rootConnection(join(sb.state.dir, 'servers', role));
      await root.query("INSTALL SONAME 'auth_ed25519'").finally(() => root.end());
    }
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    let hashes: string[];
    try {
      await root.query(
        "CREATE USER 'hashy'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('pw-ed-1') OR mysql_native_password USING PASSWORD('pw-native-1')",
      );
      const [rows] = await root.query("SHOW CREATE USER 'hashy'@'%'");
      const create = String(Object.values((rows as Record<string, unknown>[])[0]!)[0]);
      hashes = [...create.matchAll(/USING '([^']+)'/g)].map((m) => m[1]!);
    } finally {
      await root.end();
    }
    assert.equal(hashes.length, 2);
    assert.match(hashes[1]!, /^\*[0-9A-F]{40}$/);

    const run = await sb.cli(['run']);
    assert.notEqual(run.exitCode, 0);
    const output = sb.output.join('\n');
    assert.match(output, /hashy/, output);
    assert.match(output, /\*{8}/);
    for (const hash of hashes) assert.ok(!output.includes(hash), `the hash ${hash} reached the output:\n${output}`);
    assert.ok(!output.includes(hashes[1]!.slice(0, 12)), 'not even the start of the native hash');
  });
});
