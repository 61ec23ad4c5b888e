import { setTimeout as delay } from 'node:timers/promises';
import type { MigrationConfig } from '../../config/schema.js';
import { awsCli, AwsCliError } from '../support/aws-cli.js';
import { OperatorError } from '../support/errors.js';
import type { Log } from '../support/log.js';
import type { SwitchRequest, TrafficSwitch } from './traffic-switch.js';

export type DnsConfig = NonNullable<MigrationConfig['dns']>;

export interface DnsSwitchOptions {
  /** Between two get-change calls. @default 2000 */
  pollMs?: number;
  /** @default dns.syncTimeoutSeconds */
  timeoutMs?: number;
}

/** The CNAME UPSERT that points the application's name at the request's endpoint. */
export function changeBatch(dns: DnsConfig, request: SwitchRequest): object {
  return {
    Comment: `rds-live-migrate: ${dns.name} to ${request.role} (${request.direction})`,
    Changes: [
      {
        Action: 'UPSERT',
        ResourceRecordSet: { Name: dns.name, Type: 'CNAME', TTL: dns.ttl, ResourceRecords: [{ Value: request.endpoint.host }] },
      },
    ],
  };
}

/**
 * Moves the application by pointing its DNS name (a Route 53 CNAME) at the
 * server that now takes the writes, and returns once Route 53 reports the
 * change on all its name servers. An UPSERT is idempotent: re-running after
 * any failure is safe.
 */
export function dnsSwitch(dns: DnsConfig, log: Log, options: DnsSwitchOptions = {}): TrafficSwitch {
  return async (request) => {
    const started = Date.now();
    const changeId = await submit(dns, request);
    log.info(`Route 53 accepted ${dns.name} → ${request.endpoint.host} (change ${changeId}); waiting until it is in sync`);
    await waitInSync(dns, request, changeId, options);
    log.info(
      `${dns.name} points at ${request.role} ${request.endpoint.host}: in sync after ${((Date.now() - started) / 1000).toFixed(1)} s; clients follow within the TTL (${dns.ttl} s) and their pool's connection lifetime`,
    );
  };
}

async function submit(dns: DnsConfig, request: SwitchRequest): Promise<string> {
  try {
    const out = JSON.parse(
      await awsCli([
        'route53',
        'change-resource-record-sets',
        '--hosted-zone-id',
        dns.zoneId,
        '--change-batch',
        JSON.stringify(changeBatch(dns, request)),
        '--output',
        'json',
      ]),
    ) as { ChangeInfo?: { Id?: string } };
    const id = out.ChangeInfo?.Id;
    if (!id) throw new Error(`no ChangeInfo.Id in the answer: ${JSON.stringify(out).slice(0, 200)}`);
    return id;
  } catch (err) {
    throw new OperatorError(
      `the DNS switch failed: Route 53 did not accept pointing ${dns.name} (zone ${dns.zoneId}) at ${request.endpoint.host}: ${reason(err)}`,
      `the name was not changed. Writes are safe: only ${request.role} accepts them. Fix the cause (credentials, route53:ChangeResourceRecordSets on the zone, dns.zoneId/dns.name), then run the same command again to finish`,
      'switch',
    );
  }
}

async function waitInSync(dns: DnsConfig, request: SwitchRequest, changeId: string, options: DnsSwitchOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? dns.syncTimeoutSeconds * 1000);
  let last = 'PENDING';
  for (;;) {
    try {
      const out = JSON.parse(await awsCli(['route53', 'get-change', '--id', changeId, '--output', 'json'])) as {
        ChangeInfo?: { Status?: string };
      };
      last = out.ChangeInfo?.Status ?? 'no status';
      if (last === 'INSYNC') return;
    } catch (err) {
      last = `unknown (${reason(err)})`;
    }
    if (Date.now() >= deadline) break;
    await delay(options.pollMs ?? 2000);
  }
  throw new OperatorError(
    `Route 53 accepted pointing ${dns.name} at ${request.endpoint.host} (change ${changeId}) but has not reported it in sync within ${Math.round((options.timeoutMs ?? dns.syncTimeoutSeconds * 1000) / 1000)} s (last status: ${last}); the switch is submitted, not confirmed`,
    `writes are safe: only ${request.role} accepts them. Check with \`aws route53 get-change --id ${changeId}\`, then run the same command again to finish (the UPSERT is idempotent)`,
    'switch',
  );
}

const reason = (err: unknown) => (err instanceof AwsCliError ? err.message : (err as Error).message);
