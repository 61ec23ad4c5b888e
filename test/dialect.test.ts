import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { dialectFor } from '../scripts/db/dialect.js';
import { mariadb, mysql8 } from '../scripts/db/flavour.js';

const root = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

// SQL that exists in one flavour only; anywhere but the flavour module it would run against the other flavour too.
const FLAVOUR_ONLY = [
  /mysql\.global_priv/i,
  /\bis_role\b/i,
  /@@(GLOBAL\.)?gtid_(slave|binlog|current)_pos/i,
  /@@(GLOBAL\.)?gtid_executed/i,
  /BINLOG_GTID_POS/i,
  /['"`]SHOW (MASTER|BINARY LOG) STATUS/i,
  /['"`](STOP|START|RESET) (SLAVE|REPLICA)\b/i,
  /['"`]SHOW (SLAVE|REPLICA) STATUS/i,
  /IDENTIFIED (BY PASSWORD|WITH mysql_native_password)/i,
  /CHANGE (MASTER|REPLICATION SOURCE) TO/i,
];

describe('one dialect per flavour and deployment', () => {
  test('each of MariaDB/MySQL 8 × RDS/self-managed has its own dialect and flavour', () => {
    const cases = [
      ['mariadb', 'rds', 'RDS MariaDB', mariadb],
      ['mysql', 'rds', 'RDS MySQL 8', mysql8],
      ['mariadb', 'self-managed', 'self-managed MariaDB', mariadb],
      ['mysql', 'self-managed', 'self-managed MySQL 8', mysql8],
    ] as const;
    for (const [engine, kind, name, flavour] of cases) {
      const dialect = dialectFor(engine, kind);
      assert.equal(dialect.name, name);
      assert.equal(dialect.flavour, flavour);
    }
    assert.match(mysql8.replication.pointByPosition, /^CHANGE REPLICATION SOURCE TO .*SOURCE_PASSWORD/);
    assert.equal(
      mysql8.replication.pointByGtid,
      undefined,
      'MySQL 8 follows by file and position: auto-position needs the seed in gtid_executed',
    );
    assert.equal(mysql8.identifiedByHash('*AB'), "IDENTIFIED WITH mysql_native_password AS '*AB'");
    assert.equal(mariadb.identifiedByHash("*A'B"), "IDENTIFIED BY PASSWORD '*A\\'B'");
  });

  test('no flavour-specific SQL outside the flavour module (the engine; dev tools run only MariaDB)', () => {
    const offenders: string[] = [];
    for (const file of sources(join(root, 'scripts'))) {
      const rel = relative(root, file);
      if (rel === join('scripts', 'db', 'flavour.ts') || rel.startsWith(join('scripts', 'dev'))) continue;
      const code = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line));
      for (const [i, line] of code.entries())
        for (const re of FLAVOUR_ONLY) if (re.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
    }
    assert.deepEqual(offenders, []);
  });
});
