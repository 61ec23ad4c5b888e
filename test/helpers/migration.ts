import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AdminRole, verifyAtRest } from '../../scripts/dev/demo/scenario.js';
import { createLog } from '../../scripts/support/log.js';
import { lastJson, secretOf, type TestSandbox } from './sandbox.js';
import { moreWrites } from './wait.js';

const quiet = createLog({ quiet: true });

/** Runs `run` once per crash point (each run resumes the last and dies at the next), then once to the end. */
export async function runThroughCrashes(sb: TestSandbox, crashPoints: string[]): Promise<void> {
  for (const point of crashPoints) {
    const crashed = await sb.cli(['run'], { RDS_LIVE_MIGRATE_CRASH: point });
    assert.equal(
      crashed.signal,
      'SIGKILL',
      `expected the run to be killed at ${point}; it ended with ${crashed.exitCode}:\n${crashed.all}`,
    );
    assert.match(String(crashed.all), new RegExp(`crash injected at ${point}`));
  }
  const finished = await sb.cli(['run', '--json']);
  assert.equal(finished.exitCode, 0, String(finished.all));
  assert.equal(lastJson(finished).ok, true);
}

/** Lets the application write a little more, stops it, and checks at rest: every table equal, no acknowledged write missing on `writable`. */
export async function assertNothingLost(
  sb: TestSandbox,
  workload: ReturnType<TestSandbox['workload']>,
  writable: AdminRole = 'source-master',
): Promise<void> {
  await moreWrites(workload, 20);
  const written = await workload.stop();
  assert.ok(written.committed > 50, `the workload should have kept writing (committed ${written.committed})`);
  const result = await verifyAtRest(sb.state, written, quiet, writable);
  assert.deepEqual(
    result.tables.filter((t) => !t.equal),
    [],
    'every table checksum must match',
  );
  assert.equal(result.tables.length, 8);
  assert.equal(result.acknowledgedWritesLost, 0);
}

/** Passwords the run knew: both admins' and the replication user's, as stored in the target's master.info. */
export function knownSecrets(sb: TestSandbox): string[] {
  const masterInfo = readFileSync(join(sb.state.dir, 'servers', 'target-master', 'data', 'master.info'), 'utf8').split('\n');
  const replicationPassword = masterInfo[5]!; // line 6 of master.info is the password
  assert.ok(replicationPassword.length >= 20, 'expected to find the replication password in master.info');
  return [secretOf(sb.state, 'source-master'), secretOf(sb.state, 'target-master'), replicationPassword];
}
