import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { singleServer } from './helpers/sandbox.js';
import { chunkChecksumSql, rowHashSql } from '../scripts/verify/row-hash.js';
import type { TableShape } from '../scripts/db/key-chunks.js';

let root: Awaited<ReturnType<typeof singleServer>>['root'];
let stop: () => Promise<void>;

before(async () => {
  ({ root, stop } = await singleServer('row-hash'));
  await root.query('CREATE DATABASE h');
});

after(async () => {
  await stop?.();
});

const shape = (name: string): TableShape => ({ schema: 'h', name, columns: ['id', 'x', 'y'], key: ['id'] });

async function tableWith(name: string, x: string | null, y: string | null): Promise<void> {
  await root.query(`CREATE TABLE h.${name} (id INT PRIMARY KEY, x VARCHAR(20) NULL, y VARCHAR(20) NULL)`);
  await root.query(`INSERT INTO h.${name} VALUES (1, ?, ?)`, [x, y]);
}

async function rowHash(name: string): Promise<string> {
  const [rows] = await root.query(`SELECT ${rowHashSql(shape(name))} AS h FROM h.${name}`);
  return String((rows as { h: string }[])[0]!.h);
}

async function checksum(name: string): Promise<string> {
  const [rows] = await root.query(`SELECT ${chunkChecksumSql(shape(name))} FROM h.${name}`);
  const r = (rows as { a: string; b: string }[])[0]!;
  return `${r.a}/${r.b}`;
}

test("rows ('a#','b') and ('a','#b') hash differently, so a changed row cannot pass", async () => {
  await tableWith('sep1', 'a#', 'b');
  await tableWith('sep2', 'a', '#b');
  assert.notEqual(await rowHash('sep1'), await rowHash('sep2'));
  assert.notEqual(await checksum('sep1'), await checksum('sep2'));
});

test("NULL, '' and the string 'NULL' hash differently, in either column", async () => {
  const cases: [string, string | null, string | null][] = [
    ['n1', null, 'b'],
    ['n2', '', 'b'],
    ['n3', 'NULL', 'b'],
    ['n4', 'b', null],
    ['n5', 'b', ''],
    ['n6', 'b', 'NULL'],
    ['n7', null, null],
    ['n8', '', ''],
  ];
  for (const [name, x, y] of cases) await tableWith(name, x, y);
  const hashes = await Promise.all(cases.map(([name]) => rowHash(name)));
  assert.equal(new Set(hashes).size, cases.length, hashes.join(' '));
});

test('equal rows hash equally', async () => {
  await tableWith('eq1', 'same', null);
  await tableWith('eq2', 'same', null);
  assert.equal(await rowHash('eq1'), await rowHash('eq2'));
  assert.equal(await checksum('eq1'), await checksum('eq2'));
});
