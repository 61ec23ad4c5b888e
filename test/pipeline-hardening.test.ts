import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { buildApp } from '../stacks/app.js';
import { LocalJournalStore, S3JournalStore, type JournalStore } from '../scripts/core/journal-store.js';
import { Journal } from '../scripts/core/journal.js';
import { s3StandInOnPath } from './helpers/aws-s3-standin.js';
import { exampleConfig } from './helpers/config.js';
import { synthApp } from './helpers/synth-app.js';

s3StandInOnPath();

const frozen = { executed: { file: 'mysql-bin-changelog.004211', pos: 8812345 }, frozenAt: '2026-11-26T10:00:00Z' };
const done = (data?: Record<string, unknown>) => ({ status: 'done', ...(data ? { data } : {}) });

/** A journal at caught-up: seeded with `method`, replicating, caught up. */
const caughtUp = (method: 'logical' | 'snapshot') => ({
  'binlog-retention': done(),
  'replication-user': done(),
  'seed-method': done({ method }),
  'freeze-replica': done(frozen),
  'seed-target': done(),
  'copy-users': done(),
  'point-target': done(),
  'catch-up': done(),
});

test('a seedMethod changed in the config after the snapshot seed keeps the snapshots a rollback still needs', () => {
  const target = synthApp({ seedMethod: 'logical' }, caughtUp('snapshot')).target!;
  assert.ok(target.resource!.aws_db_snapshot, 'the snapshot of the frozen replica is still declared (not destroyed by the next deploy)');
  assert.ok(target.resource!.aws_db_snapshot_copy, 'its encrypted copy is still declared');
});

test('a seedMethod changed in the config after the logical seed declares no snapshot of a replica that is gone', () => {
  const target = synthApp({ seedMethod: 'snapshot' }, caughtUp('logical')).target!;
  assert.equal(target.resource!.aws_db_snapshot, undefined, 'no snapshot of the removed replica is declared');
  assert.equal(target.resource!.aws_db_snapshot_copy, undefined);
});

test('synth warns that a changed seedMethod is not applied to a migration that already chose one', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'rlm-hardening-'));
  writeFileSync(join(workDir, 'journal.json'), JSON.stringify({ version: 1, steps: caughtUp('snapshot') }));
  const app = buildApp(parseConfig(exampleConfig({ migration: { workDir, seedMethod: 'logical' } })), undefined, join(workDir, 'out'));
  const messages = app.node.findChild('source-replica').node.metadata.map((m) => String(m.data));
  assert.ok(
    messages.some((m) =>
      /migration\.seedMethod is logical, but this migration was seeded .* with snapshot: the stacks and run follow the journal/.test(m),
    ),
    messages.join('\n'),
  );
});

test('synth refuses a journal of another migration (a config copied without changing its name), as run does', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'rlm-hardening-'));
  const foreign = { version: 1, migration: 'shop-staging -> shop-staging-encrypted', createdAt: '', steps: caughtUp('logical') };
  writeFileSync(join(workDir, 'journal.json'), JSON.stringify(foreign));
  const config = parseConfig(exampleConfig({ migration: { workDir } }));
  assert.throws(
    () => buildApp(config, undefined, join(workDir, 'out')),
    (err: Error & { code?: string }) =>
      err.code === 'journal' &&
      /belongs to migration shop-staging -> shop-staging-encrypted, not shop-prod -> shop-prod-encrypted/.test(err.message),
  );
  // Its own journal synthesizes.
  writeFileSync(join(workDir, 'journal.json'), JSON.stringify({ ...foreign, migration: 'shop-prod -> shop-prod-encrypted' }));
  assert.ok(buildApp(config, undefined, join(workDir, 'own')).node.tryFindChild('target'));
});

const stores: [string, () => () => JournalStore][] = [
  [
    'local file',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'rlm-hardening-'));
      return () => new LocalJournalStore(dir);
    },
  ],
  [
    'S3 (stand-in aws CLI with conditional writes)',
    () => {
      const prefix = `rlm/${Math.random().toString(36).slice(2)}`;
      return () => new S3JournalStore({ bucket: 'state-bucket', prefix, region: 'eu-west-1' });
    },
  ],
];

