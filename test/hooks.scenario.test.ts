import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOOK_EVENT_NAMES, eventOfFile } from '../scripts/hooks/events.js';
import { rootConnection } from '../scripts/dev/sandbox/mariadb-server.js';
import { knownSecrets } from './helpers/migration.js';
import { journalOf, sandboxAfter, secretOf, shopSandbox, type TestSandbox } from './helpers/sandbox.js';

interface Hooks {
  dir: string;
  events: string;
  env: string;
}

function hook(hooks: Hooks, name: string, body: string): void {
  writeFileSync(join(hooks.dir, name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(hooks.dir, name), 0o755);
}

/** One recording hook per event, two for startup (their order is checked), and env dumps where the context matters. */
function recordingHooks(): Hooks {
  const dir = mkdtempSync(join(tmpdir(), 'rlm-hooks-'));
  const hooks = {
    dir,
    events: join(dir, '..', `${dir.split('/').pop()}-events.log`),
    env: join(dir, '..', `${dir.split('/').pop()}-env.log`),
  };
  for (const event of HOOK_EVENT_NAMES)
    hook(
      hooks,
      `rds-live-migrate-on-${event}-1-record`,
      `echo "$RLM_EVENT $RLM_PHASE $(basename "$0")\${RLM_DIRECTION:+ $RLM_DIRECTION}" >> ${hooks.events}`,
    );
  hook(hooks, 'rds-live-migrate-on-startup-2-second', `echo "startup second $RLM_COMMAND" >> ${hooks.events}`);
  for (const event of ['status', 'switch-traffic', 'failure'])
    hook(hooks, `rds-live-migrate-on-${event}-env`, `{ echo "== $RLM_EVENT"; env; } >> ${hooks.env}`);
  return hooks;
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

/** Reads the log and empties it, so each test sees only its own command's hooks. */
function take(file: string): string[] {
  const taken = lines(file);
  writeFileSync(file, '');
  return taken;
}

function envBlock(hooks: Hooks, event: string): Record<string, string> {
  const blocks = readFileSync(hooks.env, 'utf8')
    .split(/^== /m)
    .filter((b) => b.startsWith(`${event}\n`));
  const last = blocks.at(-1)!.split('\n').slice(1).filter(Boolean);
  return Object.fromEntries(last.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function lockedAccounts(sb: TestSandbox): Promise<string[]> {
  const root = await rootConnection(join(sb.state.dir, 'servers', 'source-master'));
  try {
    const [rows] = await root.query(
      "SELECT CONCAT(User, '@', Host) AS who FROM mysql.global_priv WHERE JSON_VALUE(Priv, '$.account_locked') IN ('true', '1')",
    );
    return (rows as { who: string }[]).map((r) => r.who);
  } finally {
    await root.end();
  }
}

let hooks: Hooks;

/** Recording hooks in the config, then `run`, checked as the first test states; the state every hooks test starts from. */
async function ranWithHooks(sb: TestSandbox): Promise<void> {
  hooks = recordingHooks();
  const config = JSON.parse(readFileSync(sb.state.configFile, 'utf8')) as { migration: Record<string, unknown> };
  config.migration.hooksPath = hooks.dir;
  writeFileSync(sb.state.configFile, JSON.stringify(config, null, 2));
  const run = await sb.cli(['run']);
  assert.equal(run.exitCode, 0, String(run.all));
  assert.deepEqual(take(hooks.events), [
    'startup planned rds-live-migrate-on-startup-1-record',
    'startup second run',
    'phase-change replica-ready rds-live-migrate-on-phase-change-1-record',
    'phase-change frozen rds-live-migrate-on-phase-change-1-record',
    'phase-change seeded rds-live-migrate-on-phase-change-1-record',
    'phase-change replicating rds-live-migrate-on-phase-change-1-record',
    'phase-change caught-up rds-live-migrate-on-phase-change-1-record',
    'success caught-up rds-live-migrate-on-success-1-record',
  ]);
}

/** `verify` after that run, checked as the verify test states; what a cutover needs first. */
async function verifiedWithHooks(sb: TestSandbox): Promise<void> {
  take(hooks.events);
  const verify = await sb.cli(['verify']);
  assert.equal(verify.exitCode, 0, String(verify.all));
  assert.deepEqual(take(hooks.events).slice(2), [
    'before-verify caught-up rds-live-migrate-on-before-verify-1-record',
    'after-verify caught-up rds-live-migrate-on-after-verify-1-record',
    'success caught-up rds-live-migrate-on-success-1-record',
  ]);
}

const ran = () => sandboxAfter('run with hooks', ranWithHooks, () => shopSandbox(0.02));
const verified = () => sandboxAfter('verified', verifiedWithHooks, ran);

/** A before-cutover hook that says no, for the duration of `during`. */
async function withVeto<T>(during: () => Promise<T>): Promise<T> {
  hook(hooks, 'rds-live-migrate-on-before-cutover-2-veto', 'echo "batch jobs still running"; exit 3');
  try {
    return await during();
  } finally {
    rmSync(join(hooks.dir, 'rds-live-migrate-on-before-cutover-2-veto'));
  }
}

// Each test starts from its own copy of a run with the hooks in place, verified when it cuts over (the first test
// to need a state builds it), so any one runs alone.
describe('hooks', () => {
  let held: TestSandbox | undefined;
  const hold = async (state: () => Promise<TestSandbox>) => {
    held = await state();
    // Only what this test's commands made the hooks record.
    take(hooks.events);
    return held;
  };
  afterEach(async () => {
    await held?.down();
    held = undefined;
  });

  test('run: startup hooks in name order, a phase-change after each step that changes the phase, success', async () => {
    await hold(ran);
  });

  test('status: the hook sees servers, positions and lag, and no secret', async () => {
    const sb = await hold(ran);
    const secret = secretOf(sb.state, 'source-master');
    const status = await sb.cli(['status'], { SOURCE_DB_PASSWORD: secret, APP_DSN: `mysql://app:${secret}@db/shop` });
    assert.equal(status.exitCode, 0, String(status.all));
    assert.deepEqual(
      take(hooks.events).map((l) => l.split(' ')[0]),
      ['startup', 'startup', 'status', 'success'],
    );
    const env = envBlock(hooks, 'status');
    assert.equal(env.RLM_EVENT, 'status');
    assert.equal(env.RLM_COMMAND, 'status');
    assert.equal(env.RLM_PHASE, 'caught-up');
    assert.equal(env.RLM_SOURCE_HOST, '127.0.0.1');
    assert.match(env.RLM_TARGET_PORT ?? '', /^\d+$/);
    assert.match(env.RLM_FROZEN_POSITION ?? '', /^binlog\.\d+:\d+$/);
    assert.match(env.RLM_LAG_SECONDS ?? '', /^\d+$/);
    assert.match(env.RLM_LAG_BYTES ?? '', /^\d+$/);
    assert.match(env.RLM_ELAPSED_MS ?? '', /^\d+$/);
    assert.equal(env.SOURCE_DB_PASSWORD, undefined);
    assert.equal(env.APP_DSN, undefined);
  });

  test('verify: before-verify and after-verify with the verdict', async () => {
    await hold(verified);
  });

  test('a failing before-cutover hook stops the cutover with nothing changed', async () => {
    const sb = await hold(verified);
    const lockedBefore = await lockedAccounts(sb);
    const refused = await withVeto(() => sb.cli(['cutover']));
    assert.equal(refused.exitCode, 1, String(refused.all));
    assert.match(String(refused.stderr), /hook rds-live-migrate-on-before-cutover-2-veto: batch jobs still running/);
    assert.match(
      String(refused.stderr),
      /error: hook rds-live-migrate-on-before-cutover-2-veto \(before-cutover\) exited with 3\nwhat to do: nothing was changed: the cutover did not start/,
    );
    assert.deepEqual(take(hooks.events).slice(2), [
      'before-cutover caught-up rds-live-migrate-on-before-cutover-1-record',
      'failure caught-up rds-live-migrate-on-failure-1-record',
    ]);
    assert.match(envBlock(hooks, 'failure').RLM_ERROR ?? '', /before-cutover-2-veto \(before-cutover\) exited with 3/);
    assert.deepEqual(
      Object.keys(journalOf(sb.state).steps).filter((s) => s.startsWith('cutover')),
      [],
    );
    assert.deepEqual(await lockedAccounts(sb), lockedBefore);
  });

  test('cutover and rollback: before-cutover, the switch hooks with the direction, phase changes', async () => {
    const sb = await hold(verified);
    const cutover = await sb.cli(['cutover']);
    assert.equal(cutover.exitCode, 0, String(cutover.all));
    assert.deepEqual(take(hooks.events).slice(2), [
      'before-cutover caught-up rds-live-migrate-on-before-cutover-1-record',
      'phase-change cutting-over rds-live-migrate-on-phase-change-1-record',
      'switch-traffic cutting-over rds-live-migrate-on-switch-traffic-1-record to-target',
      'after-switch cutting-over rds-live-migrate-on-after-switch-1-record to-target',
      'phase-change cut-over rds-live-migrate-on-phase-change-1-record',
      'success cut-over rds-live-migrate-on-success-1-record',
    ]);
    const env = envBlock(hooks, 'switch-traffic');
    assert.equal(env.RLM_PORT, env.RLM_TARGET_PORT);
    assert.match(env.RLM_SOURCE_FINAL_POSITION ?? '', /^binlog\.\d+:\d+$/);
    assert.match(env.RLM_TARGET_START_POSITION ?? '', /^binlog\.\d+:\d+$/);
    assert.match(env.RLM_CUTOVER_STARTED_AT ?? '', /^\d{4}-/);

    const rollback = await sb.cli(['rollback']);
    assert.equal(rollback.exitCode, 0, String(rollback.all));
    // The first rollback step turns the phase to rolling-back; archiving the cutover at the end, to rolled-back.
    assert.deepEqual(take(hooks.events).slice(2), [
      'before-rollback cut-over rds-live-migrate-on-before-rollback-1-record',
      'phase-change rolling-back rds-live-migrate-on-phase-change-1-record',
      'switch-traffic rolling-back rds-live-migrate-on-switch-traffic-1-record to-source',
      'after-switch rolling-back rds-live-migrate-on-after-switch-1-record to-source',
      'phase-change rolled-back rds-live-migrate-on-phase-change-1-record',
      'success rolled-back rds-live-migrate-on-success-1-record',
    ]);
    assert.equal(envBlock(hooks, 'switch-traffic').RLM_PORT, envBlock(hooks, 'switch-traffic').RLM_SOURCE_PORT);
  });

  test('nothing a hook saw holds a secret', async () => {
    const sb = await hold(verified);
    // The hooks that write their environment: status (with secrets in the CLI's own), failure, switch-traffic both ways.
    const secret = secretOf(sb.state, 'source-master');
    assert.equal((await sb.cli(['status'], { SOURCE_DB_PASSWORD: secret, APP_DSN: `mysql://app:${secret}@db/shop` })).exitCode, 0);
    assert.equal((await withVeto(() => sb.cli(['cutover']))).exitCode, 1);
    for (const command of ['cutover', 'rollback']) assert.equal((await sb.cli([command])).exitCode, 0, command);
    for (const event of ['status', 'failure', 'switch-traffic']) assert.ok(envBlock(hooks, event).RLM_EVENT, event);
    const seen = readFileSync(hooks.env, 'utf8');
    for (const secret of knownSecrets(sb)) assert.ok(!seen.includes(secret), 'a hook saw a password');
    assert.doesNotMatch(seen, /\*[0-9A-F]{40}/i, 'a hook saw a password hash');
  });
});

describe('hook file names', () => {
  test('an event name with a suffix never reads as another event', () => {
    assert.equal(eventOfFile('rds-live-migrate-on-switch-traffic'), 'switch-traffic');
    assert.equal(eventOfFile('rds-live-migrate-on-after-switch-notify-chat'), 'after-switch');
    assert.equal(eventOfFile('rds-live-migrate-on-before-cutover-10-veto'), 'before-cutover');
    assert.equal(eventOfFile('rds-live-migrate-on-startups'), undefined);
    assert.equal(eventOfFile('README.md'), undefined);
  });
});
