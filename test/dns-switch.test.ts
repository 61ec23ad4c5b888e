import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { dnsSwitch } from '../scripts/cutover/dns-switch.js';
import { configuredSwitch, type SwitchRequest } from '../scripts/cutover/traffic-switch.js';
import { OperatorError } from '../scripts/support/errors.js';
import type { Log } from '../scripts/support/log.js';
import { exampleConfig } from './helpers/config.js';

// No AWS here: a stand-in `aws` on PATH logs each call (one JSON array of arguments a line) and answers
// get-change with PENDING until the file `pending` holds 0; the files `refuse` and `stuck` make it fail.
const bin = mkdtempSync(join(tmpdir(), 'rlm-route53-'));
const calls = () =>
  readFileSync(join(bin, 'calls.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
const config = parseConfig(exampleConfig({ dns: { zoneId: 'Z0123456789ABCDEFGHIJ', name: 'db.shop.internal' } }));
const dns = config.dns!;
const toTarget: SwitchRequest = {
  direction: 'to-target',
  role: 'target-master',
  endpoint: { host: 'shop-prod-encrypted.abc.eu-west-1.rds.amazonaws.com', port: 3306 },
};

function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m: string) => lines.push(m),
    warn: (m: string) => lines.push(`WARNING ${m}`),
    done: () => {},
  } as unknown as Log & { lines: string[] };
}

describe('the DNS traffic switch (through the aws CLI)', () => {
  const path = process.env.PATH;
  before(() => {
    writeFileSync(
      join(bin, 'aws'),
      `#!/usr/bin/env node
const fs = require('node:fs'); const dir = ${JSON.stringify(bin)}; const args = process.argv.slice(2);
fs.appendFileSync(dir + '/calls.log', JSON.stringify(args) + '\\n');
if (args[1] === 'change-resource-record-sets') {
  if (fs.existsSync(dir + '/refuse')) { process.stderr.write('An error occurred (AccessDenied) when calling the ChangeResourceRecordSets operation: not authorized\\n'); process.exit(254); }
  process.stdout.write(JSON.stringify({ ChangeInfo: { Id: '/change/C0123', Status: 'PENDING' } }));
} else if (args[1] === 'get-change') {
  const left = Number(fs.readFileSync(dir + '/pending', 'utf8'));
  if (!fs.existsSync(dir + '/stuck')) fs.writeFileSync(dir + '/pending', String(Math.max(0, left - 1)));
  process.stdout.write(JSON.stringify({ ChangeInfo: { Id: args[3], Status: left > 0 ? 'PENDING' : 'INSYNC' } }));
} else process.exit(2);
`,
    );
    chmodSync(join(bin, 'aws'), 0o755);
    process.env.PATH = `${bin}:${path}`;
  });
  beforeEach(() => {
    for (const f of ['calls.log', 'refuse', 'stuck']) rmSync(join(bin, f), { force: true });
    writeFileSync(join(bin, 'pending'), '2');
  });
  after(() => {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  });

  test('UPSERTs the CNAME at the new endpoint with the configured TTL, and returns only once the change is INSYNC', async () => {
    const log = recordingLog();
    await dnsSwitch(dns, log, { pollMs: 1 })(toTarget);
    const [upsert, ...polls] = calls();
    assert.deepEqual(upsert!.slice(0, 4), ['route53', 'change-resource-record-sets', '--hosted-zone-id', 'Z0123456789ABCDEFGHIJ']);
    const batch = JSON.parse(upsert![upsert!.indexOf('--change-batch') + 1]!) as { Changes: unknown[] };
    assert.deepEqual(batch.Changes, [
      {
        Action: 'UPSERT',
        ResourceRecordSet: { Name: 'db.shop.internal', Type: 'CNAME', TTL: 5, ResourceRecords: [{ Value: toTarget.endpoint.host }] },
      },
    ]);
    assert.equal(polls.length, 3, 'PENDING twice, then INSYNC');
    for (const poll of polls) assert.deepEqual(poll.slice(0, 4), ['route53', 'get-change', '--id', '/change/C0123']);
    assert.match(
      log.lines.at(-1)!,
      /db\.shop\.internal points at target-master shop-prod-encrypted\.abc\.eu-west-1\.rds\.amazonaws\.com: in sync after \d+\.\d s/,
    );
  });

  test('a refused UPSERT says the name was not changed and how to finish', async () => {
    writeFileSync(join(bin, 'refuse'), '');
    const err = await dnsSwitch(dns, recordingLog(), { pollMs: 1 })(toTarget).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OperatorError);
    assert.match(
      err.message,
      /the DNS switch failed: Route 53 did not accept pointing db\.shop\.internal \(zone Z0123456789ABCDEFGHIJ\) at shop-prod-encrypted\S+: aws route53 change-resource-record-sets: An error occurred \(AccessDenied\)/,
    );
    assert.match(err.fix, /the name was not changed\. Writes are safe: only target-master accepts them.*run the same command again/);
    assert.equal(calls().length, 1, 'no get-change after a refused change');
  });

  test('a change never in sync within the bound is reported as submitted, not confirmed', async () => {
    writeFileSync(join(bin, 'stuck'), '');
    const err = await dnsSwitch(dns, recordingLog(), { pollMs: 1, timeoutMs: 50 })(toTarget).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OperatorError);
    assert.match(
      err.message,
      /accepted pointing db\.shop\.internal at \S+ \(change \/change\/C0123\) but has not reported it in sync within 0 s \(last status: PENDING\); the switch is submitted, not confirmed/,
    );
    assert.match(err.fix, /aws route53 get-change --id \/change\/C0123.*run the same command again/);
  });

  test('configuredSwitch: the DNS name when dns is set, else the command, else the operator prompt', async () => {
    const log = recordingLog();
    await configuredSwitch({ config, log })(toTarget);
    assert.equal(calls()[0]![1], 'change-resource-record-sets');

    rmSync(join(bin, 'calls.log'));
    const marker = join(bin, 'command-ran');
    const withCommand = parseConfig(exampleConfig({ migration: { trafficSwitchCommand: ['sh', '-c', `echo "$RLM_HOST" > ${marker}`] } }));
    await configuredSwitch({ config: withCommand, log })(toTarget);
    assert.equal(readFileSync(marker, 'utf8').trim(), toTarget.endpoint.host);
    assert.equal(existsSync(join(bin, 'calls.log')), false, 'no aws call without dns');

    const prompt = recordingLog();
    await configuredSwitch({ config: parseConfig(exampleConfig()), log: prompt })(toTarget);
    assert.match(prompt.lines[0]!, /WARNING no migration.trafficSwitchCommand: point the application at target-master/);
  });
});
