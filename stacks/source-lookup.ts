import { Construct } from 'constructs';
import { DataAwsDbInstance } from '@cdktf/provider-aws/lib/data-aws-db-instance/index.js';
import type { HostProps } from './source-instance.js';

/**
 * The existing source-master, read through a data source so that neither
 * stack can ever change it.
 */
export class SourceLookup extends Construct {
  readonly instance: DataAwsDbInstance;

  constructor(scope: Construct, id: string, props: { instanceIdentifier: string } & HostProps) {
    super(scope, id);
    this.instance = new DataAwsDbInstance(this, 'source-master', {
      provider: props.provider,
      dbInstanceIdentifier: props.instanceIdentifier,
    });
  }
}
