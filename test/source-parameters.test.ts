import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { loadConfig, parseConfig } from '../config/load.js';
import { sourceParameterPlan, formatParameterPlan, writeTargetParameters } from '../scripts/run/source-parameters.js';
import { TargetStack } from '../stacks/index.js';
import { exampleConfig } from './helpers/config.js';

// No AWS here: a stand-in `aws` on PATH answers from files the test writes and logs its arguments.
const bin = mkdtempSync(join(tmpdir(), 'rlm-params-'));
const answer = (name: string, json: unknown) => writeFileSync(join(bin, `${name}.json`), JSON.stringify(json));
const userParameters = {
  sql_mode: 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION',
  time_zone: 'Europe/Paris',
  max_allowed_packet: '67108864',
  binlog_format: 'MIXED',
  log_bin_trust_function_creators: '1',
  character_set_server: 'utf8mb4',
};

describe("the source's user-set parameters, reproduced in target.parameters (through the aws CLI)", () => {
  const path = process.env.PATH;
  before(() => {
    writeFileSync(
      join(bin, 'aws'),
      `#!/bin/sh
echo "$@" >> "${bin}/calls.log"
case "$2" in describe-db-instances) cat "${bin}/instance.json";; describe-db-parameters) cat "${bin}/parameters.json";; *) exit 2;; esac
`,
    );
    chmodSync(join(bin, 'aws'), 0o755);
    process.env.PATH = `${bin}:${path}`;
    answer('instance', {
      DBInstances: [{ DBParameterGroups: [{ DBParameterGroupName: 'shop-prod-params', ParameterApplyStatus: 'in-sync' }] }],
    });
    answer('parameters', {
      Parameters: Object.entries(userParameters).map(([ParameterName, ParameterValue]) => ({
        ParameterName,
        ParameterValue,
        Source: 'user',
      })),
    });
  });
  after(() => {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  });

  test("asks for the source's group, then for its user-set parameters, in the migration's region", async () => {
    await sourceParameterPlan(parseConfig(exampleConfig()));
    const calls = readFileSync(join(bin, 'calls.log'), 'utf8').trim().split('\n');
    assert.match(calls[0]!, /^rds describe-db-instances --db-instance-identifier shop-prod --region eu-west-1 --output json$/);
    assert.match(
      calls[1]!,
      /^rds describe-db-parameters --db-parameter-group-name shop-prod-params --source user --region eu-west-1 --output json$/,
    );
  });

  test("copies them, never over the parameters rds-live-migrate sets or the config's own, and says which were skipped and why", async () => {
    const config = parseConfig(
      exampleConfig({ target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8', parameters: { time_zone: 'UTC' } } }),
    );
    const plan = await sourceParameterPlan(config);
    assert.deepEqual(plan.added, ['character_set_server', 'max_allowed_packet', 'sql_mode']);
    assert.deepEqual(plan.parameters, {
      time_zone: 'UTC',
      character_set_server: 'utf8mb4',
      max_allowed_packet: '67108864',
      sql_mode: 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION',
    });
    assert.deepEqual(
      plan.skipped.map((s) => [s.name, s.sourceValue]),
      [
        ['binlog_format', 'MIXED'],
        ['time_zone', 'Europe/Paris'],
      ],
    );
    assert.match(plan.skipped[0]!.reason, /set by rds-live-migrate to ROW/);
    assert.match(plan.skipped[1]!.reason, /target.parameters sets it to UTC; kept/);
    const text = formatParameterPlan(plan);
    assert.match(text, /source parameter group shop-prod-params: 3 parameter\(s\) to add/);
    assert.match(text, /\+ sql_mode = STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION/);
    assert.match(text, /skipped binlog_format = MIXED: set by rds-live-migrate/);
  });

  test('--write-parameters: the config file gets them, the target stack synthesizes them, and a second write changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlm-params-config-'));
    const file = join(dir, 'migration.config.json');
    writeFileSync(
      file,
      JSON.stringify(
        exampleConfig({
          target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8', parameters: { time_zone: 'UTC' } },
        }),
        null,
        2,
      ),
    );
    try {
      writeTargetParameters(file, await sourceParameterPlan(loadConfig(file)));
      const once = readFileSync(file, 'utf8');
      writeTargetParameters(file, await sourceParameterPlan(loadConfig(file)));
      assert.equal(readFileSync(file, 'utf8'), once);
      const config = loadConfig(file);
      assert.deepEqual(config.target.parameters, {
        time_zone: 'UTC',
        character_set_server: 'utf8mb4',
        max_allowed_packet: '67108864',
        sql_mode: 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION',
      });
      const json = JSON.parse(Testing.synth(new TargetStack(Testing.app(), config))) as {
        resource: Record<string, Record<string, { parameter: { name: string; value: string }[] }>>;
      };
      const group = Object.values(json.resource.aws_db_parameter_group!)[0]!;
      const values = Object.fromEntries(group.parameter.map((p) => [p.name, p.value]));
      assert.equal(values.sql_mode, 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION');
      assert.equal(values.binlog_format, 'ROW');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a source without a parameter group in the answer is a clear error', async () => {
    answer('instance', { DBInstances: [] });
    await assert.rejects(
      sourceParameterPlan(parseConfig(exampleConfig())),
      /aws rds describe-db-instances named no parameter group for shop-prod/,
    );
  });
});
