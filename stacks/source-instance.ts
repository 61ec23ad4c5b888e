import { Fn, type IResolvable, type TerraformProvider } from 'cdktf';
import type { DataAwsDbInstance } from '@cdktf/provider-aws/lib/data-aws-db-instance/index.js';
import type { DbInstance } from '@cdktf/provider-aws/lib/db-instance/index.js';

/** The source-master: looked up (SourceLookup), or the host app's own instance. */
export type SourceInstance = DataAwsDbInstance | DbInstance;

type Flag = boolean | IResolvable;

/**
 * What the constructs read from the source, whichever kind it is. Optional
 * fields are those the aws_db_instance data source does not expose: they are
 * known only for a host's own DbInstance.
 */
export interface SourceAttributes {
  arn: string;
  instanceClass: string;
  allocatedStorage: number;
  storageType: string;
  multiAz: Flag;
  securityGroupIds: string[];
  dbSubnetGroupName: string;
  address: string;
  port: number;
  /** The source's option group; RDS lists one per instance. */
  optionGroupName: string;
  iops: number;
  storageThroughput: number;
  /** Storage autoscaling ceiling in GiB; 0 when autoscaling is off. */
  maxAllocatedStorage: number;
  backupWindow: string;
  maintenanceWindow: string;
  /** Enhanced monitoring, seconds; 0 when off. */
  monitoringInterval: number;
  monitoringRoleArn: string;
  cloudwatchLogsExports: string[];
  caCertIdentifier: string;
  autoMinorVersionUpgrade: Flag;
  performanceInsights?: { enabled: Flag; retentionDays: number };
  copyTagsToSnapshot?: Flag;
  iamDatabaseAuthentication?: Flag;
}

// Duck-typed rather than instanceof: a host app may load its own copy of the provider classes.
const isLookup = (s: SourceInstance): s is DataAwsDbInstance => 'dbInstanceArn' in s;

export function sourceAttributes(source: SourceInstance): SourceAttributes {
  return isLookup(source) ? lookedUpAttributes(source) : hostAttributes(source);
}

function lookedUpAttributes(source: DataAwsDbInstance): SourceAttributes {
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
    optionGroupName: Fn.element(source.optionGroupMemberships, 0) as string,
    iops: source.iops,
    storageThroughput: source.storageThroughput,
    maxAllocatedStorage: source.maxAllocatedStorage,
    backupWindow: source.preferredBackupWindow,
    maintenanceWindow: source.preferredMaintenanceWindow,
    monitoringInterval: source.monitoringInterval,
    monitoringRoleArn: source.monitoringRoleArn,
    cloudwatchLogsExports: source.enabledCloudwatchLogsExports,
    caCertIdentifier: source.caCertIdentifier,
    autoMinorVersionUpgrade: source.autoMinorVersionUpgrade,
  };
}

function hostAttributes(source: DbInstance): SourceAttributes {
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
    optionGroupName: source.optionGroupName,
    iops: source.iops,
    storageThroughput: source.storageThroughput,
    maxAllocatedStorage: source.maxAllocatedStorage,
    backupWindow: source.backupWindow,
    maintenanceWindow: source.maintenanceWindow,
    monitoringInterval: source.monitoringInterval,
    monitoringRoleArn: source.monitoringRoleArn,
    cloudwatchLogsExports: source.enabledCloudwatchLogsExports,
    caCertIdentifier: source.caCertIdentifier,
    autoMinorVersionUpgrade: source.autoMinorVersionUpgrade,
    performanceInsights: { enabled: source.performanceInsightsEnabled, retentionDays: source.performanceInsightsRetentionPeriod },
    copyTagsToSnapshot: source.copyTagsToSnapshot,
    iamDatabaseAuthentication: source.iamDatabaseAuthenticationEnabled,
  };
}

/** Props every construct takes so that it composes into a host's stack. */
export interface HostProps {
  /** The host's AWS provider (another region or account alias). @default the stack's default AWS provider */
  readonly provider?: TerraformProvider;
}
