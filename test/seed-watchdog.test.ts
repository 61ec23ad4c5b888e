import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { Server } from '../scripts/db/connection.js';
import { rdsMariadb } from '../scripts/db/dialect.js';
import { connectSandboxAdmin, sandboxAdmin } from '../scripts/dev/demo/scenario.js';
import { parallelSeed, type ParallelSeedOptions } from '../scripts/seed/parallel-seed.js';
import { SeedProgress } from '../scripts/seed/seed-progress.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import type { Log } from '../scripts/support/log.js';
import { compareTableChecksums } from '../scripts/verify/checksums.js';
import { shopSandbox, type TestSandbox } from './helpers/sandbox.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

/** A log that keeps what it is told, and wakes whoever waits for a line. */
function recordingLog() {
  const lines: { kind: 'info' | 'warn' | 'progress'; text: string }[] = [];
  const waiters: (() => void)[] = [];
  const add = (kind: 'info' | 'warn' | 'progress') => (text: string) => {
    lines.push({ kind, text });
    for (const w of waiters.splice(0)) w();
  };
  const log: Log = { info: add('info'), warn: add('warn'), progress: add('progress'), transcript: add('progress'), done: () => {} };
  const waitFor = async (pattern: RegExp): Promise<string> => {
    for (;;) {
      const hit = lines.find((l) => pattern.test(l.text));
      if (hit) return hit.text;
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { log, lines, waitFor };
}

/** The chunk named in `text` is the one holding the row the test locks. */
function assertHoldsRow450(text: string): void {
  const m = /wd\.t \[(\d+),(\d+)\]/.exec(text);
  assert.ok(m, `no key range named in: ${text}`);
  assert.ok(Number(m[1]) <= 450 && 450 <= Number(m[2]), `the range named is not the blocked one: ${text}`);
}

/** Fails instead of hanging: the seed under test must finish well within this. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the seed watchdog and the no-hang rule', () => {
  let sb: TestSandbox;
  let source: Server;
  let target: Server;
  let targetRoot: Connection;
  const progressFile = () => join(sb.state.dir, 'seed-watchdog-progress.json');
  const seed = (databases: string[], extra: Partial<ParallelSeedOptions> = {}) =>
    parallelSeed({
      databases,
      chunkRows: 200,
      threads: 4,
      rewriteDefiners: false,
      progress: new SeedProgress(progressFile(), 'test copy'),
      log: recordingLog().log,
      connectSource: () => connectSandboxAdmin(sb.state, 'source-master'),
      connectTarget: () => connectSandboxAdmin(sb.state, 'target-master'),
      killTarget: (id) => rdsMariadb.killConnection(target, id),
      ...extra,
    });
  const fresh = async (db: string) => {
    await target.query(`DROP DATABASE IF EXISTS \`${db}\``);
    rmSync(progressFile(), { force: true });
  };

  before(async () => {
    sb = await shopSandbox(0.01);
    source = await connectSandboxAdmin(sb.state, 'source-master');
    target = await connectSandboxAdmin(sb.state, 'target-master');
    targetRoot = await rootConnection(join(sb.state.dir, 'servers', 'target-master'));
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE wd');
    await root.query('CREATE TABLE wd.t (id INT PRIMARY KEY, v VARCHAR(40), pad VARCHAR(200), KEY ix_v (v))');
    await root.query("INSERT INTO wd.t SELECT seq, CONCAT('v', seq), REPEAT('p', 150) FROM wd.seq_1_to_20000");
    await root.end();
  });
  after(async () => {
    await targetRoot.end();
    await Promise.all([source.close(), target.close()]);
    await sb.down();
  });

  test('a first seed runs no DELETE on the target; a resumed one clears its partial chunks before any load', {
    timeout: 120_000,
  }, async () => {
    await fresh('wd');
    const deletes = async () =>
      Number(((await targetRoot.query("SHOW GLOBAL STATUS LIKE 'Com_delete'")) as unknown as [{ Value: string }[]])[0][0]!.Value);
    const before = await deletes();
    await within(60_000, 'the first seed', seed(['wd']));
    assert.equal(await deletes(), before, 'a range DELETE beside concurrent loads into the same table is what hung the server');

    // A run that died: every chunk after the first 10 not marked done, some of them partly on the target.
    const progress = new SeedProgress(progressFile(), 'test copy');
    const plan = progress.plan(JSON.stringify(['wd', 't']))!;
    rmSync(progressFile(), { force: true });
    const resumed = new SeedProgress(progressFile(), 'test copy');
    resumed.setPlan(JSON.stringify(['wd', 't']), plan);
    for (let i = 0; i < 10; i++) resumed.markDone(JSON.stringify(['wd', 't']), i);
    await target.query('DELETE FROM wd.t WHERE id > 3000 AND id % 7 <> 0');
    await targetRoot.query("SET GLOBAL log_output = 'TABLE', general_log = 1");
    try {
      await targetRoot.query('TRUNCATE mysql.general_log');
      await within(60_000, 'the resumed seed', seed(['wd']));
    } finally {
      await targetRoot.query('SET GLOBAL general_log = 0');
    }
    const [log] = (await targetRoot.query(
      "SELECT event_time AS t, thread_id AS th, LEFT(argument, 40) AS a FROM mysql.general_log WHERE command_type = 'Query' AND (argument LIKE 'DELETE FROM `wd`%' OR argument LIKE 'LOAD DATA%') ORDER BY event_time",
    )) as unknown as [{ t: string; a: string }[]];
    const firstLoad = log.findIndex((r) => r.a.startsWith('LOAD'));
    const lastDelete = log.map((r) => r.a.startsWith('DELETE')).lastIndexOf(true);
    assert.ok(firstLoad >= 0 && lastDelete >= 0, JSON.stringify(log.slice(0, 5)));
    assert.ok(
      lastDelete < firstLoad,
      `a DELETE ran after loading had begun: ${JSON.stringify(log.slice(Math.max(0, firstLoad - 2), lastDelete + 2))}`,
    );
    assert.deepEqual(
      (await compareTableChecksums(source, target, ['wd'])).filter((t) => !t.equal),
      [],
    );
  });

  test('ten seeds in a row, small chunks, four workers on one table: every one finishes with equal checksums', {
    timeout: 600_000,
  }, async () => {
    for (let i = 0; i < 10; i++) {
      await fresh('wd');
      await within(60_000, `seed ${i + 1} of 10`, seed(['wd'], { chunkRows: 150 }));
      const compared = await compareTableChecksums(source, target, ['wd']);
      assert.deepEqual(
        compared.filter((t) => !t.equal),
        [],
        `seed ${i + 1}: ${JSON.stringify(compared)}`,
      );
    }
  });

  test('connections lost in the middle of the chunks are opened again and the chunks copied again: the seed finishes equal', {
    timeout: 180_000,
  }, async () => {
    await fresh('wd');
    const proxy = await startTcpProxy(sb.state.servers['source-master'].port);
    const admin = sandboxAdmin(sb.state, 'source-master');
    const { log, lines } = recordingLog();
    try {
      // Every source connection is dropped once ~1 MB of rows has crossed: chunks are in flight on every worker.
      const dropped = proxy.holdAfter(1_000_000).then(() => {
        proxy.cut();
        proxy.heal();
      });
      const connectSource = () =>
        Server.connect({
          role: 'source-master',
          endpoint: { host: '127.0.0.1', port: proxy.port },
          credentials: { username: admin.username, password: admin.password },
        });
      // A lane whose source was paused (the target behind) when its link dropped learns of it only from the watchdog.
      await within(120_000, 'the seed', seed(['wd'], { log, connectSource, stallSeconds: 5 }));
      await dropped;
      assert.ok(
        lines.some((l) => /connection lost; clearing .* and copying it again/.test(l.text)),
        lines.map((l) => l.text).join('\n'),
      );
      const compared = await compareTableChecksums(source, target, ['wd']);
      assert.deepEqual(
        compared.filter((t) => !t.equal),
        [],
      );
    } finally {
      await proxy.close();
    }
  });

  test('a chunk blocked on the target is killed, cleared and copied again, and the progress line names the worker', {
    timeout: 120_000,
  }, async () => {
    await fresh('wd');
    // The table exists before the seed so the test can lock a row (id 450) first.
    await target.query('CREATE DATABASE wd');
    await target.query('CREATE TABLE wd.t (id INT PRIMARY KEY, v VARCHAR(40), pad VARCHAR(200))');
    await targetRoot.query('BEGIN');
    await targetRoot.query("INSERT INTO wd.t VALUES (450, 'held', 'by the test')");
    const { log, lines, waitFor } = recordingLog();
    const run = seed(['wd'], { log, stallSeconds: 1.5 });
    run.catch(() => {});
    let released = false;
    try {
      const killed = await within(60_000, 'the watchdog kill', waitFor(/no progress for .* killed/));
      assertHoldsRow450(killed);
      const named = lines.find((l) => l.kind === 'progress' && /worker \d+ on wd\.t \[\d+,\d+\]: no progress for \d+ s/.test(l.text));
      assert.ok(named, 'the progress line names the stalled worker');
      assertHoldsRow450(named.text);
    } finally {
      await targetRoot.query('ROLLBACK');
      released = true;
    }
    assert.ok(released);
    await within(60_000, 'the seed after the release', run);
    assert.ok(
      lines.some((l) => /clearing wd\.t \[\d+,\d+\] and copying it again/.test(l.text)),
      lines.map((l) => l.text).join('\n'),
    );
    assert.deepEqual(
      (await compareTableChecksums(source, target, ['wd'])).filter((t) => !t.equal),
      [],
    );
  });

  test('a chunk that stays blocked stops the seed after its retries, naming the table and the key range', {
    timeout: 120_000,
  }, async () => {
    await fresh('wd');
    await target.query('CREATE DATABASE wd');
    await target.query('CREATE TABLE wd.t (id INT PRIMARY KEY, v VARCHAR(40), pad VARCHAR(200))');
    await targetRoot.query('BEGIN');
    await targetRoot.query("INSERT INTO wd.t VALUES (450, 'held', 'by the test')");
    try {
      await assert.rejects(within(60_000, 'the seed', seed(['wd'], { stallSeconds: 1, maxChunkRetries: 1 })), (err: Error) => {
        assertHoldsRow450(err.message);
        assert.match(err.message, /no progress/);
        return true;
      });
    } finally {
      await targetRoot.query('ROLLBACK');
    }
    // Re-running after the cause is gone finishes the copy.
    await within(60_000, 'the re-run', seed(['wd']));
    assert.deepEqual(
      (await compareTableChecksums(source, target, ['wd'])).filter((t) => !t.equal),
      [],
    );
  });
});
