import type { MigrationContext } from '../../core/context.js';
import type { Server, ServerRole } from '../../db/connection.js';
import type { PreflightFacts } from './facts.js';

export type Severity = 'block' | 'warn' | 'info';

export interface Finding {
  id: string;
  severity: Severity;
  server: ServerRole | 'config';
  message: string;
  fix: string;
}

export type Concern = 'servers' | 'tls' | 'binlog' | 'accounts' | 'schema' | 'target' | 'replica' | 'seed' | 'engine' | 'settings';

/** The connected servers, for the few checks that must ask a server (or AWS) themselves. */
export interface Live {
  ctx: MigrationContext;
  servers: Partial<Record<ServerRole, Server>>;
}

export interface Check {
  /** The finding ids it may report (a connection failure reports the error's own code). */
  ids: readonly string[];
  concern: Concern;
  run(facts: PreflightFacts, live: Live): Finding[] | Promise<Finding[]>;
}

/** A list short enough for one finding's message. */
export function names(list: string[], max = 8): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}
