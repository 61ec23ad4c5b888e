#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CONFIG_PATH_ENV, configPath, loadConfig } from '../config/load.js';
import type { MigrationConfig } from '../config/schema.js';
import { cutover } from './cutover/cutover.js';
import { rollback } from './cutover/rollback.js';
import { MigrationContext } from './core/context.js';
import { AwaitingDeployError } from './core/infrastructure.js';
import { readMigrationState, stateFingerprint } from './core/migration-state.js';
import { finalizeMigration, migrationStatus, planMigration, recordVerify, runMigration } from './workflows.js';
import { formatFindings } from './run/preflight/index.js';
import { describeRates } from './core/apply-rate.js';
import { describeError, OperatorError } from './support/errors.js';
import { createLog, type Log } from './support/log.js';
import { runHooks, withHooks } from './hooks/runner.js';
import { redact } from './support/redact.js';

/** Exit codes: the contract CI pipelines rely on (docs/ci.md). */
export const EXIT = { ok: 0, failed: 1, awaitingDeploy: 3, locked: 4 } as const;

// The sandbox, demo and bench are development tools: loaded only when asked for.
const DEFAULT_SANDBOX_DIR = 'sandbox';
const sandboxTools = () => devTool(() => import('./dev/sandbox/sandbox.js'));

/** The development tools are left out of the published build: say so instead of a module-not-found trace. */
async function devTool<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new OperatorError(
      'the sandbox, demo and bench are development tools, not part of the published package',
      'run them from a clone of the repository: npm ci && npm run demo',
      'dev-tool',
    );
  }
}

interface GlobalOptions {
  config?: string;
  json?: boolean;
  hooksPath?: string;
  /** The subcommand's name, for the hooks' RLM_COMMAND. */
  command?: string;
}

/** Runs a command: human text on stderr, with --json one JSON object as the last line of stdout. */
function action<A extends unknown[]>(fn: (log: Log, options: GlobalOptions, ...args: A) => Promise<unknown>) {
  return async (...args: A) => {
    const options = { ...program.opts<GlobalOptions>(), command: (args.at(-1) as Command | undefined)?.name() };
    const log = createLog();
    try {
      const result = await fn(log, options, ...args);
      if (options.json && result !== undefined) process.stdout.write(`${redact(JSON.stringify(result))}\n`);
    } catch (err) {
      const { message, fix, code } = describeError(err);
      log.done();
      if (err instanceof AwaitingDeployError) {
        process.stderr.write(`\n${message}\nwhat to do: ${fix}\n`);
        const awaiting = { phase: err.phase, stacks: err.stacks, changes: err.changes, command: err.command };
        if (options.json) process.stdout.write(`${redact(JSON.stringify({ ok: false, awaiting }))}\n`);
        process.exitCode = EXIT.awaitingDeploy;
        return;
      }
      process.stderr.write(`\nerror: ${message}\n${fix ? `what to do: ${fix}\n` : ''}`);
      if (code === 'unexpected' && err instanceof Error && err.stack) process.stderr.write(`${redact(err.stack)}\n`);
      if (options.json) process.stdout.write(`${JSON.stringify({ ok: false, error: { code, message, fix } })}\n`);
      process.exitCode = code === 'locked' ? EXIT.locked : EXIT.failed;
    }
  };
}

async function withContext<T>(options: GlobalOptions, log: Log, fn: (ctx: MigrationContext) => Promise<T>): Promise<T> {
  const config = loadConfig(options.config);
  if (options.hooksPath) config.migration.hooksPath = resolve(options.hooksPath);
  const ctx = MigrationContext.open(config, log);
  // The stack commands run (cdktf deploy/destroy) synthesize main.ts, which must read this same config.
  if (options.config) process.env[CONFIG_PATH_ENV] = resolve(options.config);
  try {
    return await withHooks(ctx, options.command ?? 'unknown', () => fn(ctx));
  } finally {
    await ctx.close();
  }
}

type SeedMethodSetting = MigrationConfig['migration']['seedMethod'];

/** The sandbox writes this as migration.seedMethod in the config it generates. */
function seedOption(): Option {
  return new Option(
    '--seed <method>',
    'how the target is seeded: logical copy, or snapshot of the frozen replica (sandbox: a physical copy), or auto',
  )
    .choices(['logical', 'snapshot', 'auto'])
    .default('logical');
}

