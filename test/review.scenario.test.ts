import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { JournalState } from '../scripts/core/journal-format.js';
import { stateFor } from '../scripts/core/migration-state.js';
import { phaseOf, type Phase } from '../scripts/core/phases.js';
import { buildApp } from '../stacks/app.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { assertNothingLost } from './helpers/migration.js';
import { journalOf, lastJson, sandboxAfter, shopSandbox, type TestSandbox } from './helpers/sandbox.js';

type Synth = { resource?: Record<string, Record<string, unknown>>; terraform?: { backend?: Record<string, { path?: string }> } };

/** The resource types each stack declares, as `cdktf synth` of main.ts would, from a journal. */
function declared(
  configFile: string,
  journal: JournalState,
  seedMethod?: 'snapshot',
): { stacks: Record<string, string[]>; text: Record<string, string> } {
  const config = loadConfig(configFile);
  const chosen = seedMethod ? { ...config, migration: { ...config.migration, seedMethod } } : config;
  const outdir = mkdtempSync(join(tmpdir(), 'rlm-synth-'));
  buildApp(chosen, stateFor(chosen, journal), outdir).synth();
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    stacks: Record<string, { synthesizedStackPath: string }>;
  };
  const text = Object.fromEntries(
    Object.entries(manifest.stacks).map(([name, s]) => [name, readFileSync(join(outdir, s.synthesizedStackPath), 'utf8')]),
  );
  const stacks = Object.fromEntries(
    Object.entries(text).map(([name, t]) => [name, Object.keys((JSON.parse(t) as Synth).resource ?? {}).sort()]),
  );
  return { stacks, text };
}

/** A journal as the snapshot seed would have it at the same phase (the seed method is the only difference the stacks see). */
const asSnapshotRun = (j: JournalState): JournalState => {
  const steps = structuredClone(j.steps);
  if (steps['seed-method']) steps['seed-method'].data = { ...steps['seed-method'].data, method: 'snapshot' };
  return { ...j, steps };
};

const REPLICA = ['aws_db_instance'];
const TARGET = [
  'aws_db_instance',
  'aws_db_parameter_group',
  'aws_kms_alias',
  'aws_kms_key',
  'aws_security_group',
  'aws_vpc_security_group_egress_rule',
  'aws_vpc_security_group_ingress_rule',
];
const TARGET_WITH_SNAPSHOTS = [...TARGET, 'aws_db_snapshot', 'aws_db_snapshot_copy'].sort();

async function targetFlushingOf(dir: string): Promise<{ flush: number; sync: number }> {
  const root = await rootConnection(join(dir, 'servers', 'target-master'));
  try {
    const [rows] = await root.query('SELECT @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync');
    const row = (rows as { flush: string; sync: string }[])[0]!;
    return { flush: Number(row.flush), sync: Number(row.sync) };
  } finally {
    await root.end();
  }
}

/** The target's declared innodb_flush_log_at_trx_commit and sync_binlog, and its durability output. */
function flushingDeclared(text: string): string[] {
  const json = JSON.parse(text) as {
    resource: { aws_db_parameter_group: Record<string, { parameter: { name: string; value: string; apply_method: string }[] }> };
    output: Record<string, { value: string }>;
  };
  const parameters = Object.values(json.resource.aws_db_parameter_group)[0]!.parameter;
  const value = (name: string) => {
    const p = parameters.find((x) => x.name === name)!;
    assert.equal(p.apply_method, 'immediate', `${name} changes without a restart`);
    return p.value;
  };
  return [value('innodb_flush_log_at_trx_commit'), value('sync_binlog'), json.output.target_durability!.value];
}

