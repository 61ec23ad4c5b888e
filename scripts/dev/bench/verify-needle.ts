import { loadConfig } from '../../../config/load.js';
import { connectSandboxAdmin, loadShop } from '../demo/scenario.js';
import { MigrationContext } from '../../core/context.js';
import { runMigration } from '../../workflows.js';
import { sandboxDown, sandboxUp } from '../sandbox/sandbox.js';
import { createLog, type Log } from '../../support/log.js';
import { verifyMigration } from '../../verify/verify.js';

export interface NeedleReport {
  ok: boolean;
  table: string;
  tableRows: number;
  rowsCompared: number;
  chunksCompared: number;
  verifyMs: number;
  changedKey: string;
  reportedKeys: string[];
}

/**
 * Can verify find one changed row among millions? Migrates the demo's shop at
 * `scale`, changes one order_items row on the target behind replication's back,
 * and runs verify.
 */
export async function verifyNeedle(options: { dir: string; scale: number; log: Log }): Promise<NeedleReport> {
  await sandboxDown(options.dir);
  const state = await sandboxUp(options.dir, (m) => options.log.info(m));
  try {
    options.log.info(`loading the shop at scale ${options.scale} and migrating it`);
    await loadShop(state, options.scale);
    const ctx = MigrationContext.open(loadConfig(state.configFile), createLog({ quiet: true }));
    try {
      await runMigration(ctx);
      const target = await connectSandboxAdmin(state, 'target-master');
      const tableRows = Number(await target.value('SELECT COUNT(*) FROM shop.order_items'));
      const orderId = Math.floor(tableRows / 4) + 17;
      await target.query('UPDATE shop.order_items SET quantity = quantity + 1 WHERE order_id = ? AND line = 2', [orderId]);
      await target.close();
      options.log.info(`changed order_items (${orderId}, 2) on the target; verifying ${tableRows} order_items rows and the rest`);
      const report = await verifyMigration(new MigrationContext(ctx.config, ctx.journal, options.log));
      const hit = report.differences.filter((d) => d.table === 'shop.order_items');
      const reportedKeys = hit.flatMap((d) => d.keys.map(String));
      const changedKey = `${orderId},2`;
      return {
        ok:
          report.differences.length === 1 &&
          reportedKeys.length === 1 &&
          reportedKeys[0] === changedKey &&
          report.schemaDifferences.length === 0,
        table: 'shop.order_items',
        tableRows,
        rowsCompared: report.rowsCompared,
        chunksCompared: report.chunksCompared,
        verifyMs: report.durationMs,
        changedKey,
        reportedKeys,
      };
    } finally {
      await ctx.close();
    }
  } finally {
    await sandboxDown(options.dir);
  }
}
