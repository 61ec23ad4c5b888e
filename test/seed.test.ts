import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Server } from '../scripts/db/connection.js';
import { connectSandboxAdmin } from '../scripts/dev/demo/scenario.js';
import { parallelSeed } from '../scripts/seed/parallel-seed.js';
import { rdsMariadb } from '../scripts/db/dialect.js';
import { SeedProgress, tableKey } from '../scripts/seed/seed-progress.js';
import { splitCreateTable, tableDefinition } from '../scripts/seed/table-definition.js';
import { diffSchema } from '../scripts/verify/schema-diff.js';
import { copyChunk } from '../scripts/seed/copy-chunk.js';
import { until } from './helpers/wait.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { createLog } from '../scripts/support/log.js';
import { compareTableChecksums } from '../scripts/verify/checksums.js';
import { rowHashSql } from '../scripts/verify/row-hash.js';
import { tableShape } from '../scripts/db/key-chunks.js';
import { shopSandbox, type TestSandbox } from './helpers/sandbox.js';

const quiet = createLog({ quiet: true });

// Every column type MariaDB 10.11 has, with the values that break naive copies.
const TYPES_TABLE = `CREATE TABLE types.every_type (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, biu BIGINT UNSIGNED,
  dec65 DECIMAL(65,30), f FLOAT, d DOUBLE, b1 BIT(1), b64 BIT(64),
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME(6), y YEAR,
  c CHAR(10), vc VARCHAR(300), latin VARCHAR(50) CHARACTER SET latin1, bin BINARY(16), vbin VARBINARY(300),
  tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  e ENUM('a','b','c d'), st SET('x','y','z'), j JSON,
  g GEOMETRY, pt POINT, ls LINESTRING, pg POLYGON, mpt MULTIPOINT, mls MULTILINESTRING, mpg MULTIPOLYGON, gc GEOMETRYCOLLECTION,
  ip6 INET6, ip4 INET4, u UUID,
  gen_v VARCHAR(320) AS (CONCAT(c, '/', vc)) VIRTUAL, gen_s BIGINT AS (bi DIV 2) STORED
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

const ROWS = [
  `(1, -128, 255, -32768, -8388608, -2147483648, -9223372036854775808, 18446744073709551615,
    12345678901234567890123456789012345.123456789012345678901234567890, 3.4028235e38, -1.7976931348623157e308, b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
    '0000-00-00', '0000-00-00 00:00:00', '1970-01-01 00:00:01.000001', '-838:59:59.000000', 0,
    'a  ', 'Zoë 🚀 \\\\ back\\\\slash '' quote "dq" \\t tab', 'café', UNHEX('00FF00000000000000000000000000AB'), UNHEX('000000'),
    '', 'NULL', REPEAT('ü', 10000), REPEAT('x', 70000), UNHEX('00'), UNHEX(REPEAT('00FF', 1000)), '', UNHEX(REPEAT('AB', 100000)),
    'c d', 'x,z', '{"k": [1, 2.5, null, "ü"], "nested": {"t": true}}',
    ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(-0.5 1e10)'), ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)'),
    ST_GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 2 1, 2 2, 1 1))'), ST_GeomFromText('MULTIPOINT(0 0, 1 1)'),
    ST_GeomFromText('MULTILINESTRING((0 0, 1 1), (2 2, 3 3))'), ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))'),
    ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))'),
    '2001:db8::1', '192.168.0.1', '123e4567-e89b-12d3-a456-426655440000', DEFAULT, DEFAULT)`,
  `(2, 127, 0, 32767, 8388607, 2147483647, 9223372036854775807, 0, -0.000000000000000000000000000001, -1.17549435e-38, 2.2250738585072014e-308, b'0', b'0',
    '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59.000000', 2155,
    '', '', '', UNHEX('00000000000000000000000000000000'), '', '', '', '', '', '', '', '', '',
    'a', '', '[]', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '::', '0.0.0.0', '00000000-0000-0000-0000-000000000000', DEFAULT, DEFAULT)`,
  `(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, DEFAULT, DEFAULT)`,
];

async function rowHashes(server: Server, table: string): Promise<Map<string, string>> {
  const [schema, name] = table.split('.') as [string, string];
  const shape = await tableShape(server, schema, name);
  const rows = await server.query<{ k: string; h: string }>(
    `SELECT CONCAT_WS(',', ${shape.key.length ? shape.key.map((k) => `\`${k}\``).join(', ') : "'all'"}) AS k, ${rowHashSql(shape)} AS h FROM ${schema}.${name}`,
  );
  return new Map(rows.map((r, i) => [shape.key.length ? r.k : String(i), r.h]));
}

describe('the parallel seed', () => {
  let sb: TestSandbox;
  let source: Server;
  let target: Server;
  const progressFile = () => join(sb.state.dir, 'seed-test-progress.json');
  const seed = (
    databases: string[],
    chunkRows = 50_000,
    progress = new SeedProgress(progressFile(), 'test copy'),
    wholeTableMaxBytes?: number,
  ) =>
    parallelSeed({
      databases,
      chunkRows,
      threads: 3,
      rewriteDefiners: false,
      progress,
      ...(wholeTableMaxBytes === undefined ? {} : { wholeTableMaxBytes }),
      log: quiet,
      connectSource: () => connectSandboxAdmin(sb.state, 'source-master'),
      connectTarget: () => connectSandboxAdmin(sb.state, 'target-master'),
      killTarget: (id) => rdsMariadb.killConnection(target, id),
    });

  before(async () => {
    sb = await shopSandbox(0.01);
    source = await connectSandboxAdmin(sb.state, 'source-master');
    target = await connectSandboxAdmin(sb.state, 'target-master');
  });
  after(async () => {
    await Promise.all([source.close(), target.close()]);
    await sb.down();
  });

  test('keeps every value of every column type exactly, and a table without a primary key with its duplicate rows', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'");
    await root.query('CREATE DATABASE types');
    await root.query(TYPES_TABLE);
    await root.query(`INSERT INTO types.every_type VALUES ${ROWS.join(',\n')}`);
    await root.query('CREATE TABLE types.no_pk (a INT, b VARCHAR(10), c BLOB) ENGINE=InnoDB');
    await root.query("INSERT INTO types.no_pk VALUES (1, 'dup', 'x'), (1, 'dup', 'x'), (NULL, NULL, NULL), (2, '', ''), (2, '', '')");
    await root.end();
    rmSync(progressFile(), { force: true });

    const result = await seed(['types']);
    assert.equal(result.tables, 2);
    const compared = await compareTableChecksums(source, target, ['types']);
    assert.deepEqual(
      compared.filter((t) => !t.equal),
      [],
      JSON.stringify(compared),
    );
    for (const table of ['types.every_type', 'types.no_pk']) {
      assert.deepEqual(await rowHashes(target, table), await rowHashes(source, table), `${table} rows differ`);
    }
    assert.equal(Number(await target.value('SELECT COUNT(*) FROM types.no_pk')), 5);
    const [row] = await target.query<{ v: string; hexbin: string; gen: string }>(
      'SELECT vc AS v, HEX(bin) AS hexbin, gen_s AS gen FROM types.every_type WHERE id = 1',
    );
    assert.equal(row!.hexbin, '00FF00000000000000000000000000AB');
    assert.equal(row!.gen, '-4611686018427387904');
  });

  test('resumes per chunk: done chunks are skipped, a half-copied one is emptied and copied again', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE resume');
    await root.query('CREATE TABLE resume.t (id INT PRIMARY KEY, v VARCHAR(20), KEY ix_v (v))');
    await root.query("INSERT INTO resume.t SELECT seq, CONCAT('v', seq) FROM resume.seq_1_to_1000");
    await root.end();
    rmSync(progressFile(), { force: true });

    // A first run that "died": the plan is made, chunk 0 and 1 are done, chunk 2 is half there and not marked.
    const progress = new SeedProgress(progressFile(), 'test copy');
    progress.setPlan(tableKey('resume', 't'), [
      { lower: 1, upper: 100 },
      { lower: 101, upper: 200 },
      { lower: 201, upper: 300 },
      ...Array.from({ length: 7 }, (_, i) => ({ lower: 301 + i * 100, upper: i === 6 ? undefined : 400 + i * 100 })),
    ]);
    progress.markDone(tableKey('resume', 't'), 0);
    progress.markDone(tableKey('resume', 't'), 1);
    await target.query('CREATE DATABASE resume');
    await target.query('CREATE TABLE resume.t (id INT PRIMARY KEY, v VARCHAR(20))');
    await target.query("INSERT INTO resume.t SELECT seq, CONCAT('v', seq) FROM resume.seq_1_to_250");

    const result = await seed(['resume'], 100);
    assert.equal(result.rowsCopied, 800, 'the two done chunks (200 rows) are not copied again');
    assert.equal(Number(await target.value('SELECT COUNT(*) FROM resume.t')), 1000);
    assert.deepEqual(
      (await compareTableChecksums(source, target, ['resume'])).filter((t) => !t.equal),
      [],
    );
    assert.equal(
      Number(
        await target.value("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'resume' AND INDEX_NAME = 'ix_v'"),
      ),
      1,
      'the deferred index is built',
    );
  });

  test('a progress file left by another copy is set aside: its chunks marked done are copied, not skipped', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE stale');
    await root.query('CREATE TABLE stale.t (id INT PRIMARY KEY, v INT)');
    await root.query('INSERT INTO stale.t SELECT seq, seq FROM stale.seq_1_to_500');
    await root.end();
    rmSync(progressFile(), { force: true });
    // Left on this machine by a seed of an earlier freeze, before a reseed emptied the target.
    const earlier = new SeedProgress(progressFile(), 'frozen earlier');
    earlier.setPlan(tableKey('stale', 't'), [{ lower: 1, upper: 250 }, { lower: 251 }]);
    earlier.markDone(tableKey('stale', 't'), 0);

    const progress = new SeedProgress(progressFile(), 'frozen now');
    await seed(['stale'], 100, progress);
    assert.equal(Number(await target.value('SELECT COUNT(*) FROM stale.t')), 500);
    assert.equal(progress.setAside, 'frozen earlier');
  });

  test('tables whose schema.name spell the same (`a.b`+`c`, `a`+`b.c`) are each copied whole', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE `k.b`');
    await root.query('CREATE DATABASE `k`');
    await root.query('CREATE TABLE `k.b`.`c` (id INT PRIMARY KEY, v INT)');
    await root.query('CREATE TABLE `k`.`b.c` (id INT PRIMARY KEY, v INT)');
    // Disjoint key ranges: a chunk plan of one table applied to the other leaves rows behind.
    await root.query('INSERT INTO `k.b`.`c` SELECT seq, seq FROM k.seq_1_to_600');
    await root.query('INSERT INTO `k`.`b.c` SELECT seq, -seq FROM k.seq_1001_to_2000');
    await root.end();
    rmSync(progressFile(), { force: true });

    await seed(['k.b', 'k'], 100);
    assert.equal(Number(await target.value('SELECT COUNT(*) FROM `k.b`.`c`')), 600);
    assert.equal(Number(await target.value('SELECT COUNT(*) FROM `k`.`b.c`')), 1000);
    assert.deepEqual(
      (await compareTableChecksums(source, target, ['k.b', 'k'])).filter((t) => !t.equal),
      [],
    );
  });

  test('a key on an AUTO_INCREMENT column whose name holds a backtick stays with the table', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE tick');
    await root.query(
      'CREATE TABLE tick.t (`we``ird` INT NOT NULL AUTO_INCREMENT, v INT, PRIMARY KEY (v), KEY `ix``w` (`we``ird`), KEY ix_v2 (v))',
    );
    await root.query('INSERT INTO tick.t (v) SELECT seq FROM tick.seq_1_to_300');
    await root.end();
    rmSync(progressFile(), { force: true });

    await seed(['tick'], 100);
    assert.deepEqual(
      (await compareTableChecksums(source, target, ['tick'])).filter((t) => !t.equal),
      [],
    );
    assert.equal(
      Number(
        await target.value(
          "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'tick' AND INDEX_NAME IN ('ix`w', 'ix_v2')",
        ),
      ),
      2,
    );
  });

  test('a chunk whose read from the source fails part-way leaves none of its rows on the target', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE IF NOT EXISTS partial');
    await root.query('CREATE TABLE partial.t (id INT PRIMARY KEY, pad VARCHAR(300))');
    // ~1.5 MB before the failing row: several blocks have reached the target when the read fails.
    await root.query("INSERT INTO partial.t SELECT seq, REPEAT('p', 300) FROM partial.seq_1_to_6000");
    await root.end();
    const def = await tableDefinition(source, 'partial', 't');
    await target.query('CREATE DATABASE IF NOT EXISTS partial');
    await target.query('USE partial');
    await target.query(def.createBase);
    let sent = 0;
    await assert.rejects(
      copyChunk(source, target, def, { sql: 'WHERE IF(id = 5000, (SELECT 1 UNION SELECT 2), 1)', params: [] }, (rows) => {
        sent += rows;
      }),
      /Subquery returns more than 1 row/,
    );
    assert.ok(sent > 0, 'no block reached the target before the failure: the test proves nothing');
    assert.equal(Number(await target.value('SELECT COUNT(*) FROM partial.t')), 0);
  });

  test('a reader that falls behind stops the source from being read further', async () => {
    const reader = await connectSandboxAdmin(sb.state, 'source-master');
    try {
      let produced = 0;
      const stream = reader.lines("SELECT REPEAT('x', 1000) FROM shop.seq_1_to_200000", [], 64 * 1024, (_, bytes) => {
        produced += bytes;
      });
      await once(stream, 'readable');
      const core = (reader as unknown as { connection: { connection: { _paused: boolean } } }).connection.connection;
      await until('the source connection to be paused', () => core._paused);
      // Two blocks buffered in the stream, one in flight: nowhere near the 200 MB the query returns.
      assert.ok(produced < 4 * 64 * 1024, `${produced} bytes read while nothing was consumed`);
      let total = 0;
      for await (const chunk of stream) total += (chunk as Buffer).length;
      assert.equal(total, 200_000 * 1001);
    } finally {
      await reader.close();
    }
  });

  test('defers secondary indexes and foreign keys but keeps the key an AUTO_INCREMENT column needs', () => {
    const create =
      'CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `a` int(11) DEFAULT NULL,\n  `p` int(11) DEFAULT NULL,\n  KEY `ix_id` (`id`),\n  UNIQUE KEY `uq_a` (`a`),\n  CONSTRAINT `fk_p` FOREIGN KEY (`p`) REFERENCES `parent` (`id`),\n  CONSTRAINT `chk_a` CHECK (`a` > 0)\n) ENGINE=InnoDB';
    const { base, keyed, deferred } = splitCreateTable(create, 'id');
    assert.deepEqual(deferred, ['ADD UNIQUE KEY `uq_a` (`a`)', 'ADD CONSTRAINT `fk_p` FOREIGN KEY (`p`) REFERENCES `parent` (`id`)']);
    assert.match(base, /KEY `ix_id` \(`id`\),\n {2}CONSTRAINT `chk_a` CHECK \(`a` > 0\)\n\) ENGINE=InnoDB/);
    assert.match(
      keyed,
      /KEY `ix_id` \(`id`\),\n {2}UNIQUE KEY `uq_a` \(`a`\),\n {2}CONSTRAINT `chk_a` CHECK \(`a` > 0\)\n\) ENGINE=InnoDB/,
    );
  });

  test('a table loaded whole keeps plain and unique keys in its CREATE; foreign, FULLTEXT and SPATIAL keys wait', () => {
    const create =
      'CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  `d` text,\n  `g` point NOT NULL,\n  PRIMARY KEY (`id`),\n  KEY `ix_a` (`a`),\n  FULLTEXT KEY `ft_d` (`d`),\n  SPATIAL KEY `sp_g` (`g`),\n  CONSTRAINT `fk_a` FOREIGN KEY (`a`) REFERENCES `p` (`id`)\n) ENGINE=InnoDB';
    const { keyed } = splitCreateTable(create);
    assert.equal(
      keyed,
      'CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  `a` int(11) DEFAULT NULL,\n  `d` text,\n  `g` point NOT NULL,\n  PRIMARY KEY (`id`),\n  KEY `ix_a` (`a`)\n) ENGINE=InnoDB',
    );
  });

  test('asked to, small tables load whole with their keys, a large one in chunks: rows and every key equal, also after a resume', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE mixed');
    await root.query(
      'CREATE TABLE mixed.parent (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, UNIQUE KEY uq_code (code), KEY ix_both (code, id))',
    );
    await root.query(`CREATE TABLE mixed.child (id INT PRIMARY KEY, parent INT NOT NULL, note TEXT, place POINT NOT NULL,
      KEY ix_parent (parent), FULLTEXT KEY ft_note (note), SPATIAL KEY sp_place (place),
      CONSTRAINT fk_parent FOREIGN KEY (parent) REFERENCES mixed.parent (id))`);
    await root.query('CREATE TABLE mixed.big (id INT PRIMARY KEY, v VARCHAR(200), KEY ix_v (v))');
    await root.query("INSERT INTO mixed.parent SELECT seq, CONCAT('c', seq) FROM mixed.seq_1_to_300");
    await root.query(
      "INSERT INTO mixed.child SELECT seq, 1 + seq % 300, CONCAT('note ', seq), ST_GeomFromText(CONCAT('POINT(', seq, ' 1)')) FROM mixed.seq_1_to_400",
    );
    await root.query('INSERT INTO mixed.big SELECT seq, REPEAT(CHAR(65 + seq % 26), 150) FROM mixed.seq_1_to_20000');
    for (const t of ['parent', 'child', 'big']) await root.query(`ANALYZE TABLE mixed.${t}`);
    await root.end();
    rmSync(progressFile(), { force: true });

    await seed(['mixed'], 2000, undefined, 1024 ** 3);
    const chunks = (table: string) => new SeedProgress(progressFile(), 'test copy').plan(tableKey('mixed', table))?.length;
    assert.equal(chunks('parent'), 1, 'a small table is one chunk');
    assert.equal(chunks('child'), 1, 'a small table is one chunk');
    assert.ok(chunks('big')! > 1, 'the table bigger than its share is chunked');
    // A run that died after the parent's load committed, before its chunk was marked done.
    new SeedProgress(progressFile(), 'test copy').setPlan(tableKey('mixed', 'parent'), [{}]);
    const resumed = await seed(['mixed'], 2000, undefined, 1024 ** 3);
    assert.equal(resumed.rowsCopied, 300, 'only the unmarked table is copied again');
    assert.deepEqual(
      (await compareTableChecksums(source, target, ['mixed'])).filter((t) => !t.equal),
      [],
    );
    assert.deepEqual(await diffSchema(source, target, ['mixed']), []);
  });
});

