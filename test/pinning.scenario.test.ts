import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '../config/load.js';
import { SOURCE_REPLICA_STACK, TARGET_STACK } from '../stacks/index.js';
import { connectSandboxAdmin } from '../scripts/dev/demo/scenario.js';
import { readOutputs, secretFile, writeOutputs, type SandboxState } from '../scripts/dev/sandbox/sandbox.js';
import { checkOutputsAgainstConfig } from '../scripts/core/server-identity.js';
import { exampleConfig } from './helpers/config.js';
import { type TestSandbox, journalOf, migratedSandbox, shopSandbox } from './helpers/sandbox.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const all = (r: { all?: unknown }): string => String(r.all ?? '');

const STALE = /a stale or foreign outputs file is the usual cause/;

test('a config whose target is the source (same identifier, any case) is refused by the config check', () => {
  const same = exampleConfig({ target: { instanceIdentifier: 'Shop-Prod', engineVersion: '10.11.8' } });
  assert.throws(
    () => parseConfig(same, 'migration.config.json'),
    (err: unknown) =>
      err instanceof ConfigError &&
      /target\.instanceIdentifier/.test(err.message) &&
      /"Shop-Prod" is also source\.instanceIdentifier: it is the same server/.test(err.message),
  );
});

test("an outputs file that describes other instances than the config's is refused, naming both values", () => {
  const config = parseConfig(exampleConfig(), 'migration.config.json');
  const outputs = {
    source: { host: 'src.abc', port: 3306 },
    replica: { host: 'rep.abc', port: 3306, identifier: 'shop-prod-rlm-replica' },
    target: { host: 'tgt.abc', port: 3306, identifier: 'shop-prod-encrypted', masterSecret: 'arn' },
  };
  checkOutputsAgainstConfig(config, outputs, 'out.json');
  assert.throws(
    () => checkOutputsAgainstConfig(config, { ...outputs, target: { ...outputs.target, identifier: 'billing-encrypted' } }, 'out.json'),
    /out\.json: the target identifier in the outputs is billing-encrypted, but the config's target\.instanceIdentifier is shop-prod-encrypted/,
  );
  assert.throws(
    () => checkOutputsAgainstConfig(config, { ...outputs, replica: { ...outputs.replica, identifier: 'billing-rlm-replica' } }, 'out.json'),
    /the replica identifier in the outputs is billing-rlm-replica, but the stacks declare the replica of shop-prod as shop-prod-rlm-replica/,
  );
  assert.throws(
    () => checkOutputsAgainstConfig(config, { ...outputs, target: { ...outputs.target, host: 'SRC.abc' } }, 'out.json'),
    /source-master and target-master are the same server \(both at src\.abc:3306\)/,
  );
});

/** Points the outputs' target at `port`, logging in with the source's secret: as if the target were the source. */
function targetAt(state: SandboxState, port: number): void {
  const outputs = readOutputs(state.dir);
  writeOutputs(state.dir, {
    ...outputs,
    [TARGET_STACK]: { ...outputs[TARGET_STACK], target_port: port, master_secret_arn: `file:${secretFile(state.dir, 'source-master')}` },
  });
}

/** Source and target swapped in the outputs and in the password reference: a foreign outputs file whose credentials all work. */
function swapSourceAndTarget(state: SandboxState): void {
  const outputs = readOutputs(state.dir);
  const swapped = { source_port: state.servers['target-master'].port };
  writeOutputs(state.dir, {
    [SOURCE_REPLICA_STACK]: { ...outputs[SOURCE_REPLICA_STACK], ...swapped },
    [TARGET_STACK]: {
      ...outputs[TARGET_STACK],
      ...swapped,
      target_port: state.servers['source-master'].port,
      master_secret_arn: `file:${secretFile(state.dir, 'source-master')}`,
    },
  });
  const config = JSON.parse(readFileSync(state.configFile, 'utf8')) as { source: { passwordFrom: string } };
  config.source.passwordFrom = `file:${secretFile(state.dir, 'target-master')}`;
  writeFileSync(state.configFile, JSON.stringify(config, null, 2));
}

