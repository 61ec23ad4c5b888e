import type { Server } from '../db/connection.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../db/replica-status.js';
import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from './context.js';
import type { FrozenPosition } from '../run/freeze-replica.js';
import type { Finding } from '../run/preflight/index.js';

export const POSITION_GONE = 'the position is gone: the target must be seeded again';
export const RESEED_FIX =
  'binlogs cannot be brought back and running again cannot help. Seed the target again from a fresh freeze: run `rds-live-migrate run --reseed` (it drops what was seeded, freezes the replica anew and seeds again). Before that, raise binlogRetentionHours so the source keeps its binlogs for the seed plus the catch-up';

/** Whether `server` still holds its binlog from `position` on: the file is listed and reaches that offset. */
export async function binlogPositionAvailable(server: Server, position: BinlogPosition): Promise<boolean> {
  const logs = await server.query<{ Log_name: string; File_size: string }>('SHOW BINARY LOGS');
  const file = logs.find((l) => l.Log_name === position.file);
  return file !== undefined && Number(file.File_size) >= position.pos;
}

export function positionGoneError(leader: string, detail: string): OperatorError {
  return new OperatorError(`${POSITION_GONE}: ${leader} ${detail}`, RESEED_FIX, 'binlog-gone');
}

/**
 * The position target-master still needs from source-master: the frozen one,
 * or how far the target has applied once it replicates (it re-reads from there).
 */
async function neededPosition(ctx: MigrationContext, target: Server | undefined): Promise<BinlogPosition | undefined> {
  const frozen = ctx.journal.data<FrozenPosition>('freeze-replica')?.executed;
  if (!frozen || !target) return frozen;
  const status = await ctx.dialect.replicaStatus(target);
  return status.configured && status.executed.file && comparePositions(status.executed, frozen) > 0 ? status.executed : frozen;
}

/** For preflight: between the freeze and the end of catch-up, the source must still hold the binlog the target needs. */
export async function lostBinlogFinding(ctx: MigrationContext, source: Server, target: Server | undefined): Promise<Finding | undefined> {
  if (!ctx.journal.isDone('freeze-replica') || ctx.journal.isDone('catch-up')) return undefined;
  const position = await neededPosition(ctx, target);
  if (!position || (await binlogPositionAvailable(source, position))) return undefined;
  const error = positionGoneError(
    'source-master',
    `no longer has binlog ${formatPosition(position)}, where target-master must continue (SHOW BINARY LOGS does not list it)`,
  );
  return { id: 'binlog-gone', severity: 'block', server: 'source-master', message: error.message, fix: error.fix };
}
