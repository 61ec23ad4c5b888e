import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { serverDir } from '../scripts/dev/sandbox/sandbox.js';
import { assertNothingLost } from './helpers/migration.js';
import { shopSandbox, type TestSandbox } from './helpers/sandbox.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { setTimeout as delay } from 'node:timers/promises';
import { until as waitUntil } from './helpers/wait.js';

/** How long the link stays cut: the scenario's parameter (two connect retries and more, shorter than RDS's 60 s), not a wait for anything. */
const OUTAGE_MS = 12_000;
const BULK_ROWS = 200_000;

const until = <T>(what: string, probe: () => Promise<T | undefined | false>) => waitUntil(what, probe, 120_000);

async function slaveStatus(root: Connection): Promise<Record<string, unknown>> {
  const [rows] = await root.query('SHOW SLAVE STATUS');
  return (rows as Record<string, unknown>[])[0] ?? {};
}

async function checksum(root: Connection, table: string): Promise<string> {
  const [rows] = await root.query(`CHECKSUM TABLE ${table}`);
  return String((rows as { Checksum: unknown }[])[0]!.Checksum);
}

/**
 * A large multi-row statement on `leader`; the link to `follower` is cut once 1 MB of its
 * ~45 MB event group has crossed, and healed OUTAGE_MS later. Returns when the follower
 * reports the broken link; `healed` settles when the link is back.
 */
async function cutInsideStatement(proxy: TcpProxy, leader: Connection, follower: Connection): Promise<{ healed: Promise<void> }> {
  await leader.query('CREATE DATABASE IF NOT EXISTS bulk');
  await leader.query('CREATE TABLE bulk.rows_in_one_statement (id INT PRIMARY KEY, pad VARCHAR(200) NOT NULL) ENGINE=InnoDB');
  await until(
    'the follower to create the bulk table',
    async () =>
      (
        (
          await follower.query(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bulk' AND TABLE_NAME = 'rows_in_one_statement'",
          )
        )[0] as unknown[]
      ).length > 0,
  );
  const midStatement = proxy.holdAfter(1024 * 1024);
  await leader.query(`INSERT INTO bulk.rows_in_one_statement SELECT seq, REPEAT('x', 200) FROM bulk.seq_1_to_${BULK_ROWS}`);
  await midStatement;
  proxy.cut();
  // The outage's length is the scenario, not a wait for something to happen.
  const outage = delay(OUTAGE_MS).then(() => proxy.heal());
  await until('the follower to report the broken link', async () => {
    const s = await slaveStatus(follower);
    return s.Slave_IO_Running !== 'Yes' && Number(s.Last_IO_Errno) !== 0;
  });
  return { healed: outage };
}

/** One server reaches the other through the proxy, as through a network between them. */
function routeThrough(sb: TestSandbox, proxy: TcpProxy, field: 'sourcePortForTarget' | 'targetPortForSource'): void {
  const config = JSON.parse(readFileSync(sb.state.configFile, 'utf8'));
  config.migration[field] = proxy.port;
  writeFileSync(sb.state.configFile, `${JSON.stringify(config, null, 2)}\n`);
}

describe('a 12 s cut of the replication link during catch-up, inside a large multi-row statement', () => {
  let sb: TestSandbox;
  let proxy: TcpProxy;
  let source: Connection;
  let target: Connection;
  before(async () => {
    sb = await shopSandbox();
    proxy = await startTcpProxy(sb.state.servers['source-master'].port);
    routeThrough(sb, proxy, 'sourcePortForTarget');
    source = await rootConnection(serverDir(sb.state.dir, 'source-master'));
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await proxy?.close();
    await sb?.down();
  });

  test('catch-up restarts replication by itself and finishes; nothing is lost', async () => {
    const workload = sb.workload();
    const pointed = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: 'before:catch-up' });
    assert.equal(pointed.signal, 'SIGKILL', String(pointed.all));
    // Opened only now: the run restarts the target when it leaves load mode.
    target = await rootConnection(serverDir(sb.state.dir, 'target-master'));
    assert.equal(Number((await slaveStatus(target)).Master_Port), proxy.port);

    const { healed: outage } = await cutInsideStatement(proxy, source, target);

    const run = await sb.cli(['run', '--json']);
    await outage;
    assert.equal(run.exitCode, 0, String(run.all));
    assert.match(String(run.all), /restarting replication/);
    await assertNothingLost(sb, workload);
    assert.equal(await checksum(target, 'bulk.rows_in_one_statement'), await checksum(source, 'bulk.rows_in_one_statement'));
  });
});

describe('a 12 s cut of the reverse replication link after cutover, inside a large multi-row statement on the target', () => {
  let sb: TestSandbox;
  let proxy: TcpProxy;
  let source: Connection;
  let target: Connection;
  before(async () => {
    sb = await shopSandbox();
    proxy = await startTcpProxy(sb.state.servers['target-master'].port);
    routeThrough(sb, proxy, 'targetPortForSource');
  });
  after(async () => {
    await source?.end();
    await target?.end();
    await proxy?.close();
    await sb?.down();
  });

  test('the drain of a rollback restarts reverse replication by itself; nothing is lost', async () => {
    const workload = sb.workload();
    assert.equal((await sb.cli(['run'])).exitCode, 0);
    assert.equal((await sb.cli(['verify'])).exitCode, 0);
    const cut = await sb.cli(['cutover', '--json']);
    assert.equal(cut.exitCode, 0, String(cut.all));
    source = await rootConnection(serverDir(sb.state.dir, 'source-master'));
    target = await rootConnection(serverDir(sb.state.dir, 'target-master'));
    assert.equal(Number((await slaveStatus(source)).Master_Port), proxy.port, 'the old source follows the target through the proxy');

    const { healed: outage } = await cutInsideStatement(proxy, target, source);

    const back = await sb.cli(['rollback', '--json']);
    await outage;
    assert.equal(back.exitCode, 0, String(back.all));
    assert.equal(await checksum(source, 'bulk.rows_in_one_statement'), await checksum(target, 'bulk.rows_in_one_statement'));
    await assertNothingLost(sb, workload);
  });
});