const packageJson = JSON.parse(
  readFileSync(new URL(import.meta.url.includes('/dist/') ? '../../package.json' : '../package.json', import.meta.url), 'utf8'),
) as { version: string };

const program = new Command('rds-live-migrate')
  .description('Move a live, unencrypted RDS MariaDB/MySQL database to a KMS-encrypted instance with near-zero write downtime.')
  .version(packageJson.version, '-V, --version')
  .option('-c, --config <path>', 'migration config file (default: $RDS_LIVE_MIGRATE_CONFIG or ./migration.config.json)')
  .option('--json', 'print one JSON object as the last line of stdout')
  .option('--hooks-path <dir>', 'folder of hooks run at each event (docs/hooks.md); overrides migration.hooksPath')
  .showHelpAfterError();

program
  .command('plan')
  .description(
    "run the preflight checks and print the steps run would take, and the target.parameters that reproduce the source's; changes nothing unless --write-parameters",
  )
  .option('--write-parameters', "add the source's user-set parameters to target.parameters in the config file (read through the aws CLI)")
  .action(
    action(async (log, options, command: { writeParameters?: boolean }) =>
      withContext(options, log, async (ctx) => {
        const plan = await planMigration(ctx);
        log.info(`preflight findings:\n${formatFindings(plan.findings)}`);
        log.info(`steps:\n${plan.steps.map((s, i) => `  ${i + 1}. [${s.status}] ${s.name}: ${s.title}`).join('\n')}`);
        const sourceParameters = await planParameters(ctx, log, options, command.writeParameters === true);
        if (plan.blocked) process.exitCode = 1;
        return { ok: !plan.blocked, ...plan, ...(sourceParameters ? { sourceParameters } : {}) };
      }),
    ),
  );

// Asked of AWS only where AWS is (the sandbox sets awsChecks false), or when told to write.
async function planParameters(ctx: MigrationContext, log: Log, options: GlobalOptions, write: boolean) {
  const { sourceParameterPlan, formatParameterPlan, writeTargetParameters } = await import('./run/source-parameters.js');
  if (!write && !(ctx.config.migration.awsChecks && ctx.config.migration.serverKind === 'rds')) return undefined;
  try {
    const parameters = await sourceParameterPlan(ctx.config);
    log.info(formatParameterPlan(parameters));
    if (write) {
      writeTargetParameters(configPath(options.config), parameters);
      log.info(
        `wrote ${parameters.added.length} parameter(s) into target.parameters of ${configPath(options.config)}; deploy the target stack to apply them`,
      );
    }
    return parameters;
  } catch (err) {
    if (write)
      throw err instanceof OperatorError
        ? err
        : new OperatorError(
            `could not read the source's parameters: ${(err as Error).message}`,
            'give this job rds:DescribeDBInstances and rds:DescribeDBParameters (aws CLI credentials and region), then run plan --write-parameters again',
          );
    log.warn(`could not read the source's parameters, so target.parameters is not compared with them: ${(err as Error).message}`);
    return undefined;
  }
}

program
  .command('run')
  .description(
    'migrate up to "target caught up, replica removed"; resumes from the journal; exit 3: waiting for a reviewed deploy (infrastructure review), exit 4: another command holds the lock',
  )
  .option(
    '--reseed',
    'the source no longer holds the position the target needs: drop what was seeded and seed again from a new replica and a new freeze',
  )
  .action(
    action(async (log, options, opts: { reseed?: boolean }) =>
      withContext(options, log, async (ctx) => {
        const report = await runMigration(ctx, { reseed: opts.reseed === true });
        log.info('target-master replicates from source-master and has caught up; the replica is gone. Next: verify, then cutover.');
        return report;
      }),
    ),
  );

program
  .command('status')
  .description('phase, replication state and lag (seconds and bytes)')
  .action(
    action(async (log, options) =>
      withContext(options, log, async (ctx) => {
        const status = await migrationStatus(ctx);
        await runHooks(ctx, 'status', {
          RLM_LAG_SECONDS: status.replication?.secondsBehind?.toString(),
          RLM_LAG_BYTES: status.replication?.bytesBehind.toString(),
          RLM_FOLLOWER: status.replication?.follower,
        });
        log.info(`${status.migration}: phase ${status.phase}: ${status.meaning}`);
        if (status.replication) {
          const r = status.replication;
          log.info(
            `replication (${r.follower} follows): IO ${r.io}, SQL ${r.sql ? 'Yes' : 'No'}, ${r.secondsBehind ?? '?'} s / ${r.bytesBehind} bytes behind, applied up to ${r.executed}${r.lastError ? `, error: ${r.lastError}` : ''}; ${describeRates(r.rates)}`,
          );
        }
        return { ok: true, ...status };
      }),
    ),
  );

