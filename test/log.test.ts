import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const LOG = resolve(import.meta.dirname, '../scripts/support/log.ts');

/** The lines a log writes to stderr off a terminal (as in CI) when `method` is called five times at once. */
function linesOf(method: string): string[] {
  const script = `import { createLog } from ${JSON.stringify(LOG)}; const log = createLog(); for (let i = 1; i <= 5; i++) log.${method}('line ' + i); log.done();`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return child.stderr.split('\n').filter((l) => l.includes('line '));
}

test('off a terminal, a transcript (a deploy’s output) keeps every line; progress lines are rate-limited', () => {
  assert.equal(linesOf('transcript').length, 5);
  assert.equal(linesOf('progress').length, 1);
});
