import type { ServerRole } from '../db/connection.js';
import type { MigrationContext } from './context.js';

const ROLES: ServerRole[] = ['source-master', 'target-master'];

/**
 * What cutover, rollback and finalize check before they touch anything: the
 * outputs describe this config's instances, source and target answer as the
 * servers pinned for them, and they are two different servers. Each check
 * throws an OperatorError that names the role, what was recorded and what
 * answered (see context.ts and server-identity.ts).
 */
export async function commandPreflight(ctx: MigrationContext): Promise<void> {
  const before = ctx.journal.snapshot().servers ?? {};
  for (const role of ROLES) await ctx.server(role);
  const unpinned = ROLES.filter((role) => !before[role]);
  // A migration begun before servers were pinned: pinned from here on, as they answer now.
  if (unpinned.length)
    ctx.log.warn(
      `${unpinned.join(' and ')} had no recorded identity; recorded now as they answer: check that the outputs file is this migration's`,
    );
}