describe('a command whose lock was removed (`unlock` of a runner that only looked lost)', () => {
  for (const [name, make] of stores) {
    test(`stops at its next journal write instead of acting beside the new holder: ${name}`, () => {
      const open = make();
      const first = Journal.open(open(), 'm');
      const release = first.lock('rds-live-migrate run');
      first.done('binlog-retention');
      open().breakLock(); // the operator's `rds-live-migrate unlock`
      const second = Journal.open(open(), 'm');
      const releaseSecond = second.lock('rds-live-migrate run');
      assert.throws(
        () => first.done('replication-user'),
        (err: Error & { code?: string }) =>
          err.code === 'locked' && /no longer holds the lock .*`rds-live-migrate run` \(pid \d+ on .*\) holds it now/.test(err.message),
      );
      assert.equal(open().read()!.state.steps['replication-user'], undefined, 'nothing written without the lock');
      release();
      assert.equal(open().readLock()?.command, 'rds-live-migrate run', "the first command's release leaves the new lock");
      second.done('replication-user');
      releaseSecond();
    });
  }
});

describe('a deploy applies only the state its diff was reviewed at', () => {
  const root = join(import.meta.dirname, '..');
  const node = (args: string[], env: Record<string, string>) =>
    execa(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...env, CHECKPOINT_DISABLE: '1' }, reject: false });

  test('the diff job records the state, the deploy synth refuses once the journal has moved, nothing synthesized', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'rlm-reviewed-'));
    const configFile = join(workDir, 'migration.config.json');
    writeFileSync(configFile, JSON.stringify(exampleConfig({ migration: { workDir } })));
    const { 'catch-up': _, ...seeded } = caughtUp('logical');
    writeFileSync(join(workDir, 'journal.json'), JSON.stringify({ version: 1, steps: seeded }));
    const env = { RDS_LIVE_MIGRATE_CONFIG: configFile };

    const state = await node(['scripts/cli.ts', '--json', 'state'], env);
    assert.equal(state.exitCode, 0, String(state.stderr));
    const reviewed = JSON.parse(state.stdout.trim().split('\n').pop()!) as { phase: string; fingerprint: string };
    assert.match(reviewed.fingerprint, /^[0-9a-f]{16}$/);

    const outdir = join(workDir, 'deploy-1');
    const same = await node(['main.ts'], { ...env, CDKTF_OUTDIR: outdir, RDS_LIVE_MIGRATE_REVIEWED_STATE: reviewed.fingerprint });
    assert.equal(same.exitCode, 0, String(same.stderr));
    assert.ok(existsSync(join(outdir, 'manifest.json')));

    // While the approval waited, another job moved the journal (here: catch-up finished).
    writeFileSync(join(workDir, 'journal.json'), JSON.stringify({ version: 1, steps: caughtUp('logical') }));
    const moved = join(workDir, 'deploy-2');
    const stale = await node(['main.ts'], { ...env, CDKTF_OUTDIR: moved, RDS_LIVE_MIGRATE_REVIEWED_STATE: reviewed.fingerprint });
    assert.equal(stale.exitCode, 1, String(stale.stderr));
    assert.match(
      stale.stderr,
      new RegExp(`the migration moved since its infrastructure diff was reviewed: the diff was of migration state ${reviewed.fingerprint}`),
    );
    assert.match(stale.stderr, /what to do: run the workflow again/);
    assert.ok(!existsSync(join(moved, 'manifest.json')), 'nothing was synthesized for the deploy');
  });

  test('a journal that moved without changing what is declared keeps the state: a seed resumed by re-running the deploy job alone', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'rlm-reviewed-'));
    const configFile = join(workDir, 'migration.config.json');
    writeFileSync(configFile, JSON.stringify(exampleConfig({ migration: { workDir } })));
    const { 'seed-target': _s, 'copy-users': _c, 'point-target': _p, 'catch-up': _u, ...frozenOnly } = caughtUp('logical');
    const stateOf = async (steps: Record<string, unknown>) => {
      writeFileSync(join(workDir, 'journal.json'), JSON.stringify({ version: 1, steps }));
      const out = await node(['scripts/cli.ts', '--json', 'state'], { RDS_LIVE_MIGRATE_CONFIG: configFile });
      assert.equal(out.exitCode, 0, String(out.stderr));
      return (JSON.parse(out.stdout.trim().split('\n').pop()!) as { fingerprint: string }).fingerprint;
    };
    const before = await stateOf(frozenOnly);
    assert.equal(await stateOf({ ...frozenOnly, 'seed-target': { status: 'started' } }), before);
    assert.notEqual(await stateOf(caughtUp('logical')), before);
  });
});
