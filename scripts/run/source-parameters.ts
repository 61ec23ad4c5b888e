import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { MigrationConfig } from '../../config/schema.js';
import { targetOwnedParameters } from '../../stacks/engine.js';
import { awsCli } from '../support/aws-cli.js';
import { OperatorError } from '../support/errors.js';

export interface SkippedParameter {
  name: string;
  sourceValue: string;
  reason: string;
}

/** The target.parameters that reproduce the source's user-set parameters. */
export interface ParameterPlan {
  sourceGroup: string;
  /** What target.parameters should hold: the config's own entries plus the source's. */
  parameters: Record<string, string>;
  /** Source parameters target.parameters does not hold yet. */
  added: string[];
  skipped: SkippedParameter[];
}

type Aws = (args: string[]) => Promise<unknown>;

const awsJson =
  (region: string): Aws =>
  async (args) =>
    JSON.parse(await awsCli([...args, '--region', region, '--output', 'json']));

/** The source's parameter group and the parameters a user set in it (`--source user`). */
export async function readSourceParameters(
  config: MigrationConfig,
  aws: Aws = awsJson(config.region),
): Promise<{ group: string; values: Record<string, string> }> {
  const id = config.source.instanceIdentifier;
  const described = (await aws(['rds', 'describe-db-instances', '--db-instance-identifier', id])) as {
    DBInstances?: { DBParameterGroups?: { DBParameterGroupName?: string }[] }[];
  };
  const group = described.DBInstances?.[0]?.DBParameterGroups?.[0]?.DBParameterGroupName;
  if (!group) throw new Error(`aws rds describe-db-instances named no parameter group for ${id}`);
  // The CLI follows the pages itself and merges them.
  const listed = (await aws(['rds', 'describe-db-parameters', '--db-parameter-group-name', group, '--source', 'user'])) as {
    Parameters?: { ParameterName?: string; ParameterValue?: string }[];
  };
  const values: Record<string, string> = {};
  for (const p of listed.Parameters ?? [])
    if (p.ParameterName && p.ParameterValue !== undefined) values[p.ParameterName] = p.ParameterValue;
  return { group, values };
}

/** Merges the source's values into target.parameters: never over ours, never over the config's own. */
export function planTargetParameters(config: MigrationConfig, sourceGroup: string, source: Record<string, string>): ParameterPlan {
  const ours = targetOwnedParameters(config.engine, config.target.requireSecureTransport);
  const configured = config.target.parameters;
  const parameters = { ...configured };
  const added: string[] = [];
  const skipped: SkippedParameter[] = [];
  for (const [name, value] of Object.entries(source).sort(([a], [b]) => a.localeCompare(b))) {
    if (name in ours) {
      if (ours[name]!.toLowerCase() !== value.toLowerCase())
        skipped.push({
          name,
          sourceValue: value,
          reason: `set by rds-live-migrate to ${ours[name]} (replication or transport security; docs/target-settings.md)`,
        });
    } else if (name in configured) {
      if (configured[name] !== value)
        skipped.push({ name, sourceValue: value, reason: `target.parameters sets it to ${configured[name]}; kept` });
    } else {
      parameters[name] = value;
      added.push(name);
    }
  }
  return { sourceGroup, parameters, added, skipped };
}

export async function sourceParameterPlan(config: MigrationConfig, aws?: Aws): Promise<ParameterPlan> {
  const { group, values } = await readSourceParameters(config, aws);
  return planTargetParameters(config, group, values);
}

export function formatParameterPlan(plan: ParameterPlan): string {
  const lines = [`source parameter group ${plan.sourceGroup}: ${plan.added.length} parameter(s) to add to target.parameters`];
  for (const name of plan.added) lines.push(`  + ${name} = ${plan.parameters[name]}`);
  for (const s of plan.skipped) lines.push(`  skipped ${s.name} = ${s.sourceValue}: ${s.reason}`);
  if (plan.added.length) lines.push('  write them with: rds-live-migrate plan --write-parameters');
  return lines.join('\n');
}

/** Adds the planned parameters to target.parameters in the config file; running it again changes nothing. */
export function writeTargetParameters(configFile: string, plan: ParameterPlan): void {
  let raw: { target?: { parameters?: Record<string, string> } };
  try {
    raw = JSON.parse(readFileSync(configFile, 'utf8')) as typeof raw;
  } catch (err) {
    throw new OperatorError(
      `cannot rewrite ${configFile}: ${(err as Error).message}`,
      'fix the file, or add the printed parameters to target.parameters by hand',
    );
  }
  if (!raw.target)
    throw new OperatorError(`${configFile} has no "target" object`, 'add the target section (see migration.config.example.json)');
  raw.target.parameters = { ...raw.target.parameters, ...Object.fromEntries(plan.added.map((name) => [name, plan.parameters[name]!])) };
  // Whole or not at all: a config cut short by a crash would stop every later command.
  writeFileSync(`${configFile}.tmp`, `${JSON.stringify(raw, null, 2)}\n`);
  renameSync(`${configFile}.tmp`, configFile);
}
