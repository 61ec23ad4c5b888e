import { existsSync, readFileSync } from 'node:fs';
import { SOURCE_REPLICA_STACK, TARGET_STACK } from '../../stacks/index.js';
import type { Endpoint } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';

/** What the engine needs from `cdktf deploy --outputs-file`. */
export interface StackOutputs {
  source: Endpoint;
  target: Endpoint & { identifier: string; masterSecret: string };
  /** Absent once the replica stack is destroyed. */
  replica?: Endpoint & { identifier: string };
}

export function readStackOutputs(file: string): StackOutputs {
  if (!existsSync(file)) {
    throw new OperatorError(`stack outputs file ${file} does not exist`, 'run: cdktf deploy source-replica target --outputs-file cdktf-outputs.json (or set migration.outputsFile)', 'outputs');
  }
  const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown> | undefined>;
  const target = all[TARGET_STACK];
  const replica = all[SOURCE_REPLICA_STACK];
  const need = (stack: Record<string, unknown> | undefined, stackName: string, key: string): string => {
    const value = stack?.[key];
    if (value === undefined || value === null || value === '') {
      throw new OperatorError(`${file}: output ${stackName}.${key} is missing`, `deploy the ${stackName} stack with --outputs-file ${file}`, 'outputs');
    }
    return String(value);
  };
  return {
    source: { host: need(target, TARGET_STACK, 'source_address'), port: Number(need(target, TARGET_STACK, 'source_port')) },
    target: {
      host: need(target, TARGET_STACK, 'target_address'),
      port: Number(need(target, TARGET_STACK, 'target_port')),
      identifier: need(target, TARGET_STACK, 'target_identifier'),
      masterSecret: need(target, TARGET_STACK, 'master_secret_arn'),
    },
    ...(replica
      ? { replica: { host: need(replica, SOURCE_REPLICA_STACK, 'replica_address'), port: Number(need(replica, SOURCE_REPLICA_STACK, 'replica_port')), identifier: need(replica, SOURCE_REPLICA_STACK, 'replica_identifier') } }
      : {}),
  };
}
