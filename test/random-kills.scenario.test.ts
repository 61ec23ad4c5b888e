import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNothingLost } from './helpers/migration.js';
import { journalOf, lastJson, shopSandbox, type TestSandbox } from './helpers/sandbox.js';

/** Small, seedable PRNG: the same RLM_KILL_SEED replays the same kills. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('run killed at random moments, several times in one migration, under writes', () => {
  let sb: TestSandbox;
  const seed = Number(process.env.RLM_KILL_SEED ?? Math.floor(Math.random() * 1e9));
  before(async () => (sb = await shopSandbox(0.1)));
  after(async () => sb.down());

  test(`each kill resumes; nothing lost, nothing duplicated (RLM_KILL_SEED=${seed})`, async (t) => {
    t.diagnostic(`replay with RLM_KILL_SEED=${seed}`);
    const random = mulberry32(seed);
    const workload = sb.workload();
    const kills: string[] = [];
    for (let i = 0; i < 5; i++) {
      // A random moment after the run started: the moment is the scenario, not a wait for something to happen.
      const ms = Math.round(500 + random() * 15_000);
      const child = sb.spawnCli(['run']);
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      const result = await child;
      clearTimeout(timer);
      const at = Object.entries(journalOf(sb.state).steps)
        .filter(([, s]) => s.status === 'started')
        .map(([n]) => n);
      kills.push(
        `${ms} ms: ${result.signal === 'SIGKILL' ? `killed${at.length ? ` in ${at.join(', ')}` : ''}` : `finished (${result.exitCode})`}`,
      );
      if (result.signal !== 'SIGKILL') assert.equal(result.exitCode, 0, String(result.all));
    }
    t.diagnostic(kills.join('; '));
    const finished = await sb.cli(['run', '--json']);
    assert.equal(finished.exitCode, 0, String(finished.all));
    assert.equal(lastJson(finished).ok, true);
    // Checksums of every table equal on both sides: a chunk seeded twice or a transaction applied twice would differ.
    await assertNothingLost(sb, workload);
  });
});
