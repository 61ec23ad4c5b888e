import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReplicaStatus } from '../scripts/db/replica-status.js';
import { definersCreatable, extraGrants, isHostName, namedHostsResolve, replicationUserFree } from '../scripts/run/preflight/accounts.js';
import { binlogRetention, binlogSettings, binlogStillThere } from '../scripts/run/preflight/binlog.js';
import type { Check, Finding, Live } from '../scripts/run/preflight/check.js';
import { enginesMatch } from '../scripts/run/preflight/engine.js';
import type { PreflightFacts, ServerFacts } from '../scripts/run/preflight/facts.js';
import { CHECKS } from '../scripts/run/preflight/index.js';
import { replicaOfSource } from '../scripts/run/preflight/replica.js';
import { databasesToMigrate, eventsHeld, tablesReplicateWell } from '../scripts/run/preflight/schema.js';
import { seedMethod, snapshotEngineVersion, snapshotPossibleOnAws } from '../scripts/run/preflight/seed.js';
import { distinctServerIds, targetDeferred, unreachableServers } from '../scripts/run/preflight/servers.js';
import { settingsMatch } from '../scripts/run/preflight/settings.js';
import { targetEmpty, targetLoadsLocalFiles } from '../scripts/run/preflight/target.js';
import { plaintextConnections, sourceOffersTls, tlsOff } from '../scripts/run/preflight/tls.js';

// The pure checks ignore the live servers; the two that ask a server (or AWS) are covered by the real-server tests.
const NO_LIVE = {} as Live;
const ASKING = [binlogStillThere, snapshotPossibleOnAws];

function server(serverId: number, version = '10.11.8-MariaDB'): ServerFacts {
  const [major, minor] = version.split('.').map(Number);
  return { version, flavor: /mariadb/i.test(version) ? 'MariaDB' : 'MySQL', major: major!, minor: minor!, serverId, encrypted: true };
}

function replicating(overrides: Partial<ReplicaStatus> = {}): ReplicaStatus {
  const position = { file: 'mysql-bin.000001', pos: 4 };
  return {
    configured: true,
    ioRunning: 'Yes',
    sqlRunning: true,
    masterHost: '127.0.0.1',
    masterPort: 3306,
    masterServerId: 1,
    read: position,
    executed: position,
    secondsBehind: 0,
    lastIoError: '',
    lastIoErrno: 0,
    lastSqlError: '',
    lastSqlErrno: 0,
    ...overrides,
  };
}

/** A fresh migration on healthy servers, before run's first step. */
function healthy(): PreflightFacts {
  return {
    config: {
      engine: 'mariadb',
      targetEngineVersion: '10.11.8',
      binlogRetentionHours: 24,
      requireTls: true,
      definers: 'keep',
      acceptSettingsDifferences: [],
    },
    phase: {
      retentionSet: false,
      frozen: false,
      seedStarted: false,
      seeded: false,
      targetPointed: false,
      caughtUp: false,
      freshTarget: false,
    },
    seed: { method: 'logical', reason: 'seedMethod is logical in the config', dataBytes: 1024 },
    unreachable: [],
    targetDeferred: false,
    servers: { 'source-master': server(1), 'source-slave': server(2), 'target-master': server(3) },
    source: {
      logBin: '1',
      binlogFormat: 'ROW',
      binlogRowImage: 'FULL',
      haveSsl: 'YES',
      retentionHours: 48,
      replicationAccounts: [{ account: "'rlm_repl'@'%'", grants: ["GRANT REPLICATION SLAVE ON *.* TO 'rlm_repl'@'%'"] }],
    },
    inventory: {
      server: 'source-slave',
      present: ['shop'],
      databases: ['shop'],
      tables: [{ schema: 'shop', name: 'orders', engine: 'InnoDB', hasPrimaryKey: true }],
    },
    definers: {
      targetUser: 'admin@%',
      targetGrants: ["GRANT SELECT, INSERT ON *.* TO 'admin'@'%'"],
      objects: [{ kind: 'view', schema: 'shop', name: 'totals', definer: '`admin`@`%`' }],
      events: [{ schema: 'shop', name: 'purge', status: 'DISABLED' }],
    },
    target: { localInfile: true, contents: { tablesPerSchema: [], databases: [] }, replication: replicating({ configured: false }) },
    replica: replicating(),
    settings: { source: { sql_mode: 'STRICT_TRANS_TABLES' }, target: { sql_mode: 'STRICT_TRANS_TABLES' } },
  };
}