async function count(sb: TestSandbox, role: 'source-master' | 'target-master', sql: string): Promise<number> {
  const s = await connectSandboxAdmin(sb.state, role);
  try {
    return Number(await s.value(sql));
  } finally {
    await s.close();
  }
}

const lockedAppAccounts =
  "SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'shop_app' AND JSON_VALUE(Priv, '$.account_locked') = 'true'";
const replicationUsers = "SELECT COUNT(*) FROM mysql.user WHERE User = 'rlm_repl'";

test('an outputs file whose target is the source: plan and run refuse, saying it is the same server, and change nothing', async () => {
  const sb = await shopSandbox(0.02);
  try {
    targetAt(sb.state, sb.state.servers['source-master'].port);
    const plan = await sb.cli(['plan']);
    assert.notEqual(plan.exitCode, 0, all(plan));
    assert.match(all(plan), /source-master and target-master are the same server/);

    // The same server under another name (a proxy, a CNAME): only what it answers tells.
    const proxy = await startTcpProxy(sb.state.servers['source-master'].port);
    try {
      targetAt(sb.state, proxy.port);
      const run = await sb.cli(['run']);
      assert.notEqual(run.exitCode, 0, all(run));
      assert.match(all(run), /target-master and source-master are the same server \(server_id 1/);
      assert.match(all(run), STALE);
    } finally {
      await proxy.close();
    }
    assert.deepEqual(Object.keys(journalOf(sb.state).steps), []);
    assert.equal(await count(sb, 'source-master', replicationUsers), 0);
  } finally {
    await sb.down();
  }
});

test('after run, an outputs file with source and target swapped: cutover --force refuses and locks no account', async () => {
  const sb = await migratedSandbox(0.02);
  try {
    assert.deepEqual(Object.keys(journalOf(sb.state).servers ?? {}).sort(), ['source-master', 'source-slave', 'target-master']);
    swapSourceAndTarget(sb.state);

    const cutover = await sb.cli(['cutover', '--force']);
    assert.notEqual(cutover.exitCode, 0, all(cutover));
    assert.match(
      all(cutover),
      /source-master: the server answering is not the one this migration recorded for source-master \(recorded .*server_id 1.*answering now: server_id 3/,
    );
    assert.match(all(cutover), STALE);
    assert.equal(journalOf(sb.state).steps['cutover:freeze-source'], undefined);
    assert.equal(await count(sb, 'source-master', lockedAppAccounts), 0);
    assert.equal(await count(sb, 'target-master', lockedAppAccounts), 0);
  } finally {
    await sb.down();
  }
});

test('after cutover, an outputs file with source and target swapped: finalize and rollback refuse and change nothing', async () => {
  const sb = await migratedSandbox(0.02);
  try {
    const cutover = await sb.cli(['cutover', '--force']);
    assert.equal(cutover.exitCode, 0, all(cutover));
    swapSourceAndTarget(sb.state);

    for (const command of ['finalize', 'rollback']) {
      const result = await sb.cli([command]);
      assert.notEqual(result.exitCode, 0, all(result));
      assert.match(all(result), /the server answering is not the one this migration recorded/, command);
    }
    // The way back is intact: the old source still follows the target, the replication users exist, the target takes writes.
    const source = await connectSandboxAdmin(sb.state, 'source-master');
    try {
      assert.equal((await source.query('SHOW SLAVE STATUS')).length, 1);
    } finally {
      await source.close();
    }
    assert.equal(await count(sb, 'source-master', replicationUsers), 1);
    assert.equal(await count(sb, 'target-master', replicationUsers), 1);
    assert.equal(await count(sb, 'target-master', lockedAppAccounts), 0);
    assert.equal(journalOf(sb.state).steps.finalize, undefined);
  } finally {
    await sb.down();
  }
});