describe('the parallel seed into a target with its binary log on', () => {
  let sb: TestSandbox;
  before(async () => (sb = await shopSandbox(0.01, { targetLoadMode: false })));
  after(async () => sb.down());

  test('with whole tables asked for, every table is still copied in chunks: none becomes one binlog transaction (nor overflows max_binlog_cache_size)', async () => {
    const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
    await root.query('CREATE DATABASE cached');
    // Three tables of one size for three workers: each is its share, which without a binlog would load whole.
    for (const t of ['t1', 't2', 't3']) {
      await root.query(`CREATE TABLE cached.${t} (id INT PRIMARY KEY, v VARCHAR(100))`);
      await root.query(`INSERT INTO cached.${t} SELECT seq, REPEAT('c', 100) FROM cached.seq_1_to_3000`);
      await root.query(`ANALYZE TABLE cached.${t}`);
    }
    await root.end();
    const target = await connectSandboxAdmin(sb.state, 'target-master');
    const targetRoot = await rootConnection(join(sb.state.dir, 'servers', 'target-master'));
    const progressFile = join(sb.state.dir, 'seed-test-progress.json');
    try {
      assert.equal(Number(await target.value('SELECT @@log_bin')), 1, 'the target writes a binlog');
      await targetRoot.query('SET GLOBAL max_binlog_cache_size = 65536');
      await parallelSeed({
        databases: ['cached'],
        chunkRows: 200,
        threads: 3,
        wholeTableMaxBytes: 1024 ** 3,
        rewriteDefiners: false,
        progress: new SeedProgress(progressFile, 'test copy'),
        log: quiet,
        connectSource: () => connectSandboxAdmin(sb.state, 'source-master'),
        connectTarget: () => connectSandboxAdmin(sb.state, 'target-master'),
      });
      for (const t of ['t1', 't2', 't3']) {
        assert.ok(new SeedProgress(progressFile, 'test copy').plan(tableKey('cached', t))!.length > 1, `cached.${t} is chunked`);
        assert.equal(Number(await target.value(`SELECT COUNT(*) FROM cached.${t}`)), 3000);
      }
    } finally {
      await targetRoot.end();
      await target.close();
    }
  });
});
