import type { IResolvable, TerraformProvider } from 'cdktf';
import type { DataAwsDbInstance } from '@cdktf/provider-aws/lib/data-aws-db-instance/index.js';
import type { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';

/** The source-master: looked up (SourceLookup), or the host app's own instance. */
export type SourceInstance = DataAwsDbInstance | DbInstance;

/** What the constructs read from the source, whichever kind it is. */
export interface SourceAttributes {
  arn: string;
  instanceClass: string;
  allocatedStorage: number;
  storageType: string;
  multiAz: boolean | IResolvable;
  securityGroupIds: string[];
  dbSubnetGroupName: string;
  address: string;
  port: number;
}

// Duck-typed rather than instanceof: a host app may load its own copy of the provider classes.
const isLookup = (s: SourceInstance): s is DataAwsDbInstance => 'dbInstanceArn' in s;

export function sourceAttributes(source: SourceInstance): SourceAttributes {
  if (isLookup(source)) {
    return {
      arn: source.dbInstanceArn,
      instanceClass: source.dbInstanceClass,
      allocatedStorage: source.allocatedStorage,
      storageType: source.storageType,
      multiAz: source.multiAz,
      securityGroupIds: source.vpcSecurityGroups,
      dbSubnetGroupName: source.dbSubnetGroup,
      address: source.address,
      port: source.port,
    };
  }
  return {
    arn: source.arn,
    instanceClass: source.instanceClass,
    allocatedStorage: source.allocatedStorage,
    storageType: source.storageType,
    multiAz: source.multiAz,
    securityGroupIds: source.vpcSecurityGroupIds,
    dbSubnetGroupName: source.dbSubnetGroupName,
    address: source.address,
    port: source.port,
  };
}

/** Props every construct takes so that it composes into a host's stack. */
export interface HostProps {
  /** The host's AWS provider (another region or account alias). @default the stack's default AWS provider */
  readonly provider?: TerraformProvider;
}
