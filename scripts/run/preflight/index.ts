import type { MigrationContext } from '../../core/context.js';
import { binlogRetention, binlogSettings, binlogStillThere } from './binlog.js';
import { definersCreatable, namedHostsResolve, replicationUserFree } from './accounts.js';
import type { Check, Finding, Severity } from './check.js';
import { enginesMatch } from './engine.js';
import { gatherFacts } from './facts.js';
import { replicaOfSource } from './replica.js';
import { databasesToMigrate, eventsHeld, tablesReplicateWell } from './schema.js';
import { seedMethod, snapshotEngineVersion, snapshotPossibleOnAws } from './seed.js';
import { distinctServerIds, targetDeferred, unreachableServers } from './servers.js';
import { settingsMatch } from './settings.js';
import { targetEmpty, targetLoadsLocalFiles } from './target.js';
import { plaintextConnections, sourceOffersTls, tlsOff } from './tls.js';

export { extraGrants, normalizeAccount } from './accounts.js';
export type { Check, Concern, Finding, Live, Severity } from './check.js';
export type { PreflightFacts } from './facts.js';

/** Every check, in the order plan and run print their findings. */
export const CHECKS: readonly Check[] = [
  seedMethod,
  unreachableServers,
  targetDeferred,
  tlsOff,
  plaintextConnections,
  binlogStillThere,
  binlogSettings,
  sourceOffersTls,
  replicationUserFree,
  binlogRetention,
  databasesToMigrate,
  tablesReplicateWell,
  definersCreatable,
  namedHostsResolve,
  eventsHeld,
  targetLoadsLocalFiles,
  targetEmpty,
  replicaOfSource,
  distinctServerIds,
  snapshotEngineVersion,
  snapshotPossibleOnAws,
  enginesMatch,
  settingsMatch,
];

/**
 * Inspects the servers before anything changes and says what would stop the
 * migration and how to fix it. It reads only. Checks that no longer apply
 * at the journal's phase (the replica after it is torn down, an empty target
 * after the seed began) are skipped, so a resumed run passes its own preflight.
 */
export async function preflight(ctx: MigrationContext, options: { freshTarget?: boolean } = {}): Promise<Finding[]> {
  const { facts, servers } = await gatherFacts(ctx, options);
  const findings: Finding[] = [];
  for (const check of CHECKS) findings.push(...(await check.run(facts, { ctx, servers })));
  return findings;
}

export function blocking(findings: Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'block');
}

export function formatFindings(findings: Finding[]): string {
  if (!findings.length) return 'preflight: no findings';
  const order: Severity[] = ['block', 'warn', 'info'];
  return [...findings]
    .sort((a, b) => order.indexOf(a.severity) - order.indexOf(b.severity))
    .map((f) => `  [${f.severity.toUpperCase()}] ${f.server}: ${f.message}\n      -> ${f.fix}`)
    .join('\n');
}
