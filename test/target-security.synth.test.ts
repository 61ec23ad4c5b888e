import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Testing } from 'cdktf';
import { parseConfig } from '../config/load.js';
import { TargetStack } from '../stacks/index.js';
import { exampleConfig } from './helpers/config.js';

type Resources = Record<string, Record<string, Record<string, unknown>>>;
type Synth = { resource: Resources; data: Resources };

const synth = (overrides = {}): Synth =>
  JSON.parse(Testing.synth(new TargetStack(Testing.app(), parseConfig(exampleConfig(overrides))))) as Synth;
const ofType = (json: Synth, type: string) => Object.entries(json.resource[type] ?? {});
const byName = (json: Synth, type: string, part: string) => ofType(json, type).find(([k]) => k.includes(part))?.[1];

test('the two replication rules differ, and neither lets a group reach itself', () => {
  const rules = ofType(synth(), 'aws_vpc_security_group_ingress_rule').map(([, r]) => r);
  assert.equal(rules.length, 2);
  const [a, b] = rules as [Record<string, unknown>, Record<string, unknown>];
  assert.notDeepEqual([a.security_group_id, a.referenced_security_group_id], [b.security_group_id, b.referenced_security_group_id]);
  for (const rule of rules)
    assert.notEqual(rule.security_group_id, rule.referenced_security_group_id, `self-referencing rule: ${JSON.stringify(rule)}`);
});

test("the target gets its own security group in the VPC of its subnet group, and joins the source's groups too", () => {
  const json = synth();
  const [[groupName, group]] = ofType(json, 'aws_security_group') as [[string, Record<string, unknown>]];
  const subnetGroup = Object.entries(json.data.aws_db_subnet_group!)[0]!;
  assert.equal(group.vpc_id, `\${data.aws_db_subnet_group.${subnetGroup[0]}.vpc_id}`);
  assert.match(String(subnetGroup[1].name), /data\.aws_db_instance\.source_source-master_\w+\.db_subnet_group/);
  const db = Object.values(json.resource.aws_db_instance!)[0]!;
  assert.match(
    String(db.vpc_security_group_ids),
    new RegExp(`^\\$\\{concat\\(\\[aws_security_group\\.${groupName}\\.id\\], data\\.aws_db_instance\\.\\S+\\.vpc_security_groups\\)\\}$`),
  );
  const forward = byName(json, 'aws_vpc_security_group_ingress_rule', 'target-to-source')!;
  const reverse = byName(json, 'aws_vpc_security_group_ingress_rule', 'source-to-target')!;
  assert.equal(forward.referenced_security_group_id, `\${aws_security_group.${groupName}.id}`);
  assert.equal(reverse.security_group_id, `\${aws_security_group.${groupName}.id}`);
  const egress = byName(json, 'aws_vpc_security_group_egress_rule', 'target-out-to-source')!;
  assert.equal(egress.security_group_id, reverse.security_group_id);
  assert.equal(egress.referenced_security_group_id, forward.security_group_id);
});

test('network.vpcId places the group without looking up the subnet group; a malformed one is refused', () => {
  const json = synth({ network: { vpcId: 'vpc-0123456789abcdef0' } });
  assert.equal(ofType(json, 'aws_security_group')[0]![1].vpc_id, 'vpc-0123456789abcdef0');
  assert.equal(json.data.aws_db_subnet_group, undefined);
  assert.throws(
    () => parseConfig(exampleConfig({ network: { vpcId: 'vpc-zz' } })),
    /network\.vpcId.*expected a VPC id like vpc-0123456789abcdef0/s,
  );
});

type Statement = {
  Sid: string;
  Principal: { AWS: string | string[] };
  Action: string[];
  Condition?: { StringEquals: Record<string, unknown> };
};

// The policy is a Terraform jsonencode(...) expression; turn its HCL object syntax back into JSON to read it.
function keyPolicy(json: Synth): { Statement: Statement[] } {
  const expr = String(Object.values(json.resource.aws_kms_key!)[0]!.policy);
  const hcl = expr
    .replace(/^\$\{jsonencode\((.*)\)\}$/s, '$1')
    .replace(/" = /g, '": ')
    .replace(/: (data\.[\w.-]+)/g, ': "$1"');
  return JSON.parse(hcl) as { Statement: Statement[] };
}

test('the key has its own policy: administrators manage it, only RDS and Secrets Manager of this account use it', () => {
  const { Statement } = keyPolicy(synth());
  const admins = Statement.find((s) => s.Sid === 'KeyAdministrators')!;
  assert.deepEqual(admins.Principal.AWS, [
    'arn:${data.aws_partition.target_partition_4ED297DF.partition}:iam::${data.aws_caller_identity.target_account_752C2CC3.account_id}:root',
  ]);
  assert.ok(!admins.Action.some((a) => /Decrypt|Encrypt|GenerateDataKey/.test(a)), 'administrators do not use the key');
  const use = Statement.find((s) => s.Sid === 'UseThroughRdsOnly')!;
  assert.deepEqual(use.Principal.AWS, '*');
  assert.ok(use.Action.includes('kms:Decrypt') && use.Action.includes('kms:CreateGrant'));
  assert.match(String(use.Condition!.StringEquals['kms:CallerAccount']), /data\.aws_caller_identity\.\S+\.account_id/);
  assert.deepEqual(use.Condition!.StringEquals['kms:ViaService'], [
    'rds.${data.aws_region.target_region_D5EC69E0.region}.amazonaws.com',
    'secretsmanager.${data.aws_region.target_region_D5EC69E0.region}.amazonaws.com',
  ]);
});

test('configured key administrators replace the account root', () => {
  const role = 'arn:aws:iam::123456789012:role/dba';
  const { Statement } = keyPolicy(
    synth({ target: { instanceIdentifier: 'shop-prod-encrypted', engineVersion: '10.11.8', keyAdminArns: [role] } }),
  );
  assert.deepEqual(Statement.find((s) => s.Sid === 'KeyAdministrators')!.Principal.AWS, [role]);
  assert.throws(
    () => parseConfig(exampleConfig({ target: { instanceIdentifier: 't1', engineVersion: '10.11.8', keyAdminArns: ['dba'] } })),
    /keyAdminArns.*expected an IAM role, user or root ARN/s,
  );
});

const parameters = (json: Synth) =>
  Object.fromEntries(
    (Object.values(json.resource.aws_db_parameter_group!)[0]!.parameter as { name: string; value: string }[]).map((p) => [p.name, p.value]),
  );

test('the target requires secure transport (ON on MariaDB, 1 on MySQL), and target.parameters cannot turn it off', () => {
  assert.equal(parameters(synth()).require_secure_transport, 'ON');
  assert.equal(
    parameters(synth({ engine: 'mysql', target: { instanceIdentifier: 't1', engineVersion: '8.0.39' } })).require_secure_transport,
    '1',
  );
  assert.throws(
    () => synth({ target: { instanceIdentifier: 't1', engineVersion: '10.11.8', parameters: { require_secure_transport: 'OFF' } } }),
    /parameters require_secure_transport are set by rds-live-migrate .* remove them from target.parameters/,
  );
  assert.equal(
    parameters(synth({ target: { instanceIdentifier: 't1', engineVersion: '10.11.8', requireSecureTransport: false } }))
      .require_secure_transport,
    undefined,
  );
});
