import type { Durability } from '../../core/phases.js';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationConfig, MigrationConfigInput } from '../../../config/schema.js';
import { parseConfig } from '../../../config/load.js';
import { replicaIdentifier, SOURCE_REPLICA_STACK, TARGET_STACK } from '../../../stacks/names.js';
import { nativePasswordHash, randomPassword } from '../../support/password.js';
import { rdsShimStatements } from './rds-shims.js';
import { isAlive } from '../../support/process.js';
import { installMariadb, rootConnection, startMariadb, stopMariadb, type MariadbServerSpec } from './mariadb-server.js';
import { sandboxCertificates, tlsFiles } from './tls.js';

type SeedMethodSetting = MigrationConfig['migration']['seedMethod'];
type Infrastructure = MigrationConfig['migration']['infrastructure'];

export const SANDBOX_ROLES = ['source-master', 'source-slave', 'target-master'] as const;
export type SandboxRole = (typeof SANDBOX_ROLES)[number];

export interface SandboxState {
  dir: string;
  tls: boolean;
  /**
   * loadMode: the target runs without its binary log, as an RDS target with backups off does.
   * durability: how it flushes commits, as its parameter group says (the other servers flush lazily: a sandbox).
   */
  servers: Record<SandboxRole, { port: number; serverId: number; pid?: number; loadMode?: boolean; durability?: Durability }>;
  configFile: string;
}

export const DEFAULT_SANDBOX_DIR = 'sandbox';
export const ADMIN_USER = 'admin';

const stateFile = (dir: string) => join(dir, 'sandbox.json');
export const serverDir = (dir: string, role: SandboxRole) => join(dir, 'servers', role);
export const secretFile = (dir: string, name: string) => join(dir, 'secrets', `${name}.json`);
const outputsFileOf = (dir: string) => join(dir, 'cdktf-outputs.json');

export function readSandbox(dir: string): SandboxState | undefined {
  const file = stateFile(resolve(dir));
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SandboxState) : undefined;
}

export function serverSpec(state: SandboxState, role: SandboxRole): MariadbServerSpec {
  return {
    name: role,
    dir: serverDir(state.dir, role),
    port: state.servers[role].port,
    serverId: state.servers[role].serverId,
    binlog: !state.servers[role].loadMode,
    durability: state.servers[role].durability ?? 'relaxed',
    ...(state.tls ? { tls: tlsFiles(join(state.dir, 'tls')) } : {}),
  };
}

