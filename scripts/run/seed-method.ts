import type { MigrationContext } from '../core/context.js';
import { applicationDatabases, dataSize } from '../core/schema-inventory.js';

export type SeedMethod = 'logical' | 'snapshot';

export interface SeedChoice extends Record<string, unknown> {
  method: SeedMethod;
  reason: string;
  /** Data + index bytes of the migrated databases, as information_schema reports them. */
  dataBytes: number;
}

const GiB = 1024 ** 3;

/**
 * Chooses how the target is seeded. `run` journals the choice before the
 * freeze, and the target stack reads it from the journal, so an `auto` that
 * would flip as the data grows is decided once.
 */
export async function chooseSeedMethod(ctx: MigrationContext): Promise<SeedChoice> {
  const { seedMethod, snapshotAboveGiB, databases: named } = ctx.config.migration;
  const server = (await ctx.access('source-slave')) ? await ctx.server('source-slave') : await ctx.server('source-master');
  const databases = await applicationDatabases(server, named);
  const { bytes } = await dataSize(server, databases);
  const size = `${(bytes / GiB).toFixed(bytes < GiB ? 3 : 1)} GiB`;
  if (seedMethod !== 'auto')
    return { method: seedMethod, reason: `seedMethod is ${seedMethod} in the config (the databases hold ${size})`, dataBytes: bytes };
  const method: SeedMethod = bytes > snapshotAboveGiB * GiB ? 'snapshot' : 'logical';
  const reason =
    method === 'snapshot'
      ? `seedMethod auto: the databases hold ${size}, more than snapshotAboveGiB (${snapshotAboveGiB}); AWS copies the storage instead of one client copying rows`
      : `seedMethod auto: the databases hold ${size}, not more than snapshotAboveGiB (${snapshotAboveGiB}); a logical copy is quick at this size and needs no snapshot`;
  return { method, reason, dataBytes: bytes };
}
