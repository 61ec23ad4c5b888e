// The CI recipe under examples/ is copied into users' repositories as it is: every command it
// runs must exist, and the jobs that change infrastructure or databases must be gated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplesDir = join(root, 'examples');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML and --help output of any shape
type Json = Record<string, any>;
interface Cli {
  commands: Set<string>;
  options: Map<string, boolean> /* takes a value */;
  sub: Map<string, Set<string>>;
}
interface Context {
  rlm: Cli;
  cdktf: Cli;
  npmScripts: Set<string>;
  scripts: Map<string, string>;
}

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: root, env: { ...process.env, CHECKPOINT_DISABLE: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Shell words of a script, one array per simple command; quotes removed, operators split commands. */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | null = null;
  const endWord = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length) commands.push(words);
    words = [];
  };
  const text = script.replace(/\\\n/g, ' ');
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      word = (word ?? '') + text.slice(i + 1, close < 0 ? text.length : close);
      i = close < 0 ? text.length : close;
    } else if (c === '#' && word === null) {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol - 1;
    } else if (c === '$' && text[i + 1] === '(') {
      endCommand();
      i++;
    } else if (/[\n;|&()`<>]/.test(c)) {
      endCommand();
      if (c === '>' || c === '<') while (/[>&0-9-]/.test(text[i + 1] ?? '')) i++;
    } else if (/\s/.test(c)) {
      endWord();
    } else {
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return commands;
}

function parseCommanderHelp(text: string): { commands: Set<string>; options: Map<string, boolean> } {
  const commands = new Set<string>();
  const options = new Map<string, boolean>();
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) {
      section = line;
      continue;
    }
    const opt = /^\s{2}(?:(-\w), )?(--[\w-]+)(\s+[<[])?/.exec(line);
    if (section === 'Options:' && opt) {
      if (opt[1]) options.set(opt[1], Boolean(opt[3]));
      options.set(opt[2]!, Boolean(opt[3]));
    }
    const cmd = /^\s{2}([a-z][\w-]*)\b/.exec(line);
    if (section === 'Commands:' && cmd) commands.add(cmd[1]!);
  }
  return { commands, options };
}

function parseYargsHelp(text: string): { commands: Set<string>; options: Set<string> } {
  const commands = new Set<string>();
  const options = new Set<string>();
  for (const line of text.split('\n')) {
    const cmd = /^\s+cdktf ([a-z][\w-]*)/.exec(line);
    if (cmd) {
      commands.add(cmd[1]!);
      for (const alias of /\[aliases: ([^\]]+)\]/.exec(line)?.[1]?.split(/,\s*/) ?? []) commands.add(alias);
    }
    const opt = /^\s+(?:(-\w), )?(--[\w-]+)/.exec(line);
    if (opt) {
      if (opt[1]) options.add(opt[1]);
      options.add(opt[2]!);
    }
  }
  return { commands, options };
}

async function rlmCli(subs: string[]): Promise<Cli> {
  const cli = ['--import', 'tsx', 'scripts/cli.ts'];
  const top = parseCommanderHelp(await run(process.execPath, [...cli, '--help']));
  // The lead's contract: `--version` exists on main even where this checkout's CLI lacks it.
  top.options.set('--version', false);
  const sub = new Map<string, Set<string>>();
  await Promise.all(
    subs
      .filter((s) => top.commands.has(s))
      .map(async (s) => {
        sub.set(s, new Set(parseCommanderHelp(await run(process.execPath, [...cli, s, '--help'])).options.keys()));
      }),
  );
  return { commands: top.commands, options: top.options, sub };
}

async function cdktfCli(subs: string[]): Promise<Cli> {
  const bin = join(root, 'node_modules', '.bin', 'cdktf');
  const top = parseYargsHelp(await run(bin, ['--help']));
  const sub = new Map<string, Set<string>>();
  await Promise.all(
    subs
      .filter((s) => top.commands.has(s))
      .map(async (s) => {
        sub.set(s, parseYargsHelp(await run(bin, [s, '--help'])).options);
      }),
  );
  return { commands: top.commands, options: new Map([...top.options].map((o) => [o, false])), sub };
}

/** Values a `$VAR` or `${{ inputs.x }}` word can take in this step, or undefined if unknowable. */
function resolveWord(word: string, envs: Json[], doc: Json): string[] | undefined {
  const variable = /^\$\{?(\w+)\}?$/.exec(word);
  const value = variable ? envs.map((e) => e?.[variable[1]!]).find((v) => v !== undefined) : word;
  if (value === undefined) return undefined;
  const input = /^\$\{\{\s*(?:github\.event\.)?inputs\.(\w+)\s*\}\}$/.exec(String(value));
  if (input) return doc.on?.workflow_dispatch?.inputs?.[input[1]!]?.options;
  return /\$/.test(String(value)) ? undefined : [String(value)];
}

interface Found {
  tool: 'rds-live-migrate' | 'cdktf';
  sub: string[];
}

function checkRlm(words: string[], envs: Json[], doc: Json, cli: Cli, errors: string[]): string[] {
  let i = 0;
  while (i < words.length && words[i]!.startsWith('-')) {
    const name = words[i]!.split('=')[0]!;
    if (!cli.options.has(name)) errors.push(`rds-live-migrate has no global option ${name}`);
    i += cli.options.get(name) && !words[i]!.includes('=') ? 2 : 1;
  }
  if (i >= words.length) return cli.options.has(words[0] ?? '') ? ['--version'] : [];
  const subs = resolveWord(words[i]!, envs, doc);
  if (!subs) {
    errors.push(`rds-live-migrate subcommand ${words[i]} cannot be resolved to a fixed value`);
    return [];
  }
  for (const sub of subs) {
    if (!cli.commands.has(sub)) {
      errors.push(`rds-live-migrate has no subcommand "${sub}" (it has: ${[...cli.commands].join(', ')})`);
      continue;
    }
    for (const w of words.slice(i + 1).filter((x) => x.startsWith('-'))) {
      const name = w.split('=')[0]!;
      if (!cli.sub.get(sub)?.has(name) && !cli.options.has(name)) errors.push(`rds-live-migrate ${sub} has no option ${name}`);
    }
  }
  return subs;
}

function checkCdktf(words: string[], cli: Cli, errors: string[]): string[] {
  const sub = words[0] ?? '';
  if (!cli.commands.has(sub)) {
    errors.push(`cdktf has no subcommand "${sub}"`);
    return [];
  }
  for (const w of words.slice(1).filter((x) => x.startsWith('-'))) {
    const name = w.split('=')[0]!;
    if (!cli.sub.get(sub)?.has(name)) errors.push(`cdktf ${sub} has no option ${name}`);
  }
  return [sub];
}

/** Commands of a step's script, with the recipe's own shell scripts it calls inlined. */
function stepCommands(script: string, scripts: Map<string, string>): string[][] {
  return shellCommands(script).flatMap((words) => {
    const called = words.find((w) => w.endsWith('.sh') && scripts.has(basename(w)));
    return called ? [words, ...shellCommands(scripts.get(basename(called))!)] : [words];
  });
}

function checkCommand(words: string[], envs: Json[], doc: Json, ctx: Context, errors: string[]): Found[] {
  const found: Found[] = [];
  words.forEach((w, i) => {
    if (w === 'rds-live-migrate' || w.endsWith('/rds-live-migrate'))
      found.push({ tool: 'rds-live-migrate', sub: checkRlm(words.slice(i + 1), envs, doc, ctx.rlm, errors) });
    if (w === 'cdktf' || w.endsWith('/.bin/cdktf')) found.push({ tool: 'cdktf', sub: checkCdktf(words.slice(i + 1), ctx.cdktf, errors) });
    if (w === 'npm' && /^run(-script)?$/.test(words[i + 1] ?? '') && !ctx.npmScripts.has(words[i + 2] ?? ''))
      errors.push(`npm run ${words[i + 2]}: no such script in package.json`);
  });
  return found;
}

function checkJob(name: string, job: Json, doc: Json, ctx: Context, errors: string[], seen: Found[]): void {
  const found: Found[] = [];
  const jobErrors: string[] = [];
  for (const step of job.steps ?? []) {
    if (typeof step.run !== 'string') continue;
    const envs = [step.env, job.env, doc.env];
    for (const words of stepCommands(step.run, ctx.scripts)) found.push(...checkCommand(words, envs, doc, ctx, jobErrors));
  }
  const has = (tool: Found['tool'], subs: string[]) => found.some((f) => f.tool === tool && f.sub.some((s) => subs.includes(s)));
  const awsAction = (job.steps ?? []).filter((s: Json) => String(s.uses ?? '').startsWith('aws-actions/configure-aws-credentials'));
  const touchesAws = awsAction.length > 0 || found.length > 0;
  const permissions = job.permissions ?? doc.permissions;
  if (touchesAws && !(permissions === 'write-all' || permissions?.['id-token'] === 'write'))
    jobErrors.push('touches AWS but lacks permissions id-token: write');
  for (const s of awsAction) {
    if (!s.with?.['role-to-assume']) jobErrors.push('configure-aws-credentials without role-to-assume');
    if (s.with?.['aws-access-key-id'] || s.with?.['aws-secret-access-key'])
      jobErrors.push('configure-aws-credentials with a long-lived access key');
  }
  if (touchesAws && awsAction.length === 0)
    jobErrors.push('runs cdktf or rds-live-migrate without assuming a role (configure-aws-credentials)');
  if ((has('cdktf', ['deploy', 'apply', 'destroy']) || has('rds-live-migrate', ['cutover', 'rollback', 'finalize'])) && !job.environment)
    jobErrors.push('deploys or cuts over/rolls back/finalizes without an environment (approval)');
  for (const step of job.steps ?? []) {
    if (typeof step.run !== 'string' || !/cdktf (deploy|apply|destroy)\b/.test(step.run)) continue;
    // The state the approved diff was of: synth refuses another, so a journal moved meanwhile applies nothing unseen.
    const reviewed = /^\$\{\{ needs\.([\w-]+)\.outputs\.[\w-]+ \}\}$/.exec(String(step.env?.RDS_LIVE_MIGRATE_REVIEWED_STATE ?? ''));
    const from = reviewed ? doc.jobs?.[reviewed[1]!] : undefined;
    if (!from?.steps?.some((s: Json) => /rds-live-migrate (--json )?state\b/.test(String(s.run ?? ''))))
      jobErrors.push('deploys without RDS_LIVE_MIGRATE_REVIEWED_STATE from the job that showed the diff (`rds-live-migrate state`)');
  }
  if (has('rds-live-migrate', ['run'])) {
    const c = job.concurrency ?? doc.concurrency;
    const group = typeof c === 'string' ? c : c?.group;
    if (!/^rds-live-migrate-/.test(String(group ?? '')))
      jobErrors.push('runs `rds-live-migrate run` without a concurrency group rds-live-migrate-<name>');
    if (c?.['cancel-in-progress'] === true || c?.['cancel-in-progress'] === 'true')
      jobErrors.push('concurrency cancels a running migration (cancel-in-progress)');
  }
  errors.push(...jobErrors.map((e) => `job ${name}: ${e}`));
  seen.push(...found);
}

/** Every problem found in one parsed workflow; empty when it is sound. */
export function checkWorkflow(doc: Json, ctx: Context, seen: Found[] = []): string[] {
  const errors: string[] = [];
  if (!doc || typeof doc !== 'object') return ['not a YAML mapping'];
  if (!doc.on) errors.push('no "on" trigger');
  if (!doc.jobs || typeof doc.jobs !== 'object' || Object.keys(doc.jobs).length === 0) errors.push('no jobs');
  for (const [name, job] of Object.entries<Json>(doc.jobs ?? {})) checkJob(name, job, doc, ctx, errors, seen);
  return errors;
}

const workflowFiles = filesUnder(examplesDir, /\.ya?ml$/);
const scripts = new Map(filesUnder(examplesDir, /\.sh$/).map((f) => [basename(f), readFileSync(f, 'utf8')] as const));
const docs = new Map(workflowFiles.map((f) => [relative(root, f), parse(readFileSync(f, 'utf8')) as Json]));

function subcommandsNamed(tool: RegExp): string[] {
  const texts = [...workflowFiles.map((f) => readFileSync(f, 'utf8')), ...scripts.values()];
  return [...new Set(texts.flatMap((t) => [...t.matchAll(tool)].map((m) => m[1]!)))];
}

let ctxPromise: Promise<Context> | undefined;
function context(): Promise<Context> {
  ctxPromise ??= (async () => {
    // One --help per subcommand, in parallel: each is a process start (seconds under tsx).
    const [rlm, cdktf] = await Promise.all([
      rlmCli(['plan', 'run', 'status', 'verify', 'cutover', 'rollback', 'finalize']),
      cdktfCli(subcommandsNamed(/cdktf ([a-z]+)/g)),
    ]);
    const npmScripts = new Set(Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {}));
    return { rlm, cdktf, npmScripts, scripts };
  })();
  return ctxPromise;
}

test('examples/ has the three workflows of the recipe', () => {
  assert.ok(workflowFiles.length >= 3, `workflows found: ${workflowFiles.join(', ')}`);
});

test('every workflow under examples/ is valid, runs only commands that exist, and gates what changes things', async () => {
  const ctx = await context();
  const seen: Found[] = [];
  const problems = [...docs].flatMap(([file, doc]) => checkWorkflow(doc, ctx, seen).map((e) => `${file}: ${e}`));
  assert.deepEqual(problems, []);
  // Guards against a checker that passes because it found nothing to check.
  const subs = (tool: Found['tool']) => new Set(seen.filter((f) => f.tool === tool).flatMap((f) => f.sub));
  assert.deepEqual(
    ['run', 'status', 'verify', 'cutover', 'rollback', 'finalize'].filter((s) => !subs('rds-live-migrate').has(s)),
    [],
  );
  assert.deepEqual(
    ['synth', 'list', 'diff', 'deploy', 'output'].filter((s) => !subs('cdktf').has(s)),
    [],
  );
});

test('the checker refuses a subcommand or option that does not exist', async () => {
  const ctx = await context();
  const doc = parse(`
on: { workflow_dispatch: { inputs: { command: { type: choice, options: [verify, cut-over] } } } }
permissions: { id-token: write }
jobs:
  a:
    environment: prod
    concurrency: { group: rds-live-migrate-x }
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with: { role-to-assume: arn }
      - run: npx rds-live-migrate --json migrate
      - run: npx rds-live-migrate cutover --yes
      - run: npx rds-live-migrate "$C"
        env: { C: "\${{ inputs.command }}" }
      - run: npx cdktf plan-all && npx cdktf list --skip-synth && npm run no-such-script
`) as Json;
  assert.deepEqual(
    checkWorkflow(doc, ctx).sort(),
    [
      'job a: cdktf has no subcommand "plan-all"',
      'job a: cdktf list has no option --skip-synth',
      'job a: npm run no-such-script: no such script in package.json',
      'job a: rds-live-migrate cutover has no option --yes',
      `job a: rds-live-migrate has no subcommand "cut-over" (it has: ${[...ctx.rlm.commands].join(', ')})`,
      `job a: rds-live-migrate has no subcommand "migrate" (it has: ${[...ctx.rlm.commands].join(', ')})`,
    ].sort(),
  );
});

test('the checker refuses ungated and unlocked jobs', async () => {
  const ctx = await context();
  const doc = parse(`
on: push
permissions: { contents: read }
jobs:
  a:
    concurrency: { group: rds-live-migrate-x, cancel-in-progress: true }
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with: { aws-access-key-id: AKIA, aws-secret-access-key: x }
      - run: npx cdktf deploy target --auto-approve && npx rds-live-migrate run
`) as Json;
  assert.deepEqual(
    checkWorkflow(doc, ctx).sort(),
    [
      'job a: concurrency cancels a running migration (cancel-in-progress)',
      'job a: configure-aws-credentials with a long-lived access key',
      'job a: configure-aws-credentials without role-to-assume',
      'job a: deploys or cuts over/rolls back/finalizes without an environment (approval)',
      'job a: deploys without RDS_LIVE_MIGRATE_REVIEWED_STATE from the job that showed the diff (`rds-live-migrate state`)',
      'job a: touches AWS but lacks permissions id-token: write',
    ].sort(),
  );
});

const iamFiles = filesUnder(join(examplesDir, 'iam'), /\.json$/);
const knownServices = new Set(['rds', 'kms', 'ec2', 'secretsmanager', 's3', 'route53', 'sts', 'iam']);
const actionsOf = (policy: Json): string[] => policy.Statement.flatMap((s: Json) => [s.Action ?? []].flat());

function policy(name: string): Json {
  const file = iamFiles.find((f) => basename(f) === name);
  assert.ok(file, `examples/iam/${name} is missing`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

test('IAM policies parse, only allow, and name real services', () => {
  assert.ok(iamFiles.length >= 2);
  for (const file of iamFiles) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Json;
    assert.equal(doc.Version, '2012-10-17', file);
    for (const s of doc.Statement) {
      assert.equal(s.Effect, 'Allow', `${file}: ${s.Sid}`);
      for (const a of [s.Action].flat()) assert.match(a, /^[a-z0-9-]+:[A-Za-z*]+$/, `${file}: ${a}`);
      for (const a of [s.Action].flat()) assert.ok(knownServices.has(a.split(':')[0]), `${file}: unknown service in ${a}`);
    }
  }
});

test('the deploy-and-migrate role covers what the tool and Terraform call', () => {
  const actions = new Set(actionsOf(policy('deploy-and-migrate-role.json')));
  const needed = [
    'rds:DescribeDBInstances',
    'rds:CreateDBInstanceReadReplica',
    'rds:CreateDBInstance',
    'rds:ModifyDBInstance',
    'rds:DeleteDBInstance',
    'rds:RestoreDBInstanceFromDBSnapshot',
    'rds:CreateDBSnapshot',
    'rds:CopyDBSnapshot',
    'rds:DeleteDBSnapshot',
    'rds:DescribeDBSnapshots',
    'rds:CreateDBParameterGroup',
    'rds:ModifyDBParameterGroup',
    'rds:AddTagsToResource',
    'rds:ListTagsForResource',
    'kms:CreateKey',
    'kms:DescribeKey',
    'kms:GetKeyPolicy',
    'kms:PutKeyPolicy',
    'kms:CreateAlias',
    'kms:CreateGrant',
    'kms:GenerateDataKey',
    'kms:Decrypt',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeSecurityGroupRules',
    'secretsmanager:GetSecretValue',
    'secretsmanager:CreateSecret',
    's3:GetObject',
    's3:PutObject',
    's3:DeleteObject',
    's3:ListBucket',
    'route53:ChangeResourceRecordSets',
    'route53:GetChange',
    'route53:ListResourceRecordSets',
  ];
  assert.deepEqual(
    needed.filter((a) => !actions.has(a)),
    [],
  );
});

test('the plan role reads only (writes are limited to Terraform lock files)', () => {
  const doc = policy('plan-role.json');
  const mutating =
    /^[a-z0-9]+:(Create|Delete|Modify|Put|Authorize|Revoke|Add|Remove|Restore|Copy|Change|Schedule|Enable|Disable|Update|Tag|Untag|Reboot|Start|Stop|Promote|Rotate|Reset)/;
  for (const s of doc.Statement) {
    const writes = [s.Action].flat().filter((a: string) => mutating.test(a) || a.endsWith('*'));
    if (writes.length)
      assert.ok(
        [s.Resource].flat().every((r: string) => r.endsWith('.tflock')),
        `${s.Sid}: ${writes.join(', ')} on ${s.Resource}`,
      );
  }
  const actions = new Set(actionsOf(doc));
  for (const a of ['rds:DescribeDBInstances', 'kms:DescribeKey', 's3:GetObject', 's3:ListBucket', 'ec2:DescribeSecurityGroups'])
    assert.ok(actions.has(a), a);
});
