import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { connectSandboxAdmin } from '../scripts/dev/demo/scenario.js';
import type { Finding } from '../scripts/run/preflight/index.js';
import { lastJson, shopSandbox, type TestSandbox } from './helpers/sandbox.js';
import { until } from './helpers/wait.js';

type Plan = { ok: boolean; blocked: boolean; findings: Finding[] };

function finding(plan: Plan, id: string): Finding {
  const f = plan.findings.find((x) => x.id === id);
  assert.ok(f, `expected finding ${id}; got ${plan.findings.map((x) => x.id).join(', ')}`);
  return f;
}

// biome-ignore lint/suspicious/noExplicitAny: a test edits the config file as raw JSON
function withConfig(sb: TestSandbox, change: (config: Record<string, any>) => void): string {
  const config = JSON.parse(readFileSync(sb.state.configFile, 'utf8'));
  change(config);
  const file = join(sb.state.dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('preflight finds what would break the migration, and changes nothing', () => {
  let sb: TestSandbox;
  before(async () => (sb = await shopSandbox(0.01)));
  after(async () => sb.down());

  test('a healthy sandbox has no blocking finding; retention and events are announced; plan leaves the disk as it was', async () => {
    const result = await sb.cli(['plan', '--json']);
    assert.equal(existsSync(join(sb.state.dir, 'work')), false, 'plan created the work directory');
    const plan = lastJson<Plan>(result);
    assert.equal(result.exitCode, 0, String(result.all));
    assert.equal(plan.blocked, false);
    assert.match(
      finding(plan, 'binlog-retention').message,
      /binlog retention is NULL \(binlogs purged as soon as possible\); it will be set to 24 h/,
    );
    assert.match(finding(plan, 'events').message, /1 event\(s\) will stay disabled on the target until cutover/);
  });

  test('each problem on the servers is found, with what to do, and run refuses with nothing changed', async () => {
    const sourceRoot = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    const targetRoot = await rootConnection(join(sb.state.dir, 'servers', 'target-master'));
    await sourceRoot.query("SET GLOBAL binlog_format = 'MIXED'");
    await sourceRoot.query('CREATE TABLE shop.no_pk (a INT, b INT) ENGINE=InnoDB');
    await sourceRoot.query('CREATE TABLE shop.legacy (id INT PRIMARY KEY) ENGINE=MyISAM');
    await sourceRoot.query("CREATE DEFINER = 'reporting'@'%' SQL SECURITY DEFINER VIEW shop.report AS SELECT 1 AS one");
    await sourceRoot.query("CREATE USER 'shop_web'@'web1.example.com' IDENTIFIED BY 'not-used-here'");
    await targetRoot.query('CREATE DATABASE leftover');
    await targetRoot.query('CREATE TABLE leftover.t (id INT PRIMARY KEY)');
    await targetRoot.query('SET GLOBAL server_id = 1');
    await targetRoot.query('SET GLOBAL local_infile = 0');
    // The replica must have applied the new tables: it is what preflight inventories.
    const replicaRoot = await rootConnection(join(sb.state.dir, 'servers', 'source-slave'));
    await until('source-slave to apply the new tables', async () => {
      const [rows] = await replicaRoot.query(
        "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN ('no_pk', 'legacy', 'report')",
      );
      const [users] = await replicaRoot.query("SELECT 1 FROM mysql.user WHERE User = 'shop_web'");
      return Number((rows as { n: number }[])[0]!.n) === 3 && (users as unknown[]).length === 1;
    });
    await replicaRoot.end();
    try {
      const result = await sb.cli(['plan', '--json']);
      assert.equal(result.exitCode, 1);
      const plan = lastJson<Plan>(result);
      assert.equal(plan.blocked, true);
      assert.equal(finding(plan, 'binlog-format').severity, 'block');
      assert.match(finding(plan, 'binlog-format').message, /binlog_format is MIXED/);
      assert.match(finding(plan, 'binlog-format').fix, /set binlog_format = ROW in source-master's parameter group/);
      assert.equal(finding(plan, 'no-primary-key').severity, 'warn');
      assert.match(finding(plan, 'no-primary-key').message, /1 table\(s\) without a primary key: shop\.no_pk/);
      assert.match(finding(plan, 'non-innodb').message, /shop\.legacy \(MyISAM\)/);
      assert.equal(finding(plan, 'definers').severity, 'block');
      assert.match(finding(plan, 'definers').message, /DEFINER reporting@%, which admin@% cannot create without SUPER: view shop\.report/);
      assert.equal(finding(plan, 'target-not-empty').severity, 'block');
      assert.match(finding(plan, 'target-not-empty').message, /target-master is not empty: leftover \(1 tables\)/);
      assert.match(finding(plan, 'server-id').message, /target-master and source-master have the same server_id 1/);
      assert.match(finding(plan, 'local-infile').fix, /set local_infile = 1 in the target parameter group/);
      assert.match(
        finding(plan, 'host-names-unresolved').message,
        /cannot log in there: 'shop_web'@'web1\.example\.com' \(the source skips it too/,
      );

      const run = await sb.cli(['run']);
      assert.equal(run.exitCode, 1);
      assert.match(String(run.stderr), /preflight found \d+ problem\(s\) that stop the migration; nothing was changed/);
      const source = await connectSandboxAdmin(sb.state, 'source-master');
      const [config] = (await source.query('CALL mysql.rds_show_configuration')) as unknown as Record<string, unknown>[][];
      assert.equal(config![0]!.value, null, 'binlog retention must be untouched');
      assert.equal((await source.query("SELECT 1 FROM mysql.user WHERE User = 'rlm_repl'")).length, 0, 'no replication user created');
      await source.close();

      const rewrite = lastJson<Plan>(
        await sb.cli(['--config', withConfig(sb, (c) => (c.migration.definers = 'rewrite')), 'plan', '--json']),
      );
      assert.equal(finding(rewrite, 'definers').severity, 'warn');
    } finally {
      await sourceRoot.query("SET GLOBAL binlog_format = 'ROW'");
      await sourceRoot.query('DROP TABLE shop.no_pk, shop.legacy');
      await sourceRoot.query('DROP VIEW shop.report');
      await sourceRoot.query("DROP USER 'shop_web'@'web1.example.com'");
      await targetRoot.query('DROP DATABASE leftover');
      await targetRoot.query('SET GLOBAL server_id = 3');
      await targetRoot.query('SET GLOBAL local_infile = 1');
      await Promise.all([sourceRoot.end(), targetRoot.end()]);
    }
  });

  test('a wrong password is refused with the server and what to check', async () => {
    const secretFile = join(sb.state.dir, 'wrong-secret.json');
    writeFileSync(secretFile, JSON.stringify({ username: 'admin', password: 'definitely-not-it' }));
    const result = await sb.cli(['--config', withConfig(sb, (c) => (c.source.passwordFrom = `file:${secretFile}`)), 'plan', '--json']);
    assert.equal(result.exitCode, 1);
    const plan = lastJson<Plan>(result);
    assert.match(
      finding(plan, 'credentials').message,
      /source-master \(127\.0\.0\.1:\d+\): user admin was refused: wrong user name or password/,
    );
    assert.ok(!String(result.all).includes('definitely-not-it'));
  });

  test('an unreachable host is reported as such', async () => {
    const outputs = JSON.parse(readFileSync(join(sb.state.dir, 'cdktf-outputs.json'), 'utf8'));
    outputs.target.target_port = 1;
    const outputsFile = join(sb.state.dir, 'outputs-unreachable.json');
    writeFileSync(outputsFile, JSON.stringify(outputs));
    const plan = lastJson<Plan>(
      await sb.cli(['--config', withConfig(sb, (c) => (c.migration.outputsFile = outputsFile)), 'plan', '--json']),
    );
    assert.match(finding(plan, 'unreachable').message, /target-master \(127\.0\.0\.1:1\): connection refused/);
    assert.match(finding(plan, 'unreachable').fix, /check the endpoint and port in the stack outputs/);
  });

  test('a database named in the config that the source lacks, and a config that names the wrong engine', async () => {
    const missing = lastJson<Plan>(
      await sb.cli(['--config', withConfig(sb, (c) => (c.migration.databases = ['shop', 'shpo'])), 'plan', '--json']),
    );
    assert.match(finding(missing, 'missing-database').message, /migration\.databases names shpo, which source-slave does not have/);
    const engine = lastJson<Plan>(await sb.cli(['--config', withConfig(sb, (c) => (c.engine = 'mysql')), 'plan', '--json']));
    assert.match(finding(engine, 'engine-config').message, /the config says engine mysql, but the source is MariaDB/);
  });

  test('a replica that does not replicate from the source is refused', async () => {
    const replicaRoot = await rootConnection(join(sb.state.dir, 'servers', 'source-slave'));
    const [before] = await replicaRoot.query('SHOW SLAVE STATUS');
    const status = (before as Record<string, string>[])[0]!;
    await replicaRoot.query('STOP SLAVE');
    await replicaRoot.query('RESET SLAVE ALL');
    try {
      const plan = lastJson<Plan>(await sb.cli(['plan', '--json']));
      assert.match(finding(plan, 'not-a-replica').message, /source-slave is not a replica/);
    } finally {
      await replicaRoot.query(
        'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?',
        [
          status.Master_Host,
          Number(status.Master_Port),
          status.Master_User,
          status.Relay_Master_Log_File,
          Number(status.Exec_Master_Log_Pos),
        ],
      );
      await replicaRoot.end();
    }
  });

  test('the seed method: auto says which and why; a snapshot restore cannot change the major version', async () => {
    const small = lastJson<Plan>(await sb.cli(['--config', withConfig(sb, (c) => (c.migration.seedMethod = 'auto')), 'plan', '--json']));
    assert.match(
      finding(small, 'seed-method').message,
      /seed method: logical \(seedMethod auto: the databases hold 0\.\d+ GiB, not more than snapshotAboveGiB \(100\)/,
    );
    const large = lastJson<Plan>(
      await sb.cli([
        '--config',
        withConfig(sb, (c) => Object.assign(c.migration, { seedMethod: 'auto', snapshotAboveGiB: 0.0001 })),
        'plan',
        '--json',
      ]),
    );
    assert.match(
      finding(large, 'seed-method').message,
      /seed method: snapshot \(seedMethod auto: the databases hold 0\.\d+ GiB, more than snapshotAboveGiB \(0\.0001\)/,
    );
    assert.equal(large.blocked, false);
    const result = await sb.cli([
      '--config',
      withConfig(sb, (c) => {
        c.migration.seedMethod = 'snapshot';
        c.target.engineVersion = '11.4.2';
      }),
      'plan',
      '--json',
    ]);
    assert.equal(result.exitCode, 1);
    const version = finding(lastJson<Plan>(result), 'snapshot-engine-version');
    assert.equal(version.severity, 'block');
    assert.match(version.message, /target\.engineVersion 11\.4\.2 is not the replica's 10\.11/);
    assert.match(version.fix, /or use seedMethod logical to change versions now/);
  });

  test('a typo in the config file stops every command before it touches a server', async () => {
    const result = await sb.cli(['--config', withConfig(sb, (c) => (c.target.instanceIdentifer = 'x')), 'run', '--json']);
    assert.equal(result.exitCode, 1);
    assert.match(String(result.stderr), /field target\.instanceIdentifer: unknown field; did you mean instanceIdentifier\?/);
    assert.equal(lastJson(result).ok, false);
  });
});
