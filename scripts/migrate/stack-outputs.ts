import { existsSync, readFileSync } from 'node:fs';
import { SOURCE_REPLICA_STACK, TARGET_STACK } from '../../stacks/index.js';
import type { Endpoint } from '../db/connection.js';
import { OperatorError } from '../support/errors.js';

export type TargetOutputs = Endpoint & { identifier: string; masterSecret: string };

/** What the engine needs from `cdktf deploy --outputs-file`. */
export interface StackOutputs {
  source: Endpoint;
  /** Absent until the target stack is deployed: with the snapshot seed, that happens only after the freeze. */
  target?: TargetOutputs;
  /** Absent once the replica stack is destroyed. */
  replica?: Endpoint & { identifier: string };
}

export function readStackOutputs(file: string): StackOutputs {
  if (!existsSync(file)) {
    throw new OperatorError(`stack outputs file ${file} does not exist`, 'run: cdktf deploy source-replica --outputs-file cdktf-outputs.json (and the target stack too with the logical seed; or set migration.outputsFile)', 'outputs');
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
  // Both stacks export the source endpoint: the replica stack is there before the target, the target stack after the replica.
  const sourceStack: [Record<string, unknown>, string] | undefined = target ? [target, TARGET_STACK] : replica ? [replica, SOURCE_REPLICA_STACK] : undefined;
  if (!sourceStack) throw new OperatorError(`${file} has outputs of neither the ${SOURCE_REPLICA_STACK} nor the ${TARGET_STACK} stack`, `deploy the ${SOURCE_REPLICA_STACK} stack with --outputs-file ${file}`, 'outputs');
  return {
    source: { host: need(...sourceStack, 'source_address'), port: Number(need(...sourceStack, 'source_port')) },
    ...(target
      ? {
          target: {
            host: need(target, TARGET_STACK, 'target_address'),
            port: Number(need(target, TARGET_STACK, 'target_port')),
            identifier: need(target, TARGET_STACK, 'target_identifier'),
            masterSecret: need(target, TARGET_STACK, 'master_secret_arn'),
          },
        }
      : {}),
    ...(replica
      ? { replica: { host: need(replica, SOURCE_REPLICA_STACK, 'replica_address'), port: Number(need(replica, SOURCE_REPLICA_STACK, 'replica_port')), identifier: need(replica, SOURCE_REPLICA_STACK, 'replica_identifier') } }
      : {}),
  };
}
