import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { caughtUp } from '../scripts/core/catch-up.js';
import { comparePositions, parseReplicaStatus } from '../scripts/db/replica-status.js';
import { resumePosition } from '../scripts/run/freeze-replica.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { connectSandboxAdmin } from '../scripts/dev/demo/scenario.js';
import { journalOf, shopSandbox } from './helpers/sandbox.js';
import { until } from './helpers/wait.js';

type Pos = { file: string; pos: number };

test('the resume position is the executed one, not how far the IO thread has read', () => {
  const status = parseReplicaStatus({
    Slave_IO_Running: 'No',
    Slave_SQL_Running: 'No',
    Master_Log_File: 'binlog.000002',
    Read_Master_Log_Pos: '900',
    Relay_Master_Log_File: 'binlog.000001',
    Exec_Master_Log_Pos: '4000',
  });
  assert.deepEqual(resumePosition(status), { file: 'binlog.000001', pos: 4000 });
});

test('trap: transactions read but not applied by the replica would be lost from the read position; the engine keeps them', async () => {
  const sb = await shopSandbox(0.02);
  try {
    const replicaRoot = await rootConnection(join(sb.state.dir, 'servers', 'source-slave'));
    const source = await connectSandboxAdmin(sb.state, 'source-master');
    // The replica's SQL thread falls behind its IO thread: 200 committed orders sit in its relay log, unapplied.
    await replicaRoot.query('STOP SLAVE SQL_THREAD');
    await source.query('CREATE TABLE shop.trap (id INT PRIMARY KEY, note VARCHAR(40))');
    for (let i = 1; i <= 200; i++)
      await source.query('INSERT INTO shop.trap VALUES (?, ?)', [i, `committed while the replica lagged ${i}`]);
    await until("the replica's IO thread to fetch the new events", async () => {
      const [rows] = await replicaRoot.query('SHOW SLAVE STATUS');
      const status = parseReplicaStatus((rows as Record<string, unknown>[])[0]);
      const [master] = await source.query<{ File: string; Position: string }>('SHOW MASTER STATUS');
      return status.read.file === master!.File && status.read.pos === Number(master!.Position);
    });
    await replicaRoot.end();

    const result = await sb.cli(['run', '--json']);
    assert.equal(result.exitCode, 0, String(result.all));
    const frozen = journalOf(sb.state).steps['freeze-replica']!.data as { executed: Pos; read: Pos };
    assert.ok(
      comparePositions(frozen.executed, frozen.read) < 0,
      `the read position ${JSON.stringify(frozen.read)} should be ahead of the executed ${JSON.stringify(frozen.executed)}`,
    );

    // What lies between the two positions: the trap's transactions. Resuming from the read position would skip them.
    const datadir = join(sb.state.dir, 'servers', 'source-master', 'data');
    const between = await execa('mariadb-binlog', [
      '--base64-output=decode-rows',
      '-v',
      `--start-position=${frozen.executed.pos}`,
      `--stop-position=${frozen.read.pos}`,
      join(datadir, frozen.executed.file),
    ]);
    const skipped = (between.stdout.match(/### INSERT INTO `shop`\.`trap`/g) ?? []).length;
    assert.equal(skipped, 200, 'all 200 trap rows are between the executed and the read position');

    const target = await connectSandboxAdmin(sb.state, 'target-master');
    const [{ n }] = (await target.query<{ n: string }>('SELECT COUNT(*) AS n FROM shop.trap')) as [{ n: string }];
    assert.equal(Number(n), 200, 'the target has every row, because replication resumed from the executed position');
    await Promise.all([target.close(), source.close()]);
  } finally {
    await sb.down();
  }
});

test('a target just connected, before it has applied from any binlog file, is not caught up: it reports 0 s and 0 bytes behind', () => {
  const connected = {
    Slave_IO_Running: 'Yes',
    Slave_SQL_Running: 'Yes',
    Master_Host: '10.0.0.5',
    Master_Port: 3306,
    Master_Server_Id: 1,
    Master_Log_File: '',
    Read_Master_Log_Pos: 4,
    Relay_Master_Log_File: '',
    Exec_Master_Log_Pos: 4,
    Seconds_Behind_Master: 0,
  };
  const lagOf = (row: Record<string, unknown>) => ({ status: parseReplicaStatus(row), secondsBehind: 0, bytesBehind: 0 });
  assert.equal(caughtUp(lagOf(connected), true, 5), false);
  const applying = { ...connected, Master_Log_File: 'mysql-bin-changelog.000042', Relay_Master_Log_File: 'mysql-bin-changelog.000042' };
  assert.equal(caughtUp(lagOf(applying), true, 5), true);
  assert.equal(caughtUp(lagOf(applying), false, 5), false);
});
