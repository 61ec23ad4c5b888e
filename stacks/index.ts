export { EncryptedTarget, targetOwnedParameters, type EncryptedTargetProps, type TwinSettings } from './encrypted-target.js';
export { DnsName, type DnsNameProps } from './dns-name.js';
export {
  applyParameters,
  DURABILITY,
  durabilityParameters,
  parameterGroupFamily,
  replicationParameters,
  requiredParameters,
} from './engine.js';
export { SourceLookup } from './source-lookup.js';
export { SourceReplica, type SourceReplicaProps } from './source-replica.js';
export { SourceReplicaStack, SOURCE_REPLICA_STACK, replicaIdentifier } from './source-replica-stack.js';
export { TargetStack, TARGET_STACK, type TargetStackOptions } from './target-stack.js';
export { FrozenReplicaSnapshot, type FrozenPosition, type FrozenReplicaSnapshotProps } from './frozen-replica-snapshot.js';
export { sourceAttributes, type SourceInstance, type SourceAttributes, type HostProps } from './source-instance.js';
export { stateBackend } from './backend.js';
