import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { ident, type Server, type ServerAccess } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';
import { crashIfRequested } from '../support/faults.js';
import { isAlive } from '../support/process.js';
import type { MigrationContext } from './context.js';
import { assertStillFrozen, type FrozenPosition } from './freeze-replica.js';
import { applicationDatabases, baseTables, events, rowCount, type EventInfo } from './schema-inventory.js';
import { byteCounter, definerRewriter } from './seed-stream.js';

interface SeedPlan extends Record<string, unknown> {
  databases: string[];
  pids?: number[];
}

export interface SeedResult extends Record<string, unknown> {
  databases: string[];
  tables: number;
  rowsCopied: number;
  bytesStreamed: number;
  /** Events enabled on the source, kept disabled on the target until cutover. */
  eventsHeldBack: EventInfo[];
}

function clientArgs(access: ServerAccess): string[] {
  return [`--host=${access.endpoint.host}`, `--port=${access.endpoint.port}`, `--user=${access.credentials.username}`, '--default-character-set=utf8mb4', '--max-allowed-packet=1G'];
}

/** The password goes to the client through its environment, never its command line (which `ps` shows). */
function clientEnv(access: ServerAccess): Record<string, string> {
  return { MYSQL_PWD: access.credentials.password };
}

/**
 * Copies the application databases from the frozen source-slave to the target
 * with a streamed mariadb-dump | mariadb (no temp files, memory bounded by the
 * pipe). A re-run after a crash first drops what the interrupted copy left on
 * the target (only the databases it recorded), so nothing is copied twice.
 */
export async function seedTarget(ctx: MigrationContext): Promise<SeedResult> {
  const frozen = ctx.journal.data<FrozenPosition>('freeze-replica')!;
  const replica = await ctx.server('source-slave');
  const target = await ctx.server('target-master');
  const replicaAccess = (await ctx.access('source-slave'))!;
  const targetAccess = (await ctx.access('target-master'))!;

  const previous = ctx.journal.step('seed-target')?.data as SeedPlan | undefined;
  if (previous) await discardPartialSeed(ctx, target, previous);
  await assertStillFrozen(ctx, frozen);

  const databases = await applicationDatabases(replica, ctx.config.migration.databases);
  ctx.journal.started('seed-target', { databases } satisfies SeedPlan);

  const dump = execa(
    'mariadb-dump',
    [
      ...clientArgs(replicaAccess),
      '--single-transaction',
      '--routines',
      '--triggers',
      '--events',
      '--hex-blob',
      '--no-tablespaces',
      '--skip-lock-tables',
      '--net-buffer-length=1048576',
      '--databases',
      ...databases,
    ],
    { env: clientEnv(replicaAccess), stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true } },
  );
  const load = execa('mariadb', [...clientArgs(targetAccess), '--batch'], { env: clientEnv(targetAccess), stdin: 'pipe', stdout: 'ignore', stderr: 'pipe' });
  ctx.journal.started('seed-target', { databases, pids: [dump.pid!, load.pid!] } satisfies SeedPlan);

  let bytes = 0;
  const started = Date.now();
  const stages: (Readable | Writable)[] = [
    dump.stdout!,
    byteCounter((total) => {
      bytes = total;
      ctx.log.progress(`seed: ${(total / 1e6).toFixed(1)} MB streamed, ${(total / 1e6 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1)} MB/s`);
      if (total > 1_000_000) crashIfRequested('mid', 'seed-target');
    }),
    ...(ctx.config.migration.definers === 'rewrite' ? [definerRewriter()] : []),
    load.stdin!,
  ];
  const results = await Promise.allSettled([pipeline(stages), dump, load]);
  ctx.log.done();
  const [, dumped, loaded] = results;
  if (dumped.status === 'rejected') throw clientFailure('mariadb-dump on source-slave', dumped.reason);
  if (loaded.status === 'rejected') throw clientFailure('loading into target-master', loaded.reason);
  if (results[0].status === 'rejected') throw new OperatorError(`seed stream broke: ${(results[0].reason as Error).message}`, 'run again; the partial copy is dropped and redone', 'seed');

  // The replica must not have moved while it was read, or the copy would not match the recorded position.
  await assertStillFrozen(ctx, frozen);
  const eventsHeldBack = await holdBackEvents(await ctx.server('source-master'), target, databases);
  const tables = await baseTables(target, databases);
  let rowsCopied = 0;
  for (const t of tables) rowsCopied += await rowCount(target, t.schema, t.name);
  ctx.log.info(`seed: ${databases.length} database(s), ${tables.length} tables, ${rowsCopied} rows, ${(bytes / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { databases, tables: tables.length, rowsCopied, bytesStreamed: bytes, eventsHeldBack };
}

async function discardPartialSeed(ctx: MigrationContext, target: Server, plan: SeedPlan): Promise<void> {
  // A killed run may have left its clients behind; they must not write into what is about to be dropped.
  for (const pid of plan.pids ?? []) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  const present = await applicationDatabases(target);
  const leftovers = plan.databases.filter((d) => present.includes(d));
  if (!leftovers.length) return;
  ctx.log.warn(`an earlier seed was interrupted; dropping its partial copy on target-master: ${leftovers.join(', ')}`);
  for (const db of leftovers) await target.query(`DROP DATABASE IF EXISTS ${ident(db)}`);
}

/**
 * Events must not run on the target while it replicates, or they would run
 * twice (once on the source, replicated, and once locally). They are marked
 * DISABLE ON SLAVE, which is also how MariaDB marks replicated events; cutover
 * enables the ones that were enabled on the source.
 */
async function holdBackEvents(source: Server, target: Server, databases: string[]): Promise<EventInfo[]> {
  for (const e of await events(target, databases)) {
    if (e.status === 'ENABLED') await target.query(`ALTER EVENT ${ident(e.schema)}.${ident(e.name)} DISABLE ON SLAVE`);
  }
  return (await events(source, databases)).filter((e) => e.status === 'ENABLED');
}

function clientFailure(what: string, reason: unknown): OperatorError {
  const e = reason as { stderr?: string; shortMessage?: string; code?: string };
  if (e.code === 'ENOENT') return new OperatorError(`${what}: the MariaDB client tools are not installed`, 'install them: sudo apt-get install -y mariadb-client', 'seed');
  const stderr = (e.stderr ?? '').trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  const hint = /SUPER|SET USER|DEFINER/i.test(stderr)
    ? 'a DEFINER the target master user cannot create: set migration.definers to "rewrite", or recreate those objects on the source'
    : 'fix the cause above and run again; the partial copy is dropped and redone';
  return new OperatorError(`${what} failed: ${stderr || e.shortMessage || String(reason)}`, hint, 'seed');
}