program
  .command('verify')
  .description('compare source and target in primary-key chunks, each at one logical point, plus schema objects and users')
  .option('--chunk-size <rows>', 'rows per chunk', '2000')
  .action(
    action(async (log, options, opts: { chunkSize: string }) =>
      withContext(options, log, async (ctx) => {
        await runHooks(ctx, 'before-verify');
        const report = await recordVerify(ctx, { chunkSize: Number(opts.chunkSize) });
        await runHooks(ctx, 'after-verify', {
          RLM_VERIFY_OK: String(report.ok),
          RLM_VERIFY_VERDICT: report.verdict,
          RLM_VERIFY_DIRECTION: report.direction,
          RLM_VERIFY_MS: String(report.durationMs),
        });
        log.info(
          `verify (${report.direction}): ${report.verdict}: ${report.tablesCompared} tables, ${report.chunksCompared} chunks, ${report.rowsCompared} rows compared in ${report.durationMs} ms; ` +
            `${report.differences.length} differing chunk(s), ${report.schemaDifferences.length} schema/user difference(s), ${report.unverifiedChunks} chunk(s) not verifiable (lag)`,
        );
        for (const d of report.schemaDifferences) log.warn(`${d.kind} ${d.name}: ${d.detail}`);
        if (!report.ok) process.exitCode = 1;
        return report;
      }),
    ),
  );

program
  .command('cutover')
  .description('stop writes on the source, let the target apply the last one, open the target, reverse replication, switch traffic')
  .option('--force', 'cut over even if lag is high or the last verify is missing or not clean')
  .action(
    action(async (log, options, opts: { force?: boolean }) =>
      withContext(options, log, (ctx) => cutover(ctx, { force: opts.force === true })),
    ),
  );

program
  .command('rollback')
  .description('return to the old source without losing a write made on the target; the target follows the source again')
  .action(action(async (log, options) => withContext(options, log, (ctx) => rollback(ctx))));

program
  .command('finalize')
  .description('end reverse replication and drop the replication users; the old source is never deleted')
  .action(action(async (log, options) => withContext(options, log, (ctx) => finalizeMigration(ctx))));

program
  .command('state')
  .description(
    "the migration's phase and state fingerprint, from the journal alone (no database): a pipeline's diff job records it for the deploy",
  )
  .action(
    action(async (log, options) => {
      const state = readMigrationState(loadConfig(options.config));
      const fingerprint = stateFingerprint(state);
      log.info(`phase ${state.phase}, state ${fingerprint}`);
      return { ok: true, phase: state.phase, fingerprint };
    }),
  );

program
  .command('unlock')
  .description("remove the migration's lock left by a command whose process is gone (a lost CI runner); says who held it")
  .action(
    action(async (log, options) =>
      withContext(options, log, async (ctx) => {
        const holder = ctx.journal.store.readLock();
        if (!holder) {
          log.info(`${ctx.journal.where}: not locked`);
          return { ok: true, removed: false };
        }
        ctx.journal.store.breakLock();
        log.warn(
          `removed the lock of \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${holder.since}); make sure that process is gone`,
        );
        return { ok: true, removed: true, holder };
      }),
    ),
  );

const sandbox = program
  .command('sandbox')
  .description('local RDS-like servers: source-master, source-slave and an empty target-master (development and tests)');
sandbox
  .command('up')
  .option('--dir <dir>', 'working directory', DEFAULT_SANDBOX_DIR)
  .addOption(seedOption())
  .addOption(
    new Option('--infrastructure <mode>', 'who deploys: auto (the engine runs `sandbox deploy`) or review (run stops with exit 3)')
      .choices(['auto', 'review'])
      .default('auto'),
  )
  .action(
    action(async (log, _options, opts: { dir: string; seed: SeedMethodSetting; infrastructure: 'auto' | 'review' }) => ({
      ok: true,
      ...(await (
        await sandboxTools()
      ).sandboxUp(opts.dir, (m) => log.info(m), { seedMethod: opts.seed, infrastructure: opts.infrastructure })),
    })),
  );