/** What each phase declares: the table the README documents. source-replica keeps no resource once the replica is gone. */
const TABLE: Record<Phase, { logical: Record<string, string[]>; snapshot: Record<string, string[]> }> = {
  planned: { logical: { 'source-replica': REPLICA, target: TARGET }, snapshot: { 'source-replica': REPLICA } },
  'replica-ready': { logical: { 'source-replica': REPLICA, target: TARGET }, snapshot: { 'source-replica': REPLICA } },
  frozen: {
    logical: { 'source-replica': REPLICA, target: TARGET },
    snapshot: { 'source-replica': REPLICA, target: TARGET_WITH_SNAPSHOTS },
  },
  seeded: {
    logical: { 'source-replica': REPLICA, target: TARGET },
    snapshot: { 'source-replica': REPLICA, target: TARGET_WITH_SNAPSHOTS },
  },
  replicating: {
    logical: { 'source-replica': REPLICA, target: TARGET },
    snapshot: { 'source-replica': REPLICA, target: TARGET_WITH_SNAPSHOTS },
  },
  'caught-up': { logical: { 'source-replica': [], target: TARGET }, snapshot: { 'source-replica': [], target: TARGET_WITH_SNAPSHOTS } },
  'cutting-over': { logical: { 'source-replica': [], target: TARGET }, snapshot: { 'source-replica': [], target: TARGET_WITH_SNAPSHOTS } },
  'rolling-back': { logical: { 'source-replica': [], target: TARGET }, snapshot: { 'source-replica': [], target: TARGET_WITH_SNAPSHOTS } },
  'cut-over': { logical: { 'source-replica': [], target: TARGET }, snapshot: { 'source-replica': [], target: TARGET_WITH_SNAPSHOTS } },
  'rolled-back': { logical: { 'source-replica': [], target: TARGET }, snapshot: { 'source-replica': [], target: TARGET_WITH_SNAPSHOTS } },
  finalized: { logical: { 'source-replica': [], target: TARGET }, snapshot: { 'source-replica': [], target: TARGET } },
};

/** The journal at each phase the driven run went through (the tests after it compare what each phase declares). */
const seen = new Map<Phase, JournalState>();

/**
 * Run stops with exit 3 and the change the next deploy must make; the reviewed deploy lets it finish; kills
 * anywhere resume; then verify, cutover, rollback, verify, cutover, finalize. Checked as the first test states.
 */
async function drivenThroughReviews(sb: TestSandbox): Promise<void> {
  const remember = () => {
    const j = journalOf(sb.state);
    seen.set(phaseOf(j), j);
  };
  const workload = sb.workload();
  remember();
  const kill = async (point: string) => {
    const killed = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: point });
    assert.equal(killed.signal, 'SIGKILL', String(killed.all));
    remember();
  };
  const targetFlushing = () => targetFlushingOf(sb.state.dir);
  const awaitDeploy = async (phase: string, change: RegExp) => {
    const waiting = await sb.cli(['run', '--json']);
    assert.equal(waiting.exitCode, 3, String(waiting.all));
    const awaiting = lastJson<{ awaiting: { phase: string; stacks: string[]; changes: { change: string }[]; command: string } }>(
      waiting,
    ).awaiting;
    assert.equal(awaiting.phase, phase);
    assert.match(awaiting.changes.map((c) => c.change).join('\n'), change);
    assert.match(awaiting.command, new RegExp(`^npx cdktf deploy ${awaiting.stacks.join(' ')} --outputs-file `));
    assert.match(String(waiting.stderr), new RegExp(`npx cdktf diff ${awaiting.stacks[0]}`), 'the operator is told what to review');
    remember();
    return awaiting;
  };
  await kill('after:freeze-replica');
  await kill('after:copy-users');
  // The seed loaded the target in load mode; before it follows the source it gets its configured settings.
  const production = await awaitDeploy(
    'seeded',
    /^switch the target sandbox-target to its configured settings: automated backups 7 days \(binary log on\)/,
  );
  assert.deepEqual(production.stacks, ['target']);
  assert.deepEqual(lastJson<{ changed: string[] }>(await sb.cli(['sandbox', 'deploy', '--dir', sb.state.dir, '--json'])).changed, [
    'target switched to its production settings (backups, hence the binary log, on)',
  ]);
  await kill('mid:point-target');
  await kill('before:catch-up');
  const awaiting = await awaitDeploy(
    'caught-up',
    /^destroy the read replica sandbox-source-rlm-replica.*\nmake every commit on the target sandbox-target durable again/,
  );
  assert.deepEqual(awaiting.stacks, ['source-replica', 'target']);
  // Until then the target applied with relaxed flushing; the deploy after catch-up ends it.
  assert.deepEqual(await targetFlushing(), { flush: 2, sync: 0 });

  // Killed while waiting, run again before the deploy: the same answer, nothing changed.
  const steps = journalOf(sb.state).steps;
  const again = await sb.cli(['run', '--json']);
  assert.equal(again.exitCode, 3);
  assert.deepEqual(journalOf(sb.state).steps, steps);

  // The reviewed deploy (the sandbox's stand-in for cdktf deploy) removes the replica; run then finishes.
  const deploy = await sb.cli(['sandbox', 'deploy', '--dir', sb.state.dir, '--json']);
  assert.deepEqual(lastJson<{ changed: string[] }>(deploy).changed, [
    'replica sandbox-source-rlm-replica destroyed',
    'target durability strict',
  ]);
  assert.deepEqual(await targetFlushing(), { flush: 1, sync: 1 });
  const done = await sb.cli(['run', '--json']);
  assert.equal(done.exitCode, 0, String(done.all));
  assert.equal(lastJson<{ steps: Record<string, Record<string, string>> }>(done).steps['teardown-replica']!.removedBy, 'a reviewed deploy');
  const status = lastJson<{ phase: string }>(await sb.cli(['status', '--json']));
  assert.equal(status.phase, 'caught-up');

  // A deploy with nothing to change changes nothing.
  assert.deepEqual(lastJson<{ changed: string[] }>(await sb.cli(['sandbox', 'deploy', '--dir', sb.state.dir, '--json'])).changed, []);

  const step = async (command: string) => {
    const result = await sb.cli([command, '--json']);
    assert.equal(result.exitCode, 0, `${command}: ${result.all}`);
    remember();
  };
  for (const command of ['verify', 'cutover', 'rollback']) await step(command);
  // Back on the source with the target following it: every acknowledged write is on both.
  await assertNothingLost(sb, workload);
  for (const command of ['verify', 'cutover', 'finalize']) await step(command);
}

