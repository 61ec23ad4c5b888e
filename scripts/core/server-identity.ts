import type { MigrationConfig } from '../../config/schema.js';
import { replicaIdentifier } from '../../stacks/names.js';
import type { ServerPin } from './journal-format.js';
import type { Endpoint, Server, ServerRole } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';
import type { StackOutputs } from './stack-outputs.js';

export type ServerIdentity = ServerPin;

/**
 * What a server says it is. Pinned (compared with the journal on every later
 * connect) are only values that survive a reboot, a Multi-AZ failover and a
 * minor-version upgrade: @@server_id, MySQL's @@server_uuid (kept in the data
 * directory) and the instance identifier. MariaDB has no persisted UUID;
 * its @@server_uid is a hash of the host's hardware address and the port, so it
 * changes when RDS moves the instance to another host: it is recorded and used
 * only to recognise one server answering under two roles at the same time,
 * together with @@hostname and @@port.
 */
export async function readIdentity(server: Server, endpoint: Endpoint, identifier: string | undefined): Promise<ServerIdentity> {
  const rows = await server.query<{ name: string; value: string }>(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_id', 'server_uuid', 'server_uid', 'hostname', 'port', 'version')",
  );
  const v = Object.fromEntries(rows.map((r) => [String(Object.values(r)[0]).toLowerCase(), String(Object.values(r)[1])]));
  return {
    serverId: Number(v.server_id),
    ...(v.server_uuid ? { uuid: v.server_uuid } : {}),
    ...(v.server_uid ? { uid: v.server_uid } : {}),
    hostname: v.hostname ?? '',
    port: Number(v.port),
    version: v.version ?? '',
    endpoint: `${endpoint.host}:${endpoint.port}`,
    ...(identifier ? { identifier } : {}),
    pinnedAt: new Date().toISOString(),
  };
}

/** Whether the server answering now is the one pinned for the role. */
export function matchesPin(recorded: ServerIdentity, now: ServerIdentity): boolean {
  if (recorded.serverId !== now.serverId) return false;
  if (recorded.uuid && now.uuid && recorded.uuid !== now.uuid) return false;
  return !(recorded.identifier && now.identifier && recorded.identifier !== now.identifier);
}

/** Whether two identities are one server (a persisted UUID, the host-derived uid, or server_id on the same host and port). */
export function sameServer(a: ServerIdentity, b: ServerIdentity): boolean {
  if (a.uuid && b.uuid) return a.uuid === b.uuid;
  if (a.uid && b.uid && a.uid === b.uid) return true;
  return a.serverId === b.serverId && a.hostname === b.hostname && a.port === b.port;
}

export function describeIdentity(id: ServerIdentity): string {
  const parts = [
    `server_id ${id.serverId}`,
    id.uuid ? `server_uuid ${id.uuid}` : undefined,
    `host ${id.hostname}:${id.port}`,
    `version ${id.version}`,
    `reached at ${id.endpoint}`,
    id.identifier ? `instance ${id.identifier}` : undefined,
  ];
  return parts.filter(Boolean).join(', ');
}

const STALE_OUTPUTS =
  "a stale or foreign outputs file is the usual cause: write it again from this migration's stacks (cdktf deploy/output --outputs-file, or terraform output -json) and check migration.outputsFile; nothing was changed";

export function notPinnedServer(role: ServerRole, recorded: ServerIdentity, now: ServerIdentity): OperatorError {
  return new OperatorError(
    `${role}: the server answering is not the one this migration recorded for ${role} (recorded ${recorded.pinnedAt}: ${describeIdentity(recorded)}; answering now: ${describeIdentity(now)})`,
    `${STALE_OUTPUTS}. If ${role} really was replaced by another instance mid-migration, the journal's record of the migration no longer holds for it: start the migration over rather than edit the journal`,
    'server-identity',
  );
}

export function sameServerError(role: ServerRole, other: string, now: ServerIdentity): OperatorError {
  return new OperatorError(
    `${role} and ${other} are the same server (${describeIdentity(now)}): the migration needs the source and a different target`,
    `${STALE_OUTPUTS}. If the config names the same instance twice, give target.instanceIdentifier a new instance`,
    'same-server',
  );
}

/** The outputs must describe this config's instances, and no endpoint may serve two roles. */
export function checkOutputsAgainstConfig(config: MigrationConfig, outputs: StackOutputs, file: string, replicaGeneration = 0): void {
  const fix = `${STALE_OUTPUTS}, or correct the config if it is the one that is wrong`;
  if (outputs.target && outputs.target.identifier !== config.target.instanceIdentifier) {
    throw new OperatorError(
      `${file}: the target identifier in the outputs is ${outputs.target.identifier}, but the config's target.instanceIdentifier is ${config.target.instanceIdentifier}`,
      fix,
      'outputs',
    );
  }
  const replicaId = replicaIdentifier(config, replicaGeneration);
  if (outputs.replica && outputs.replica.identifier !== replicaId) {
    throw new OperatorError(
      `${file}: the replica identifier in the outputs is ${outputs.replica.identifier}, but the stacks declare the replica of ${config.source.instanceIdentifier} as ${replicaId}`,
      fix,
      'outputs',
    );
  }
  const endpoints: [string, Endpoint | undefined][] = [
    ['source-master', outputs.source],
    ['source-slave', outputs.replica],
    ['target-master', outputs.target],
  ];
  const seen = new Map<string, string>();
  for (const [role, endpoint] of endpoints) {
    if (!endpoint) continue;
    const key = `${endpoint.host.toLowerCase()}:${endpoint.port}`;
    const other = seen.get(key);
    if (other)
      throw new OperatorError(
        `${file}: ${other} and ${role} are the same server (both at ${key})`,
        `${STALE_OUTPUTS}. The target must be a new instance`,
        'same-server',
      );
    seen.set(key, role);
  }
}