export function writeSandbox(state: SandboxState): void {
  writeFileSync(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`);
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** This CLI as a command line, for the sandbox's stand-ins the engine runs (e.g. `sandbox deploy`). */
export function selfCommand(...args: string[]): string[] {
  // This file runs as .ts under tsx (whose loader is in execArgv) or as compiled .js.
  const here = fileURLToPath(import.meta.url);
  const cli = join(dirname(here), '..', '..', `cli${extname(here)}`);
  return [process.execPath, ...process.execArgv, cli, ...args];
}

/**
 * Starts source-master, source-slave (replicating from it) and, for the
 * logical seed, an empty target-master, each RDS-like, and writes the config
 * and stack outputs the engine reads, exactly as `cdktf deploy --outputs-file`
 * would. With the other seed methods `run` creates the target later.
 */
export async function sandboxUp(
  dirArg = DEFAULT_SANDBOX_DIR,
  log: (m: string) => void = () => {},
  options: { seedMethod?: SeedMethodSetting; infrastructure?: Infrastructure; targetLoadMode?: boolean } = {},
): Promise<SandboxState> {
  const seedMethod = options.seedMethod ?? 'logical';
  const dir = resolve(dirArg);
  const existing = readSandbox(dir);
  if (existing && SANDBOX_ROLES.every((r) => !existing.servers[r]?.pid || isAlive(existing.servers[r].pid!))) {
    log(`sandbox already up in ${dir}`);
    return existing;
  }
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const tls = await sandboxCertificates(join(dir, 'tls'));
  const state: SandboxState = existing ?? {
    dir,
    tls: tls !== undefined,
    servers: {
      'source-master': { port: await freePort(), serverId: 1 },
      'source-slave': { port: await freePort(), serverId: 2 },
      'target-master': { port: await freePort(), serverId: 3 },
    },
    configFile: join(dir, 'migration.config.json'),
  };
  const fresh = !existing;
  // The logical seed's target starts in load mode, as the target stack declares it (migration.targetLoadMode, on by default).
  if (fresh && seedMethod === 'logical') state.servers['target-master'].loadMode = options.targetLoadMode ?? true;

  // Unless the seed is logical, the target is created later by the deploy stand-in (see deploy.ts), as the target stack would be.
  const roles = fresh
    ? SANDBOX_ROLES.filter((r) => r !== 'target-master' || seedMethod === 'logical')
    : SANDBOX_ROLES.filter((r) => existsSync(serverDir(dir, r)));
  for (const role of roles) await installMariadb(serverSpec(state, role));
  // Restarted servers may follow one another: a follower started before its leader listens waits out its
  // connect retry (60 s with RDS's procedures) before replicating again, so leaders start first.
  const pids: number[] = [];
  if (fresh) pids.push(...(await Promise.all(roles.map((role) => startMariadb(serverSpec(state, role))))));
  else for (const role of roles) pids.push(await startMariadb(serverSpec(state, role)));
  for (const [i, role] of roles.entries()) state.servers[role].pid = pids[i];
  writeSandbox(state);
  log(`started ${roles.map((r) => `${r} on 127.0.0.1:${state.servers[r].port}`).join(', ')}`);

  if (fresh) {
    // The replica is an RDS read replica: same master user and password as its source.
    const sourcePassword = randomPassword();
    writeSecret(secretFile(dir, 'source-master'), ADMIN_USER, sourcePassword);
    await installRdsShims(serverDir(dir, 'source-master'), sourcePassword);
    await installRdsShims(serverDir(dir, 'source-slave'), sourcePassword);
    if (roles.includes('target-master')) await createEmptyTarget(dir);
    await attachReplica(dir, state);
    writeConfigAndOutputs(
      state,
      await serverVersion(serverDir(dir, 'source-master')),
      seedMethod,
      options.infrastructure ?? 'auto',
      options.targetLoadMode ?? true,
    );
    log(`wrote ${state.configFile} and the stack outputs`);
  }
  return state;
}

/** An empty target-master with its own admin password, as the target stack creates it for the logical seed. */
export async function createEmptyTarget(dir: string): Promise<void> {
  const password = randomPassword();
  writeSecret(secretFile(dir, 'target-master'), ADMIN_USER, password);
  await installRdsShims(serverDir(dir, 'target-master'), password);
}

export function writeSecret(file: string, username: string, password: string): void {
  writeFileSync(file, JSON.stringify({ username, password }), { mode: 0o600 });
  chmodSync(file, 0o600);
}

export async function installRdsShims(dir: string, adminPassword: string): Promise<void> {
  const c = await rootConnection(dir);
  try {
    await c.query('SET SESSION sql_log_bin = 0');
    for (const sql of rdsShimStatements({ user: ADMIN_USER, passwordHash: nativePasswordHash(adminPassword) })) await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function serverVersion(dir: string): Promise<string> {
  const c = await rootConnection(dir);
  try {
    const [rows] = await c.query('SELECT VERSION() AS v');
    return String((rows as { v: string }[])[0]!.v).split('-')[0]!;
  } finally {
    await c.end();
  }
}

/** Makes source-slave a replica of source-master from its current position, as RDS does for a read replica. */
async function attachReplica(dir: string, state: SandboxState): Promise<void> {
  const source = await rootConnection(serverDir(dir, 'source-master'));
  const replica = await rootConnection(serverDir(dir, 'source-slave'));
  try {
    const password = randomPassword();
    await source.query('SET SESSION sql_log_bin = 0');
    await source.query(`CREATE USER IF NOT EXISTS 'rdsrepladmin'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash(password)}'`);
    await source.query("GRANT REPLICATION SLAVE ON *.* TO 'rdsrepladmin'@'%'");
    const [rows] = await source.query('SHOW MASTER STATUS');
    const { File, Position } = (rows as { File: string; Position: number }[])[0]!;
    await replica.query(
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?, MASTER_USE_GTID = no',
      ['127.0.0.1', state.servers['source-master'].port, 'rdsrepladmin', password, File, Position],
    );
    await replica.query('START SLAVE');
  } finally {
    await source.end();
    await replica.end();
  }
}