// Each test starts from its own copy of the driven run (the first test to need it drives it), so any one runs alone.
describe('infrastructure review: a migration driven through its reviewed deploys, under writes', () => {
  let held: TestSandbox | undefined;
  const driven = async () =>
    (held = await sandboxAfter('driven through reviews', drivenThroughReviews, () => shopSandbox(0.05, { infrastructure: 'review' })));
  afterEach(async () => {
    await held?.down();
    held = undefined;
  });

  test('run stops with exit 3 and the change the next deploy must make; the reviewed deploy lets it finish; kills anywhere resume', async () => {
    await driven();
  });

  test('what is declared at each phase of that run matches the table, for both seed methods', async () => {
    const sb = await driven();
    const phases = [...seen.keys()];
    for (const expected of ['planned', 'frozen', 'seeded', 'replicating', 'caught-up', 'cut-over', 'finalized'] as Phase[])
      assert.ok(phases.includes(expected), `the run went through ${expected} (saw ${phases.join(', ')})`);
    const catchingUp: Phase[] = ['planned', 'replica-ready', 'frozen', 'seeded', 'replicating'];
    for (const [phase, journal] of seen) {
      const logical = declared(sb.state.configFile, journal);
      assert.deepEqual(logical.stacks, TABLE[phase].logical, `logical seed, phase ${phase}`);
      assert.deepEqual(
        flushingDeclared(logical.text.target!),
        catchingUp.includes(phase) ? ['2', '0', 'relaxed'] : ['1', '1', 'strict'],
        phase,
      );
      assert.deepEqual(
        declared(sb.state.configFile, asSnapshotRun(journal), 'snapshot').stacks,
        TABLE[phase].snapshot,
        `snapshot seed, phase ${phase}`,
      );
    }
  });

  test('synthesizing the same phase twice gives identical JSON, with the state kept per migration beside the config', async () => {
    const sb = await driven();
    assert.ok(seen.size >= 7, 'the journals of the driven run');
    for (const journal of seen.values()) {
      const a = declared(sb.state.configFile, journal).text;
      const b = declared(sb.state.configFile, journal).text;
      for (const stack of Object.keys(a)) {
        // Each synth goes to its own temp folder; the local backend path is relative to it, so compare all but that.
        const strip = (t: string) => t.replace(/"path": "[^"]*"/, '');
        assert.equal(strip(a[stack]!), strip(b[stack]!), stack);
        const backend = (JSON.parse(a[stack]!) as Synth).terraform!.backend!.local!;
        assert.match(backend.path!, new RegExp(`terraform-state/sandbox-target/${stack}\\.tfstate$`));
      }
    }
  });
});
