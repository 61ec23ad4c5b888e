import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { migrationConfigSchema, type MigrationConfig } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'migration.config.json';
export const CONFIG_PATH_ENV = 'RDS_LIVE_MIGRATE_CONFIG';

/** A config that cannot be used; the message lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file}: ${problems.length === 1 ? 'a problem' : `${problems.length} problems`} in the migration config:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export function configPath(explicit?: string): string {
  return resolve(explicit ?? process.env[CONFIG_PATH_ENV] ?? DEFAULT_CONFIG_PATH);
}

export function loadConfig(explicit?: string): MigrationConfig {
  const file = configPath(explicit);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [
      `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}); write one from migration.config.example.json or pass --config PATH (or set ${CONFIG_PATH_ENV})`,
    ]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  return resolvePaths(parseConfig(raw, file), dirname(file));
}

/** Paths in a config file are relative to that file, so a CI job finds the same files from any working directory. */
export function resolvePaths(config: MigrationConfig, base: string): MigrationConfig {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const m = config.migration;
  return {
    ...config,
    state: config.state.backend === 'local' ? { ...config.state, dir: at(config.state.dir) } : config.state,
    migration: {
      ...m,
      workDir: at(m.workDir),
      outputsFile: at(m.outputsFile),
      ...(m.hooksPath ? { hooksPath: at(m.hooksPath) } : {}),
      ...(m.tlsCaFile ? { tlsCaFile: at(m.tlsCaFile) } : {}),
    },
  };
}

/** The migration's name: in state keys, locks and the journal. */
export function migrationNameOf(config: MigrationConfig): string {
  return config.name ?? config.target.instanceIdentifier.toLowerCase();
}

export function parseConfig(raw: unknown, file = '<config>'): MigrationConfig {
  const result = migrationConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    file,
    result.error.issues.map((issue) => describeIssue(issue, raw)),
  );
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const field = issue.path.length ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(issue.path);
    return issue.keys
      .map((key) => {
        const guess = closest(key, known);
        const where = issue.path.length ? `${field}.${key}` : key;
        return `field ${where}: unknown field${guess ? `; did you mean ${guess}?` : ''} (expected one of: ${known.join(', ')})`;
      })
      .join('\n  - ');
  }
  const expected = issue.message.replace(/^Invalid (input|option): /, '');
  const value = valueAt(raw, issue.path);
  if (value === undefined) return `field ${field}: missing; ${expected}`;
  // A bad secret reference is often the secret itself pasted in: never echo it.
  if (issue.path.at(-1) === 'passwordFrom')
    return `field ${field}: not a secret reference (value not shown, it may be a password); ${expected}`;
  return `field ${field}: got ${JSON.stringify(value)}; ${expected}`;
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function knownKeysAt(path: PropertyKey[]): string[] {
  // Walk the schema's shape along the path so the hint lists the real field names.
  let shape: Record<string, unknown> | undefined = migrationConfigSchema.shape;
  for (const key of path) {
    let node = shape?.[String(key)] as { def?: { innerType?: unknown; type?: string }; shape?: Record<string, unknown> } | undefined;
    while (node && !node.shape && node.def?.innerType) node = node.def.innerType as typeof node;
    shape = node?.shape;
  }
  return Object.keys(shape ?? {});
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
