import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { commandSwitch } from '../scripts/cutover/traffic-switch.js';
import type { MigrationContext } from '../scripts/core/context.js';
import { runStackCommand } from '../scripts/core/stack-command.js';
import { awsCli } from '../scripts/support/aws-cli.js';
import { childEnv } from '../scripts/support/child-env.js';
import type { Log } from '../scripts/support/log.js';
import { registerSecret } from '../scripts/support/redact.js';
import { exampleConfig } from './helpers/config.js';

// Each child below is a stand-in that prints its whole environment.
const PASSWORD = 'src-master-pw-7f3a9c';
const dir = mkdtempSync(join(tmpdir(), 'rlm-child-env-'));
const saved = { ...process.env };

before(() => {
  process.env.SOURCE_MASTER_PASSWORD = PASSWORD;
  process.env.TF_VAR_db_password = `${PASSWORD}`; // an allowed prefix holding the secret: dropped by value
  process.env.UNRELATED_TOKEN = 'tok-123456';
  process.env.TF_LOG = 'WARN';
  process.env.AWS_REGION = 'eu-west-1';
  registerSecret(PASSWORD);
  writeFileSync(join(dir, 'aws'), '#!/bin/sh\nenv\n');
  chmodSync(join(dir, 'aws'), 0o755);
  process.env.PATH = `${dir}:${process.env.PATH}`;
});

after(() => {
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
});

function context(lines: string[], overrides: Parameters<typeof exampleConfig>[0] = {}): MigrationContext {
  const log: Log = {
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    progress: (m) => lines.push(m),
    transcript: (m) => lines.push(m),
    done: () => {},
  };
  return { config: parseConfig(exampleConfig(overrides)), log } as unknown as MigrationContext;
}

function assertClean(env: string, path: string): void {
  assert.ok(!env.includes(PASSWORD), `${path}: the child saw the source password:\n${env}`);
  assert.ok(!/^SOURCE_MASTER_PASSWORD=/m.test(env), `${path}: the child saw SOURCE_MASTER_PASSWORD`);
  assert.ok(!/^UNRELATED_TOKEN=/m.test(env), `${path}: a variable outside the allow-list reached the child`);
  assert.match(env, /^TF_LOG=WARN$/m, `${path}: allow-listed variables must pass`);
  assert.match(env, /^AWS_REGION=eu-west-1$/m);
  assert.match(env, /^PATH=/m);
}

test('the aws CLI gets an allow-listed environment without the source password', async () => {
  assertClean(await awsCli(['sts', 'get-caller-identity']), 'aws');
});

test('the stack command (cdktf) gets an allow-listed environment without the source password', async () => {
  const lines: string[] = [];
  await runStackCommand(context(lines), 'deploy target', ['sh', '-c', 'env'], 'fix');
  const env = lines.map((l) => l.replace(/^ {2}\| /, '')).join('\n');
  assertClean(env, 'stack command');
  assert.match(env, /^CHECKPOINT_DISABLE=1$/m);
});

test('the traffic-switch command gets an allow-listed environment without the source password, plus RLM_*', async () => {
  const out = join(dir, 'switch-env');
  const ctx = context([], { migration: { trafficSwitchCommand: ['sh', '-c', 'env > "$0"', out] } });
  await commandSwitch(ctx)({ direction: 'to-target', role: 'target-master', endpoint: { host: 'db.example', port: 3306 } });
  const env = readFileSync(out, 'utf8');
  assertClean(env, 'traffic switch');
  assert.match(env, /^RLM_DIRECTION=to-target$/m);
  assert.match(env, /^RLM_HOST=db\.example$/m);
});

test('a password variable with an allowed name is still kept out when the config names it', () => {
  const env = childEnv({}, { AWS_DB_PASSWORD: 'x', PATH: '/bin' }, ['env:AWS_DB_PASSWORD']);
  assert.deepEqual(env, { PATH: '/bin' });
});
