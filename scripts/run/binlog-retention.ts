import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from '../core/context.js';

/** Raises binlog retention on source-master to the configured hours; never lowers a longer one. */
export async function setBinlogRetention(ctx: MigrationContext): Promise<{ hours: number | null; previous: number | null }> {
  const source = await ctx.server('source-master');
  const wanted = ctx.config.binlogRetentionHours;
  const previous = await ctx.dialect.binlogRetentionHours(source);
  if (previous !== null && previous >= wanted) {
    ctx.log.info(`binlog retention on source-master is ${previous} h, at least the ${wanted} h needed; left as is`);
    return { hours: previous, previous };
  }
  await ctx.dialect.setBinlogRetentionHours(source, wanted);
  const now = await ctx.dialect.binlogRetentionHours(source);
  if (now === null || now < wanted) {
    throw new OperatorError(
      `source-master: binlog retention is ${now ?? 'NULL'} h after setting it to ${wanted} h`,
      "set it by hand (CALL mysql.rds_set_configuration('binlog retention hours', N)) and run again",
      'retention',
    );
  }
  ctx.log.info(`binlog retention on source-master: ${previous ?? 'NULL'} h -> ${now} h`);
  return { hours: now, previous };
}

/**
 * Once set, retention is read again on every run until catch-up: a self-managed source forgets SET GLOBAL at a
 * restart, and another hand may lower it on RDS, while the migration still needs the binlogs.
 */
export async function keepBinlogRetention(ctx: MigrationContext): Promise<void> {
  if (!ctx.journal.isDone('binlog-retention') || ctx.journal.isDone('catch-up')) return;
  const source = await ctx.server('source-master');
  const wanted = ctx.config.binlogRetentionHours;
  const now = await ctx.dialect.binlogRetentionHours(source);
  if (now !== null && now >= wanted) return;
  ctx.log.warn(
    `binlog retention on source-master is ${now ?? 'NULL'} h, below the ${wanted} h this migration set (a restart of a self-managed server forgets SET GLOBAL; or it was lowered): setting it again`,
  );
  await setBinlogRetention(ctx);
}
