import { existsSync, readFileSync } from 'node:fs';
import type { OutputKey } from '../../config/schema.js';
import { SOURCE_REPLICA_STACK, TARGET_STACK } from '../../stacks/names.js';
import type { Endpoint } from '../db/connection.js';
import type { Durability } from './phases.js';
import { OperatorError } from '../support/errors.js';

export type TargetOutputs = Endpoint & {
  identifier: string;
  masterSecret: string /** Whether the deployed target is in load mode, when the stack says. */;
  loadMode?: boolean;
  /** How the deployed target flushes commits, when the stack says. */
  durability?: Durability;
};

/** What the engine needs from the deployed stacks. */
export interface StackOutputs {
  source: Endpoint;
  /** Absent until the target stack is deployed: with the snapshot seed, that happens only after the freeze. */
  target?: TargetOutputs;
  /** Absent once the replica is removed. */
  replica?: Endpoint & { identifier: string };
  /** The encrypted copy of the frozen replica's snapshot, while it is declared. */
  frozenSnapshot?: string;
}

/** Where this module's stacks put each output; a host app names its own in migration.outputNames. */
const DEFAULT_NAMES: Record<OutputKey, string[]> = {
  // Both stacks export the source endpoint: the replica stack is there before the target, the target stack after the replica.
  sourceAddress: [`${TARGET_STACK}.source_address`, `${SOURCE_REPLICA_STACK}.source_address`],
  sourcePort: [`${TARGET_STACK}.source_port`, `${SOURCE_REPLICA_STACK}.source_port`],
  replicaIdentifier: [`${SOURCE_REPLICA_STACK}.replica_identifier`],
  replicaAddress: [`${SOURCE_REPLICA_STACK}.replica_address`],
  replicaPort: [`${SOURCE_REPLICA_STACK}.replica_port`],
  targetIdentifier: [`${TARGET_STACK}.target_identifier`],
  targetAddress: [`${TARGET_STACK}.target_address`],
  targetPort: [`${TARGET_STACK}.target_port`],
  masterSecretArn: [`${TARGET_STACK}.master_secret_arn`],
  kmsKeyArn: [`${TARGET_STACK}.kms_key_arn`],
  frozenSnapshotIdentifier: [`${TARGET_STACK}.frozen_snapshot_identifier`],
  targetLoadMode: [`${TARGET_STACK}.target_load_mode`],
  targetDurability: [`${TARGET_STACK}.target_durability`],
};

type Values = Record<string, unknown>;

const loadMode = (value: string | undefined) => (value === undefined ? {} : { loadMode: value === 'on' });
const durability = (value: string | undefined) => (value === 'relaxed' || value === 'strict' ? { durability: value as Durability } : {});

/**
 * Reads the outputs file: `cdktf deploy --outputs-file` (stack → output → value)
 * or `terraform output -json` of a host's root module (output → {value}).
 */
export function readStackOutputs(file: string, names: Partial<Record<OutputKey, string>> = {}): StackOutputs {
  if (!existsSync(file)) {
    throw new OperatorError(
      `stack outputs file ${file} does not exist`,
      `write it with \`npx cdktf deploy ${SOURCE_REPLICA_STACK} --outputs-file ${file}\` (or \`npx cdktf output ${SOURCE_REPLICA_STACK} ${TARGET_STACK} --outputs-file ${file}\` after a deploy elsewhere), or set migration.outputsFile`,
      'outputs',
    );
  }
  let all: Values;
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Values;
  } catch (err) {
    throw new OperatorError(
      `${file}: not valid JSON (${(err as Error).message})`,
      'write it again with cdktf deploy/output --outputs-file or terraform output -json',
      'outputs',
    );
  }
  const lookup = (ref: string): unknown => {
    const [stack, output] = ref.includes('.') ? (ref.split('.', 2) as [string, string]) : [undefined, ref];
    const node = stack ? (all[stack] as Values | undefined)?.[output] : all[output];
    // terraform output -json wraps each value: {"value": …, "type": …, "sensitive": …}
    const value = node && typeof node === 'object' && 'value' in (node as Values) ? (node as Values).value : node;
    return value === '' || value === null ? undefined : value;
  };
  const get = (key: OutputKey): string | undefined => {
    const refs = names[key] ? [names[key]] : DEFAULT_NAMES[key];
    for (const ref of refs) {
      const value = lookup(ref);
      if (value !== undefined) return String(value);
    }
    return undefined;
  };
  const need = (key: OutputKey, what: string): string => {
    const value = get(key);
    if (value === undefined) {
      const refs = names[key] ? [names[key]] : DEFAULT_NAMES[key];
      throw new OperatorError(
        `${file}: ${what} is missing (looked for output ${refs.join(' or ')})`,
        `deploy the stack that exports it with --outputs-file ${file}, or name the output in migration.outputNames.${key}`,
        'outputs',
      );
    }
    return value;
  };
  const endpoint = (address: OutputKey, port: OutputKey, what: string): Endpoint => {
    const p = Number(need(port, `${what} port`));
    if (!Number.isInteger(p) || p <= 0 || p > 65535)
      throw new OperatorError(`${file}: ${what} port is not a port number`, 'deploy the stack again with --outputs-file', 'outputs');
    return { host: need(address, `${what} address`), port: p };
  };
  const hasTarget = get('targetAddress') !== undefined;
  const hasReplica = get('replicaAddress') !== undefined;
  const frozenSnapshot = get('frozenSnapshotIdentifier');
  return {
    source: endpoint('sourceAddress', 'sourcePort', 'the source endpoint'),
    ...(hasTarget
      ? {
          target: {
            ...endpoint('targetAddress', 'targetPort', 'target'),
            identifier: need('targetIdentifier', 'the target identifier'),
            masterSecret: need('masterSecretArn', "the target's master secret ARN"),
            ...loadMode(get('targetLoadMode')),
            ...durability(get('targetDurability')),
          },
        }
      : {}),
    ...(hasReplica
      ? {
          replica: {
            ...endpoint('replicaAddress', 'replicaPort', 'replica'),
            identifier: need('replicaIdentifier', 'the replica identifier'),
          },
        }
      : {}),
    ...(frozenSnapshot ? { frozenSnapshot } : {}),
  };
}
