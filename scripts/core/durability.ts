import type { Server } from '../db/connection.js';

interface Flushing {
  innodbFlushLogAtTrxCommit: number;
  syncBinlog: number;
}

async function flushingOf(server: Server): Promise<Flushing> {
  const row = (await server.one<{ flush: string; sync: string }>(
    'SELECT @@GLOBAL.innodb_flush_log_at_trx_commit AS flush, @@GLOBAL.sync_binlog AS sync',
  ))!;
  return { innodbFlushLogAtTrxCommit: Number(row.flush), syncBinlog: Number(row.sync) };
}

// Higher is safer. innodb_flush_log_at_trx_commit: 1 flushes every commit, 2 writes it to the OS, 0 neither.
// sync_binlog: 1 syncs every commit, N every N commits, 0 never.
const flushRank = (v: number) => (v === 1 ? 2 : v === 2 ? 1 : 0);
const syncRank = (v: number) => (v === 1 ? Number.MAX_SAFE_INTEGER : v === 0 ? 0 : Number.MAX_SAFE_INTEGER - v);

/**
 * Whether target-master would lose acknowledged commits in a crash that source-master keeps: the
 * relaxed flushing of catch-up left on, or a parameter group that never asked for it. Undefined when
 * the target is at least as durable as the source.
 */
export async function weakerDurability(source: Server, target: Server): Promise<string | undefined> {
  const [s, t] = await Promise.all([flushingOf(source), flushingOf(target)]);
  const weaker: string[] = [];
  if (flushRank(t.innodbFlushLogAtTrxCommit) < flushRank(s.innodbFlushLogAtTrxCommit))
    weaker.push(`innodb_flush_log_at_trx_commit ${t.innodbFlushLogAtTrxCommit} (source-master: ${s.innodbFlushLogAtTrxCommit})`);
  if (syncRank(t.syncBinlog) < syncRank(s.syncBinlog)) weaker.push(`sync_binlog ${t.syncBinlog} (source-master: ${s.syncBinlog})`);
  return weaker.length ? `target-master flushes commits less often than source-master: ${weaker.join(', ')}` : undefined;
}