sandbox
  .command('down')
  .option('--dir <dir>', 'working directory', DEFAULT_SANDBOX_DIR)
  .option('--keep-data', 'stop the servers but keep their data')
  .action(
    action(async (_log, _options, opts: { dir: string; keepData?: boolean }) => {
      await (await sandboxTools()).sandboxDown(opts.dir, { keepData: opts.keepData });
      return { ok: true };
    }),
  );
sandbox
  .command('deploy')
  .description(
    "the sandbox's stand-in for `cdktf deploy source-replica target`: makes the sandbox match what the migration's phase declares",
  )
  .option('--dir <dir>', 'working directory', DEFAULT_SANDBOX_DIR)
  .action(
    action(async (log, _options, opts: { dir: string }) => {
      const { sandboxDeploy } = await devTool(() => import('./dev/sandbox/deploy.js'));
      return { ok: true, ...(await sandboxDeploy(opts.dir, (m) => log.info(m))) };
    }),
  );

program
  .command('demo')
  .description('sandbox up, realistic schema and data, a live write workload, migrate, verify, report')
  .option('--dir <dir>', 'sandbox directory', DEFAULT_SANDBOX_DIR)
  .option('--scale <factor>', 'multiply the bulk data (1 = about 300k rows)', '1')
  .option('--keep', 'leave the sandbox running afterwards')
  .option('--no-rollback', 'skip the cutover → rollback → cutover round trip; cut over once')
  .addOption(seedOption())
  .action(
    action(async (log, _options, opts: { dir: string; scale: string; keep?: boolean; rollback: boolean; seed: SeedMethodSetting }) => {
      const { runDemo } = await devTool(() => import('./dev/demo/demo.js'));
      return runDemo({
        dir: opts.dir,
        scale: Number(opts.scale),
        keep: opts.keep === true,
        rollback: opts.rollback,
        seedMethod: opts.seed,
        log,
      });
    }),
  );

program
  .command('bench')
  .description('time seeding against mysqldump|gzip, a direct pipe, mydumper/myloader and a server-side floor, on the same data')
  .option('--dir <dir>', 'sandbox directory for the bench', '.bench')
  .option('--rows <list>', 'rows per table (4 tables), comma-separated for several sizes; 500000 is about 0.5 GB', '500000')
  .option('--threads <n>', 'connections per side for ours and for mydumper/myloader (default: twice the cores, at most 8)')
  .option('--repeat <n>', 'seed: runs of ours and of myloader per target setting, interleaved; the medians count', '3')
  .argument('[suite]', 'seed (the default), or catch-up: time the target applying a multi-writer backlog per apply mode')
  .option('--seconds <n>', 'catch-up: how long the writers run', '30')
  .option('--writers <n>', 'catch-up: writer connections on the source', '16')
  .action(
    action(
      async (
        log,
        _options,
        suite: string | undefined,
        opts: { dir: string; rows: string; threads?: string; repeat: string; seconds: string; writers: string },
      ) => {
        return (await devTool(() => import('./dev/bench/suite.js'))).benchCommand(log, suite, opts);
      },
    ),
  );

program
  .command('bench-verify')
  .description('migrate the demo shop at a scale, change one row on the target, and time verify finding it')
  .option('--dir <dir>', 'sandbox directory', '.bench-verify')
  .option('--scale <factor>', 'demo data scale (10 = 2 million order_items rows)', '10')
  .action(
    action(async (log, _options, opts: { dir: string; scale: string }) => {
      const { verifyNeedle } = await devTool(() => import('./dev/bench/verify-needle.js'));
      const report = await verifyNeedle({ dir: opts.dir, scale: Number(opts.scale), log });
      log.info(
        `verify ${report.ok ? 'found exactly' : 'did NOT find exactly'} the changed row ${report.changedKey} among ${report.tableRows} ${report.table} rows (reported: ${report.reportedKeys.join(' ') || 'nothing'}); ${report.rowsCompared} rows in ${report.chunksCompared} chunks compared in ${(report.verifyMs / 1000).toFixed(1)} s`,
      );
      if (!report.ok) process.exitCode = 1;
      return report;
    }),
  );

await program.parseAsync(process.argv);
