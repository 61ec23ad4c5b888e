import { Construct } from 'constructs';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record/index.js';
import type { HostProps } from './source-instance.js';

export interface DnsNameProps extends HostProps {
  /** The Route 53 hosted zone that holds the name. */
  readonly zoneId: string;
  /** The name the application connects to, e.g. db.shop.internal. */
  readonly name: string;
  /** Seconds resolvers may cache the answer. @default 5 */
  readonly ttl?: number;
  /** The endpoint address the name points at. */
  readonly pointsAt: string;
  /**
   * Who moves the name. migration: cutover and rollback change it through the
   * AWS API, so the stack sets it at creation and never points it back.
   * stack: the declared value is the truth (after finalize: the target).
   */
  readonly switchedBy: 'migration' | 'stack';
}

/** The name the application connects to: a CNAME at the server that takes the writes. */
export class DnsName extends Construct {
  readonly record: Route53Record;

  constructor(scope: Construct, id: string, props: DnsNameProps) {
    super(scope, id);
    this.record = new Route53Record(this, 'record', {
      provider: props.provider,
      zoneId: props.zoneId,
      name: props.name,
      type: 'CNAME',
      ttl: props.ttl ?? 5,
      records: [props.pointsAt],
      ...(props.switchedBy === 'migration' ? { lifecycle: { ignoreChanges: ['records'] } } : {}),
    });
  }
}
