import { ident } from '../db/connection.js';
import { CUTOVER_DONE, RESEED, RUN_STEPS, VERIFY, type JournalStep } from '../core/journal-format.js';
import { phaseOf, RESEED_REASON, type Phase } from '../core/phases.js';
import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from '../core/context.js';
import { applicationUsers } from './copy-users.js';
import { applicationDatabases } from '../core/schema-inventory.js';

/** The steps a reseed undoes: everything from the freeze on. The binlog retention, replication user and seed method stand. */
const REDONE: readonly JournalStep[] = [...RUN_STEPS.slice(RUN_STEPS.indexOf('freeze-replica')), VERIFY];
const AFTER_CUTOVER: readonly Phase[] = ['cutting-over', 'rolling-back', 'cut-over', 'finalized'];

/**
 * When the source no longer holds the position the target needs, the target
 * must be seeded again: replication on the target is stopped and reset, what
 * was seeded is dropped, and the journal's steps from the freeze on move to its
 * history. The next `run` then declares a new replica (the old one may not be
 * able to resume either), freezes it and seeds again. Safe to re-run: every
 * drop is IF EXISTS, and the journal changes in one write at the end.
 */
export async function reseed(ctx: MigrationContext, why: string): Promise<{ dropped: string[] }> {
  const phase = phaseOf(ctx.journal.snapshot());
  if (AFTER_CUTOVER.includes(phase)) {
    throw new OperatorError(
      `--reseed refused: the migration is in phase ${phase}; the target may hold writes the source lacks`,
      'roll back first (rds-live-migrate rollback), or finish the cutover; a reseed only starts over from the source',
      'reseed',
    );
  }
  const method = ctx.journal.data<{ method?: string }>('seed-method')?.method;
  const outputs = ctx.outputs();
  if (method === 'snapshot' && outputs.target) {
    throw new OperatorError(
      `--reseed with the snapshot seed needs the restored target gone first: ${outputs.target.identifier} was restored from the old position`,
      'turn off its deletion protection and destroy it (npx cdktf destroy target), write the outputs again, then run `rds-live-migrate run --reseed`',
      'reseed',
    );
  }
  ctx.journal.started(RESEED, { why });
  const dropped: string[] = [];
  if (outputs.target) {
    const target = await ctx.server('target-master');
    if ((await ctx.dialect.replicaStatus(target)).configured) {
      await ctx.dialect.stopReplication(target);
      await ctx.dialect.resetExternalMaster(target);
    }
    const seeded =
      ctx.journal.data<{ databases?: string[] }>('seed-target')?.databases ??
      (await applicationDatabases(target, ctx.config.migration.databases));
    for (const db of seeded) {
      await target.query(`DROP DATABASE IF EXISTS ${ident(db)}`);
      dropped.push(db);
    }
    // Every application account, also those that replication created since: the new seed copies them as of the new freeze.
    for (const a of await applicationUsers(target, ctx)) await target.query('DROP USER IF EXISTS ?@?', [a.user, a.host]);
  }
  // The next replica is another server: it is pinned afresh at first contact.
  ctx.journal.unpin('source-slave');
  ctx.journal.archive(
    (name) => name === RESEED || (REDONE as readonly string[]).includes(name) || name === CUTOVER_DONE,
    `${RESEED_REASON}: ${why}`,
  );
  ctx.log.info(
    `reseed: the target's replication is reset and ${dropped.length} database(s) dropped (${dropped.join(', ') || 'none'}); a new replica is declared and the seed starts over from a new freeze`,
  );
  return { dropped };
}
