import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { differences } from '../scripts/core/settings-diff.js';
import type { Finding } from '../scripts/run/preflight/index.js';
import { exampleConfig } from './helpers/config.js';
import { journalOf, lastJson, sandboxAfter, shopSandbox, type TestSandbox } from './helpers/sandbox.js';

function setAccepted(sb: TestSandbox, names: string[]): void {
  const config = JSON.parse(readFileSync(sb.state.configFile, 'utf8')) as { migration: Record<string, unknown> };
  config.migration.acceptSettingsDifferences = names;
  writeFileSync(sb.state.configFile, JSON.stringify(config, null, 2));
}

async function lockedAccounts(sb: TestSandbox, role: string): Promise<string[]> {
  const root = await rootConnection(join(sb.state.dir, 'servers', role));
  try {
    const [rows] = await root.query(
      "SELECT CONCAT(User, '@', Host) AS who FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.account_locked') IN ('true', '1')",
    );
    return (rows as { who: string }[]).map((r) => r.who);
  } finally {
    await root.end();
  }
}

/** The target's sql_mode and time_zone made to differ from the source's; returns the source's sql_mode. */
async function diverge(sb: TestSandbox): Promise<string> {
  const sourceRoot = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
  const [rows] = await sourceRoot.query('SELECT @@GLOBAL.sql_mode AS m');
  await sourceRoot.end();
  const targetRoot = await rootConnection(join(sb.state.dir, 'servers', 'target-master'));
  await targetRoot.query("SET GLOBAL sql_mode = 'NO_ENGINE_SUBSTITUTION', GLOBAL time_zone = '+02:00'");
  await targetRoot.end();
  return (rows as { m: string }[])[0]!.m;
}

// Without load mode: the settings this test gives the target with SET GLOBAL must survive the run (load mode ends with a restart).
const settingsSandbox = () => shopSandbox(0.02, { targetLoadMode: false });

/** Both differences accepted by name: plan passes, run migrates and verify is clean (the second test's story). */
async function acceptedAndMigrated(sb: TestSandbox): Promise<void> {
  await diverge(sb);
  setAccepted(sb, ['sql_mode', 'time_zone']);
  const plan = await sb.cli(['plan', '--json']);
  assert.equal(plan.exitCode, 0, String(plan.all));
  const findings = lastJson<{ findings: Finding[] }>(plan).findings.filter((f) => f.id.startsWith('setting-'));
  assert.deepEqual(
    findings.map((f) => f.severity),
    ['info', 'info'],
  );
  // With time_zone accepted the servers render TIMESTAMPs differently; verify compares them in one zone and stays clean.
  const run = await sb.cli(['run']);
  assert.equal(run.exitCode, 0, String(run.all));
  const verify = await sb.cli(['verify']);
  assert.equal(verify.exitCode, 0, String(verify.all));
}

// Each test starts from its own sandbox; the cutover test from a copy of the second test's migration.
describe('settings diff between source-master and target-master', () => {
  let held: TestSandbox | undefined;
  const hold = async (sb: Promise<TestSandbox>) => (held = await sb);
  afterEach(async () => {
    await held?.down();
    held = undefined;
  });

  test('plan blocks, naming each variable, both values and the fix', async () => {
    const sb = await hold(settingsSandbox());
    const sourceSqlMode = await diverge(sb);
    const plan = await sb.cli(['plan', '--json']);
    assert.equal(plan.exitCode, 1, String(plan.all));
    const findings = lastJson<{ findings: Finding[] }>(plan).findings.filter((f) => f.id.startsWith('setting-'));
    assert.deepEqual(
      findings.map((f) => [f.id, f.severity]),
      [
        ['setting-sql_mode', 'block'],
        ['setting-time_zone', 'block'],
      ],
    );
    assert.match(findings[0]!.message, new RegExp(`source-master has '${sourceSqlMode}', target-master has 'NO_ENGINE_SUBSTITUTION'`));
    assert.match(findings[1]!.message, /time_zone differs: source-master has 'SYSTEM \(.+\)', target-master has '\+02:00'/);
    assert.match(findings[1]!.fix, /target\.parameters.*SET GLOBAL time_zone = 'SYSTEM'.*acceptSettingsDifferences/);
    assert.match(String(plan.stderr), /\[BLOCK\] target-master: sql_mode differs/);
  });

  test('accepted by name, plan passes and run migrates', async () => {
    await hold(sandboxAfter('accepted and migrated', acceptedAndMigrated, settingsSandbox));
  });

  test('cutover refuses with the same message, also with --force, and changes nothing', async () => {
    const sb = await hold(sandboxAfter('accepted and migrated', acceptedAndMigrated, settingsSandbox));
    // A restarted target has its configured settings again.
    await diverge(sb);
    setAccepted(sb, ['time_zone']);
    const lockedBefore = await lockedAccounts(sb, 'source-master');
    const plan = await sb.cli(['plan', '--json']);
    const blocker = lastJson<{ findings: Finding[] }>(plan).findings.find((f) => f.id === 'setting-sql_mode')!;
    assert.equal(blocker.severity, 'block');
    for (const args of [['cutover'], ['cutover', '--force']]) {
      const refused = await sb.cli(args);
      assert.equal(refused.exitCode, 1, String(refused.all));
      assert.ok(String(refused.stderr).includes(blocker.message), String(refused.stderr));
      assert.ok(String(refused.stderr).includes(blocker.fix), String(refused.stderr));
    }
    assert.deepEqual(
      Object.keys(journalOf(sb.state).steps).filter((s) => s.startsWith('cutover')),
      [],
    );
    assert.deepEqual(await lockedAccounts(sb, 'source-master'), lockedBefore);
  });
});

describe('settings diff rules', () => {
  test('sql_mode flags in another order are the same; a larger max_allowed_packet is fine, a smaller one is not', () => {
    assert.deepEqual(
      differences(
        { sql_mode: 'STRICT_TRANS_TABLES,NO_ZERO_DATE', max_allowed_packet: '1024' },
        { sql_mode: 'NO_ZERO_DATE,STRICT_TRANS_TABLES', max_allowed_packet: '2048' },
      ),
      [],
    );
    assert.deepEqual(differences({ max_allowed_packet: '2048' }, { max_allowed_packet: '1024' }), [
      { name: 'max_allowed_packet', source: '2048', target: '1024' },
    ]);
  });

  test('a variable only one server has is a difference', () => {
    assert.deepEqual(differences({ block_encryption_mode: 'aes-128-ecb' }, {}), [
      { name: 'block_encryption_mode', source: 'aes-128-ecb', target: undefined },
    ]);
  });

  test('the config refuses a name that is not a compared setting, and says which are', () => {
    assert.throws(
      () => parseConfig({ ...exampleConfig(), migration: { acceptSettingsDifferences: ['sql-mode'] } }),
      /migration\.acceptSettingsDifferences\.0: got "sql-mode"; expected one of the compared settings: sql_mode, time_zone/,
    );
  });
});
