import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STEP_NAMES } from '../scripts/run/steps.js';
import { assertNothingLost, knownSecrets, runThroughCrashes } from './helpers/migration.js';
import { journalOf, lastJson, sandboxAfter, shopSandbox, type TestSandbox } from './helpers/sandbox.js';

/** `run` under writes, checked as the first test states; the state every test of the describe below starts from. */
async function migratedUnderWrites(sb: TestSandbox): Promise<void> {
  const workload = sb.workload();
  const result = await sb.cli(['run', '--json']);
  assert.equal(result.exitCode, 0, String(result.all));
  const report = lastJson<{ ok: boolean; steps: Record<string, Record<string, unknown>> }>(result);
  assert.equal(report.ok, true);
  assert.ok(Number(report.steps['seed-target']!.rowsCopied) > 0);
  const outputs = JSON.parse(readFileSync(join(sb.state.dir, 'cdktf-outputs.json'), 'utf8'));
  assert.equal(outputs['source-replica'].replica_address, undefined, 'the replica is gone from the outputs');
  await assertNothingLost(sb, workload);
}

// Each test starts from its own copy of one run (the first test to need it runs it), so any one runs alone.
describe('a migration on the sandbox with the application writing', () => {
  let held: TestSandbox | undefined;
  const migrated = async () => (held = await sandboxAfter('run under writes', migratedUnderWrites));
  afterEach(async () => {
    await held?.down();
    held = undefined;
  });

  test('run ends with the replica torn down, equal checksums and no acknowledged write lost', async () => {
    await migrated();
  });

  test('status reports the phase and a running, caught-up replication', async () => {
    const sb = await migrated();
    const status = lastJson<{ phase: string; replication: { io: string; sql: boolean; secondsBehind: number } }>(
      await sb.cli(['status', '--json']),
    );
    assert.equal(status.phase, 'caught-up');
    assert.equal(status.replication.io, 'Yes');
    assert.equal(status.replication.sql, true);
  });

  test('a second run finds every step done and changes nothing', async () => {
    const sb = await migrated();
    const before = journalOf(sb.state);
    const again = await sb.cli(['run', '--json']);
    assert.equal(again.exitCode, 0, String(again.all));
    assert.deepEqual(journalOf(sb.state).steps, before.steps);
  });

  test('no password appears in any output, the journal or the config', async () => {
    const sb = await migrated();
    // The output of the run that built this state comes with the copy; status and a second run print more.
    for (const args of [
      ['status', '--json'],
      ['run', '--json'],
    ])
      assert.equal((await sb.cli(args)).exitCode, 0);
    const files = ['work/journal.json', 'migration.config.json', 'cdktf-outputs.json', 'sandbox.json'].map((f) =>
      readFileSync(join(sb.state.dir, f), 'utf8'),
    );
    for (const secret of knownSecrets(sb)) {
      for (const text of [...sb.output, ...files]) assert.ok(!text.includes(secret), 'a password leaked into output or a state file');
    }
  });
});

describe('a migration killed at any point resumes without losing or duplicating data', () => {
  test('killed after each step did its work but before the journal recorded it', async () => {
    const sb = await shopSandbox();
    const workload = sb.workload();
    try {
      await runThroughCrashes(
        sb,
        STEP_NAMES.map((step) => `after:${step}`),
      );
      await assertNothingLost(sb, workload);
    } finally {
      await workload.stop();
      await sb.down();
    }
  });

  test('killed in the middle of the seed and between pointing the target and starting it', async () => {
    const sb = await shopSandbox(0.3);
    const workload = sb.workload();
    try {
      await runThroughCrashes(sb, ['before:freeze-replica', 'mid:seed-target', 'mid:point-target']);
      const journal = journalOf(sb.state);
      assert.equal(journal.steps['point-target']!.data!.resumed, true, 'the resumed run must not point the target a second time');
      assert.match(sb.output.join('\n'), /seed: resuming an interrupted copy: \d+ of \d+ chunks already on the target/);
      await assertNothingLost(sb, workload);
    } finally {
      await workload.stop();
      await sb.down();
    }
  });
});
