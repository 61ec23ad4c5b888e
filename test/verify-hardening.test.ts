import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { singleServer } from './helpers/sandbox.js';
import { chunkChecksumSql } from '../scripts/verify/row-hash.js';
import { comparedShape } from '../scripts/verify/verify.js';
import { Server } from '../scripts/db/connection.js';
import { keyRanges, rangeWhere, type TableShape } from '../scripts/db/key-chunks.js';

let root: Awaited<ReturnType<typeof singleServer>>['root'];
let port: number;
let stop: () => Promise<void>;

before(async () => {
  ({ root, port, stop } = await singleServer('verify-hardening'));
  await root.query('CREATE DATABASE v');
});

after(async () => {
  await stop?.();
});

/** The tool's own kind of connection, as verify opens it. */
async function verifier(): Promise<Server> {
  await root.query("CREATE USER IF NOT EXISTS verifier@'127.0.0.1' IDENTIFIED BY 'verify-hardening'");
  await root.query("GRANT SELECT ON v.* TO verifier@'127.0.0.1'");
  return Server.connect({
    role: 'source-master',
    endpoint: { host: '127.0.0.1', port },
    credentials: { username: 'verifier', password: 'verify-hardening' },
  });
}

async function checksum(shape: TableShape): Promise<string> {
  const [rows] = await root.query(`SELECT ${chunkChecksumSql(shape)} FROM v.${shape.name}`);
  const r = (rows as { n: unknown; a: unknown; b: unknown }[])[0]!;
  return `${r.n}/${r.a}/${r.b}`;
}

test('a keyless table whose rows come in identical pairs does not checksum like another such table', async () => {
  // Source {a, a} and target {b, b}: the same row count, and a XOR of row hashes would be 0 on both sides.
  for (const [name, value] of [
    ['dup_source', 'a'],
    ['dup_target', 'b'],
  ]) {
    await root.query(`CREATE TABLE v.${name} (x VARCHAR(20) NOT NULL)`);
    await root.query(`INSERT INTO v.${name} VALUES (?), (?)`, [value, value]);
  }
  const shape = (name: string): TableShape => ({ schema: 'v', name, columns: ['x'], key: [] });
  assert.notEqual(await checksum(shape('dup_source')), await checksum(shape('dup_target')));
});

test("the compared ranges hold every row the follower has: below, between and above the leader's chunks", async () => {
  // The leader's keys come in two runs; the follower also has a row below, between and above them
  // (say, deletes it never applied). Each must fall in some compared range, or verify never sees it.
  const leaderKeys = [10, 11, 12, 13, 14, 20, 21, 22, 23, 24];
  for (const [name, keys] of [
    ['gap_leader', leaderKeys],
    ['gap_follower', [1, ...leaderKeys, 17, 30]],
  ] as const) {
    await root.query(`CREATE TABLE v.${name} (id INT UNSIGNED PRIMARY KEY, x INT NOT NULL)`);
    await root.query(`INSERT INTO v.${name} VALUES ${keys.map((k) => `(${k}, ${k})`).join(', ')}`);
  }
  const server = await verifier();
  try {
    const shape = (name: string): TableShape => ({ schema: 'v', name, columns: ['id', 'x'], key: ['id'] });
    let covered = 0;
    for await (const range of keyRanges(server, shape('gap_leader'), 5)) {
      const where = rangeWhere(shape('gap_follower'), range);
      covered += Number(await server.value(`SELECT COUNT(*) FROM v.gap_follower ${where.sql}`, where.params));
    }
    assert.equal(covered, leaderKeys.length + 3);
  } finally {
    await server.close();
  }
});

test('FLOAT values that differ past their sixth digit do not checksum alike', async () => {
  // MariaDB prints a FLOAT with six significant digits: 16777216 and 16777218 both read 16777200.
  for (const [name, value] of [
    ['float_source', 16777216],
    ['float_target', 16777218],
  ] as const) {
    await root.query(`CREATE TABLE v.${name} (id INT PRIMARY KEY, f FLOAT NOT NULL)`);
    await root.query(`INSERT INTO v.${name} VALUES (1, ?)`, [value]);
  }
  const server = await verifier();
  try {
    const sums = [];
    for (const name of ['float_source', 'float_target']) {
      const shape = await comparedShape(server, 'v', name);
      sums.push(await server.one(`SELECT ${chunkChecksumSql(shape)} FROM v.${name}`));
    }
    assert.notDeepEqual(sums[0], sums[1]);
  } finally {
    await server.close();
  }
});