function writeConfigAndOutputs(
  state: SandboxState,
  engineVersion: string,
  seedMethod: SeedMethodSetting,
  infrastructure: Infrastructure,
  targetLoadMode: boolean,
): void {
  const { dir } = state;
  const config: MigrationConfigInput = {
    region: 'eu-west-1',
    engine: 'mariadb',
    source: { instanceIdentifier: 'sandbox-source', masterUsername: ADMIN_USER, passwordFrom: `file:${secretFile(dir, 'source-master')}` },
    target: { instanceIdentifier: 'sandbox-target', engineVersion },
    binlogRetentionHours: 24,
    tags: { sandbox: 'true' },
    state: { backend: 'local', dir: join(dir, 'terraform-state') },
    migration: {
      workDir: join(dir, 'work'),
      outputsFile: outputsFileOf(dir),
      requireTls: state.tls,
      ...(state.tls ? { tlsCaFile: tlsFiles(join(dir, 'tls')).ca } : {}),
      seedMethod,
      infrastructure,
      targetLoadMode,
      deployCommand: selfCommand('sandbox', 'deploy', '--dir', dir),
      // There is no AWS behind the sandbox to ask about the replica and the key.
      awsChecks: false,
    },
  };
  writeFileSync(state.configFile, `${JSON.stringify(config, null, 2)}\n`);
  writeOutputs(dir, {
    [SOURCE_REPLICA_STACK]: {
      replica_identifier: replicaIdentifier(parseConfig(config)),
      replica_address: '127.0.0.1',
      replica_port: state.servers['source-slave'].port,
      ...sourceOutputs(state),
    },
    ...(seedMethod === 'logical' ? { [TARGET_STACK]: targetStackOutputs(state) } : {}),
  });
}

type StackOutputValues = Record<string, string | number>;

/** The outputs file as `cdktf deploy --outputs-file` writes it: stack name → output name → value. */
export function readOutputs(dir: string): Record<string, StackOutputValues | undefined> {
  const file = outputsFileOf(dir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, StackOutputValues>) : {};
}

export function writeOutputs(dir: string, outputs: Record<string, StackOutputValues | undefined>): void {
  writeFileSync(outputsFileOf(dir), `${JSON.stringify(outputs, null, 2)}\n`);
}

/** Both stacks export the source endpoint. */
function sourceOutputs(state: SandboxState): StackOutputValues {
  return { source_address: '127.0.0.1', source_port: state.servers['source-master'].port };
}

/** What `cdktf deploy target --outputs-file` writes for the target stack. */
export function targetStackOutputs(state: SandboxState): StackOutputValues {
  return {
    target_identifier: 'sandbox-target',
    target_address: '127.0.0.1',
    target_port: state.servers['target-master'].port,
    master_secret_arn: `file:${secretFile(state.dir, 'target-master')}`,
    kms_key_arn: 'sandbox: no KMS here; the target is a local stand-in',
    target_load_mode: state.servers['target-master'].loadMode ? 'on' : 'off',
    target_durability: state.servers['target-master'].durability ?? 'relaxed',
    ...sourceOutputs(state),
  };
}

/** What a deploy that no longer declares the replica does: source-slave stopped and removed, its outputs gone (the stack's source outputs stay). */
export async function destroyReplica(dirArg = DEFAULT_SANDBOX_DIR): Promise<void> {
  const dir = resolve(dirArg);
  await stopMariadb(serverDir(dir, 'source-slave'));
  rmSync(serverDir(dir, 'source-slave'), { recursive: true, force: true });
  if (existsSync(outputsFileOf(dir))) {
    const outputs = readOutputs(dir);
    const { replica_identifier: _id, replica_address: _address, replica_port: _port, ...rest } = outputs[SOURCE_REPLICA_STACK] ?? {};
    writeOutputs(dir, { ...outputs, [SOURCE_REPLICA_STACK]: rest });
  }
}

export async function sandboxDown(dirArg = DEFAULT_SANDBOX_DIR, options: { keepData?: boolean } = {}): Promise<void> {
  const dir = resolve(dirArg);
  await Promise.all(SANDBOX_ROLES.map((role) => stopMariadb(serverDir(dir, role))));
  if (!options.keepData) rmSync(dir, { recursive: true, force: true });
}