function run(check: Check, change: (facts: PreflightFacts) => void = () => {}): Finding[] {
  const facts = healthy();
  change(facts);
  const findings = check.run(facts, NO_LIVE);
  assert.ok(Array.isArray(findings), 'a pure check answers at once');
  return findings;
}

/** The one finding a check reports for a bad fact. */
function only(check: Check, change: (facts: PreflightFacts) => void): Finding {
  const findings = run(check, change);
  assert.equal(findings.length, 1, `expected one finding, got ${findings.map((f) => f.id).join(', ') || 'none'}`);
  assert.ok(check.ids.includes(findings[0]!.id), `${findings[0]!.id} is not among the check's ids ${check.ids.join(', ')}`);
  return findings[0]!;
}

describe('preflight checks judge hand-built facts', () => {
  test('healthy facts: no check finds anything but the seed method; every finding id belongs to one check', () => {
    const pure = CHECKS.filter((c) => !ASKING.includes(c));
    assert.equal(pure.length, CHECKS.length - ASKING.length);
    const ids = pure.flatMap((check) => run(check).map((f) => f.id));
    assert.deepEqual(ids, ['seed-method']);
    const owned = CHECKS.flatMap((c) => c.ids);
    assert.deepEqual(
      owned.filter((id, i) => owned.indexOf(id) !== i),
      [],
    );
  });

  test('servers: unreachable, deferred target, shared server_id', () => {
    const down = run(unreachableServers, (f) => {
      f.unreachable = [{ role: 'source-slave', code: 'unreachable', message: 'cannot connect', fix: 'check the endpoint' }];
    });
    assert.deepEqual(down, [
      { id: 'unreachable', severity: 'block', server: 'source-slave', message: 'cannot connect', fix: 'check the endpoint' },
    ]);
    const later = only(targetDeferred, (f) => {
      f.targetDeferred = true;
      f.seed = { method: 'snapshot', reason: 'config', dataBytes: 0 };
    });
    assert.equal(later.severity, 'info');
    assert.match(later.message, /restored from a snapshot of the frozen replica/);
    assert.deepEqual(run(targetDeferred), []);
    const twin = only(distinctServerIds, (f) => (f.servers['target-master']!.serverId = 1));
    assert.equal(twin.severity, 'block');
    assert.equal(twin.server, 'target-master');
    assert.equal(twin.message, 'target-master and source-master have the same server_id 1');
  });

  test('tls: requireTls false, a plaintext connection (blocking until the target is pointed), a source without TLS', () => {
    assert.equal(only(tlsOff, (f) => (f.config.requireTls = false)).severity, 'warn');
    assert.deepEqual(run(tlsOff), []);
    const plain = only(plaintextConnections, (f) => (f.servers['source-slave']!.encrypted = false));
    assert.equal(plain.severity, 'block');
    assert.match(plain.message, /^source-slave does not offer TLS: this connection is unencrypted; run would have to send/);
    const later = only(plaintextConnections, (f) => {
      f.servers['source-slave']!.encrypted = false;
      f.phase.targetPointed = true;
    });
    assert.equal(later.severity, 'warn');
    assert.equal(later.message, 'source-slave does not offer TLS: this connection is unencrypted');
    assert.equal(only(sourceOffersTls, (f) => (f.source!.haveSsl = 'DISABLED')).id, 'no-tls');
    assert.deepEqual(
      run(sourceOffersTls, (f) => {
        f.source!.haveSsl = 'DISABLED';
        f.config.requireTls = false;
      }),
      [],
    );
  });

  test('binlog: off, not ROW, not FULL; retention announced until it is set, and watched until catch-up', () => {
    assert.equal(only(binlogSettings, (f) => (f.source!.logBin = '0')).id, 'binlog-off');
    const format = only(binlogSettings, (f) => (f.source!.binlogFormat = 'MIXED'));
    assert.equal(format.severity, 'block');
    assert.equal(format.message, 'binlog_format is MIXED; replicating into a freshly seeded target is only safe with ROW');
    assert.equal(only(binlogSettings, (f) => (f.source!.binlogRowImage = 'MINIMAL')).severity, 'warn');
    assert.deepEqual(
      run(binlogSettings, (f) => (f.source!.binlogRowImage = null)),
      [],
    );
    const retention = only(binlogRetention, (f) => (f.source!.retentionHours = null));
    assert.equal(retention.message, 'binlog retention is NULL (binlogs purged as soon as possible); it will be set to 24 h');
    assert.match(only(binlogRetention, (f) => (f.source!.retentionHours = 2)).message, /^binlog retention is 2 h;/);
    // Once set, the journal is not taken for the world: a retention lowered since is a warning, until catch-up.
    const lowered = only(binlogRetention, (f) => {
      f.source!.retentionHours = null;
      f.phase.retentionSet = true;
    });
    assert.equal(lowered.severity, 'warn');
    assert.match(lowered.message, /^binlog retention is NULL .*, below the 24 h this migration set/);
    assert.deepEqual(
      run(binlogRetention, (f) => {
        f.source!.retentionHours = 24;
        f.phase.retentionSet = true;
      }),
      [],
    );
    assert.deepEqual(
      run(binlogRetention, (f) => {
        f.source!.retentionHours = null;
        f.phase.retentionSet = true;
        f.phase.caughtUp = true;
      }),
      [],
    );
  });

  test('accounts: a host that is a name, on a target that skips name resolution', () => {
    assert.deepEqual(
      ['%', 'localhost', '10.0.%', '192.168.1.0/255.255.255.0', '::1', 'web1.example.com', '%.example.com', 'app-host'].map(isHostName),
      [false, false, false, false, false, true, true, true],
    );
    const named =
      (targetSkips: boolean, sourceSkips = false) =>
      (f: PreflightFacts) => {
        f.accountHosts = {
          accounts: [
            { user: 'app', host: 'web1.example.com' },
            { user: 'app', host: '10.0.%' },
          ],
          sourceSkips,
          targetSkips,
        };
      };
    const warned = only(namedHostsResolve, named(true));
    assert.deepEqual([warned.id, warned.severity, warned.server], ['host-names-unresolved', 'warn', 'target-master']);
    assert.match(warned.message, /accounts whose host is a name cannot log in there: 'app'@'web1\.example\.com'$/);
    assert.match(only(namedHostsResolve, named(true, true)).message, /the source skips it too/);
    assert.deepEqual(run(namedHostsResolve, named(false)), []);
  });

  test('accounts: a replication user with more than replication grants; definers the target user cannot create', () => {
    const taken = only(replicationUserFree, (f) => {
      f.source!.replicationAccounts = [{ account: "'app'@'%'", grants: ["GRANT SELECT, REPLICATION SLAVE ON `shop`.* TO 'app'@'%'"] }];
    });
    assert.equal(taken.severity, 'block');
    assert.match(taken.message, /more than replication grants: 'app'@'%' \(SELECT ON `shop`\.\*\); run would give it a new password/);
    assert.deepEqual(extraGrants(["GRANT `app_rw` TO 'app'@'%'", "GRANT USAGE ON *.* TO 'app'@'%' WITH GRANT OPTION"]), [
      'role `app_rw`',
      'GRANT OPTION ON *.*',
    ]);
    const foreign = (f: PreflightFacts) =>
      (f.definers!.objects = [{ kind: 'view', schema: 'shop', name: 'report', definer: 'reporting@%' }]);
    const blocked = only(definersCreatable, foreign);
    assert.equal(blocked.severity, 'block');
    assert.equal(
      blocked.message,
      '1 routine(s)/trigger(s)/view(s)/event(s) have DEFINER reporting@%, which admin@% cannot create without SUPER: view shop.report',
    );
    assert.match(blocked.fix, /^recreate them on the source with DEFINER = admin \(or SQL SECURITY INVOKER\)/);
    const rewritten = only(definersCreatable, (f) => {
      foreign(f);
      f.config.definers = 'rewrite';
    });
    assert.equal(rewritten.severity, 'warn');
    assert.deepEqual(
      run(definersCreatable, (f) => {
        foreign(f);
        f.definers!.targetGrants = ["GRANT SET USER ON *.* TO 'admin'@'%'"];
      }),
      [],
    );
    // Over a plaintext link the grants are not read (their answer carries the hash): neither check guesses.
    assert.deepEqual(
      run(replicationUserFree, (f) => (f.source!.replicationAccounts = [{ account: "'app'@'%'", grants: undefined }])),
      [],
    );
    assert.deepEqual(
      run(definersCreatable, (f) => {
        foreign(f);
        f.definers!.targetGrants = undefined;
      }),
      [],
    );
  });

  test('schema: missing, system and no databases; tables without a key or not on InnoDB; enabled events', () => {
    const missing = run(databasesToMigrate, (f) => (f.inventory!.databases = ['shop', 'shpo', 'mysql']));
    assert.deepEqual(
      missing.map((f) => [f.id, f.severity, f.message]),
      [
        ['missing-database', 'block', 'migration.databases names shpo, mysql, which source-slave does not have'],
        ['system-database', 'block', 'migration.databases names system schema mysql'],
      ],
    );
    assert.equal(only(databasesToMigrate, (f) => (f.inventory!.databases = [])).id, 'nothing-to-migrate');
    const noKey = only(tablesReplicateWell, (f) => (f.inventory!.tables[0]!.hasPrimaryKey = false));
    assert.equal(noKey.severity, 'warn');
    assert.equal(noKey.message, '1 table(s) without a primary key: shop.orders');
    assert.equal(
      only(tablesReplicateWell, (f) => (f.inventory!.tables[0]!.engine = 'MyISAM')).message,
      '1 table(s) not on InnoDB: shop.orders (MyISAM)',
    );
    const enabled = only(eventsHeld, (f) => (f.definers!.events[0]!.status = 'ENABLED'));
    assert.equal(enabled.message, '1 event(s) will stay disabled on the target until cutover so they do not run twice');
  });

  test('target: local_infile off; leftover schemas or a replication already set up', () => {
    assert.equal(only(targetLoadsLocalFiles, (f) => (f.target!.localInfile = false)).severity, 'block');
    assert.deepEqual(
      run(targetLoadsLocalFiles, (f) => delete f.target!.localInfile),
      [],
    );
    const leftover = only(targetEmpty, (f) => {
      f.target!.contents = { tablesPerSchema: [{ schema: 'leftover', tables: 1 }], databases: ['leftover', 'shop', 'other'] };
    });
    assert.equal(leftover.message, 'target-master is not empty: leftover (1 tables), shop');
    const replicates = only(targetEmpty, (f) => (f.target!.replication = replicating({ masterHost: 'old.example', masterPort: 3307 })));
    assert.equal(replicates.id, 'target-replicating');
    assert.equal(replicates.message, 'target-master already replicates from old.example:3307');
  });

  test('replica: not a replica, of another source, failed, stopped', () => {
    assert.equal(only(replicaOfSource, (f) => (f.replica = replicating({ configured: false }))).id, 'not-a-replica');
    assert.equal(
      only(replicaOfSource, (f) => (f.replica = replicating({ masterServerId: 9 }))).message,
      'source-slave replicates from server_id 9, but source-master is server_id 1',
    );
    const failed = only(replicaOfSource, (f) => (f.replica = replicating({ sqlRunning: false, lastSqlError: 'Duplicate entry' })));
    assert.equal(failed.id, 'replica-error');
    assert.equal(failed.message, 'source-slave has a replication error: Duplicate entry');
    assert.equal(only(replicaOfSource, (f) => (f.replica = replicating({ sqlRunning: false }))).severity, 'warn');
    assert.deepEqual(
      run(replicaOfSource, (f) => {
        f.replica = replicating({ configured: false });
        delete f.servers['source-master'];
      }),
      [],
    );
  });

  test('seed: the method is announced; a snapshot cannot change the major version before the seed', () => {
    assert.equal(only(seedMethod, () => {}).message, 'seed method: logical (seedMethod is logical in the config)');
    assert.deepEqual(
      run(seedMethod, (f) => delete f.seed),
      [],
    );
    const snapshot = (f: PreflightFacts) => {
      f.seed = { method: 'snapshot', reason: 'config', dataBytes: 0 };
      f.config.targetEngineVersion = '11.4.2';
    };
    const version = only(snapshotEngineVersion, snapshot);
    assert.equal(version.severity, 'block');
    assert.match(version.message, /^target\.engineVersion 11\.4\.2 is not the replica's 10\.11 \(10\.11\.8-MariaDB\)/);
    assert.match(version.fix, /^set target\.engineVersion to 10\.11\.8 \(upgrade after the migration\)/);
    assert.deepEqual(
      run(snapshotEngineVersion, (f) => {
        snapshot(f);
        f.phase.seeded = true;
      }),
      [],
    );
  });

  test('engine: another engine, an older target, a config naming the wrong engine', () => {
    const other = only(enginesMatch, (f) => (f.servers['target-master'] = server(3, '8.0.39')));
    assert.equal(other.id, 'engine-mismatch');
    assert.equal(other.message, 'source-master is MariaDB 10.11.8-MariaDB, target-master is MySQL 8.0.39');
    const older = only(enginesMatch, (f) => (f.servers['target-master'] = server(3, '10.6.19-MariaDB')));
    assert.equal(older.id, 'version');
    assert.equal(older.fix, 'set target.engineVersion to 10.11 or newer and redeploy the target stack');
    const config = only(enginesMatch, (f) => (f.config.engine = 'mysql'));
    assert.deepEqual(
      [config.id, config.message, config.fix],
      ['engine-config', 'the config says engine mysql, but the source is MariaDB', 'set engine to "mariadb"'],
    );
    // A target not deployed yet (snapshot or auto seed) does not hide a config naming the wrong engine.
    assert.deepEqual(
      run(enginesMatch, (f) => {
        f.config.engine = 'mysql';
        delete f.servers['target-master'];
      }).map((f) => f.id),
      ['engine-config'],
    );
  });

  test('settings: a difference blocks unless the config accepts it', () => {
    const differs = (f: PreflightFacts) => (f.settings!.target.sql_mode = 'ANSI');
    const blocked = only(settingsMatch, differs);
    assert.equal(blocked.id, 'setting-sql_mode');
    assert.equal(blocked.severity, 'block');
    assert.match(blocked.message, /^sql_mode differs: source-master has 'STRICT_TRANS_TABLES', target-master has 'ANSI'/);
    const accepted = only(settingsMatch, (f) => {
      differs(f);
      f.config.acceptSettingsDifferences = ['sql_mode'];
    });
    assert.equal(accepted.severity, 'info');
  });
});
