import type { EngineFamily } from '../config/schema.js';

/** RDS parameter group family for an engine version: mariadb10.11, mysql8.0. */
export function parameterGroupFamily(engine: EngineFamily, engineVersion: string): string {
  const [major, minor] = engineVersion.split('.');
  if (major === undefined || minor === undefined) {
    throw new Error(`engineVersion ${JSON.stringify(engineVersion)}: expected MAJOR.MINOR[.PATCH], e.g. 10.11.8 or 8.0.39`);
  }
  if (engine === 'mysql' && major !== '8') {
    throw new Error(
      `engineVersion ${engineVersion}: RDS MySQL targets must be 8.x (this tool drives mysql.rds_set_external_source, which 8.0 introduced)`,
    );
  }
  return `${engine}${major}.${minor}`;
}

/** Parallel replication threads on the target; `npm run bench -- catch-up` measures them against one SQL thread. */
export const APPLY_THREADS = 8;

/**
 * Parameters the target needs to take part in replication, to accept the
 * seeded routines and triggers from a master user without SUPER, and to load
 * the seed with LOAD DATA LOCAL. The tool depends on them: they cannot be overridden.
 */
export function requiredParameters(engine: EngineFamily): Record<string, string> {
  return {
    binlog_format: 'ROW',
    log_bin_trust_function_creators: '1',
    local_infile: '1',
    binlog_row_image: engine === 'mariadb' ? 'FULL' : 'full',
  };
}

/**
 * How the target applies the source's changes: in parallel. With RDS's
 * durability (each commit flushed) one SQL thread applied a third of what 16
 * writers commit; conservative mode, which replays the source's group commits
 * side by side, applied the most in the catch-up bench. Commits stay in the
 * source's order. Defaults: target.parameters may set other values (more
 * threads for a busier source), which `npm run bench -- catch-up --threads N` measures.
 */
export function applyParameters(engine: EngineFamily): Record<string, string> {
  return engine === 'mariadb'
    ? { slave_parallel_threads: String(APPLY_THREADS), slave_parallel_mode: 'conservative' }
    : { replica_parallel_workers: String(APPLY_THREADS), replica_preserve_commit_order: '1' };
}

/** Every parameter the target's group gets from the tool, the apply defaults included. */
export function replicationParameters(engine: EngineFamily): Record<string, string> {
  return { ...requiredParameters(engine), ...applyParameters(engine) };
}

/** The two settings that decide whether an acknowledged commit survives a crash; both are dynamic. */
export const DURABILITY = {
  innodb_flush_log_at_trx_commit: { strict: '1', relaxed: '2' },
  sync_binlog: { strict: '1', relaxed: '0' },
} as const;

export function durabilityParameters(durability: 'strict' | 'relaxed'): Record<string, string> {
  return Object.fromEntries(Object.entries(DURABILITY).map(([name, values]) => [name, values[durability]]));
}

/** Parameters rds-live-migrate sets on the target; target.parameters cannot override them. */
export function targetOwnedParameters(engine: EngineFamily, requireSecureTransport: boolean): Record<string, string> {
  const transport: Record<string, string> = requireSecureTransport ? { require_secure_transport: engine === 'mariadb' ? 'ON' : '1' } : {};
  return { ...requiredParameters(engine), ...transport };
}
