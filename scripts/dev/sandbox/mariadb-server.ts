import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';
import mysql from 'mysql2/promise';
import { DURABILITY, replicationParameters } from '../../../stacks/engine.js';
import { OperatorError } from '../../support/errors.js';
import { isAlive } from '../../support/process.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface MariadbServerSpec {
  name: string;
  dir: string;
  port: number;
  serverId: number;
  /** PEM files for TLS; the server offers TLS when given. */
  tls?: { ca: string; cert: string; key: string };
  /** Do not resume replication settings found in the data directory (a copy of a replica's). */
  skipSlaveStart?: boolean;
  /** Without a binary log: the sandbox's form of RDS load mode (backups off, hence no binlog). @default true */
  binlog?: boolean;
  /** A replica started from a physical copy of its source: its copied events must not run. */
  replicaCopy?: boolean;
  /** strict: every commit flushed (RDS's default); relaxed: once a second. @default relaxed */
  durability?: 'strict' | 'relaxed';
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/usr/bin'];

export function findBinary(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...SBIN]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function requireMariadb(): { mariadbd: string; installDb: string } {
  const mariadbd = findBinary('mariadbd');
  const installDb = findBinary('mariadb-install-db');
  const client = findBinary('mariadb-dump');
  if (!mariadbd || !installDb || !client) {
    throw new OperatorError(
      'the local sandbox needs MariaDB (mariadbd, mariadb-install-db, mariadb-dump) and they are not installed',
      'run: sudo apt-get update && sudo apt-get install -y mariadb-server mariadb-client  (or: bash scripts/setup-machine.sh)',
      'missing-mariadb',
    );
  }
  return { mariadbd, installDb };
}

export function socketPath(dir: string): string {
  return join(dir, 'mysqld.sock');
}

/** Each server's own temporary directory: servers sharing /tmp have failed on each other's temporary tables. */
function tmpDir(spec: MariadbServerSpec): string {
  const dir = join(spec.dir, 'tmp');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Creates the data directory once, as a copy of a freshly installed one. */
export async function installMariadb(spec: MariadbServerSpec): Promise<void> {
  const data = join(spec.dir, 'data');
  if (existsSync(join(data, 'mysql'))) return;
  mkdirSync(spec.dir, { recursive: true });
  cpSync(await installedTemplate(spec), data, { recursive: true });
}

/**
 * A data directory as mariadb-install-db leaves it, made once per MariaDB build: installing takes seconds,
 * copying a fraction of one, and every sandbox server starts from the same empty install.
 */
async function installedTemplate(spec: MariadbServerSpec): Promise<string> {
  const { mariadbd, installDb } = requireMariadb();
  const template = join(tmpdir(), `rlm-mariadb-install-${Math.trunc(statSync(mariadbd).mtimeMs)}-${statSync(mariadbd).size}`);
  if (existsSync(join(template, 'mysql'))) return template;
  const work = mkdtempSync(`${template}.`);
  const data = join(work, 'data');
  try {
    await execa(
      installDb,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--tmpdir=${work}`,
        '--auth-root-authentication-method=socket',
        '--skip-test-db',
        '--user=root',
      ],
      {
        stdout: 'ignore',
        stderr: 'pipe',
      },
    );
    // Renamed whole into place, so a concurrent sandbox sees either no template or a complete one.
    try {
      renameSync(data, template);
    } catch (err) {
      if (!existsSync(join(template, 'mysql'))) throw err;
    }
    return template;
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message)
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n');
    throw new OperatorError(
      `sandbox ${spec.name}: mariadb-install-db failed in ${data}:\n${stderr}`,
      'check free disk space and that the directory is writable, then run again',
      'sandbox',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Starts a throw-away mariadbd bound to 127.0.0.1; root connects through the socket only. */
export async function startMariadb(spec: MariadbServerSpec): Promise<number> {
  const { mariadbd } = requireMariadb();
  const data = join(spec.dir, 'data');
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--tmpdir=${tmpDir(spec)}`,
    `--port=${spec.port}`,
    '--bind-address=127.0.0.1',
    `--socket=${socketPath(spec.dir)}`,
    `--pid-file=${join(spec.dir, 'mysqld.pid')}`,
    `--log-error=${join(spec.dir, 'error.log')}`,
    `--server-id=${spec.serverId}`,
    ...(spec.binlog === false ? [] : [`--log-bin=${join(data, 'binlog')}`, '--log-slave-updates']),
    `--relay-log=${join(data, 'relay')}`,
    '--binlog-format=ROW',
    // A replica made from a copy of its source holds the source's events ENABLED: like RDS's read-only replica, it must not run them.
    `--event-scheduler=${spec.replicaCopy ? 'OFF' : 'ON'}`,
    '--log-bin-trust-function-creators=1',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=256M',
    '--innodb-log-file-size=256M',
    ...durabilityArgs(spec.durability ?? 'relaxed'),
    '--max-allowed-packet=256M',
    '--max-connections=300',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    '--user=root',
    ...(spec.skipSlaveStart ? ['--skip-slave-start'] : []),
    ...(spec.name === 'target-master' ? targetApplyArgs() : []),
    ...(spec.tls ? [`--ssl-ca=${spec.tls.ca}`, `--ssl-cert=${spec.tls.cert}`, `--ssl-key=${spec.tls.key}`] : []),
  ];
  const child = spawn(mariadbd, args, { detached: true, stdio: 'ignore' });
  child.unref();
  await waitUntilUp(spec, child.pid!);
  return child.pid!;
}

function durabilityArgs(durability: 'strict' | 'relaxed'): string[] {
  return Object.entries(DURABILITY).map(([name, values]) => `--${name.replaceAll('_', '-')}=${values[durability]}`);
}

/** The target's parallel apply settings, as its RDS parameter group sets them. */
function targetApplyArgs(): string[] {
  const p = replicationParameters('mariadb');
  return [`--slave-parallel-threads=${p.slave_parallel_threads}`, `--slave-parallel-mode=${p.slave_parallel_mode}`];
}

async function waitUntilUp(spec: MariadbServerSpec, pid: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const c = await mysql.createConnection({ socketPath: socketPath(spec.dir), user: 'root' });
      await c.end();
      return;
    } catch {
      if (!isAlive(pid)) break;
      await delay(100);
    }
  }
  const log = existsSync(join(spec.dir, 'error.log'))
    ? readFileSync(join(spec.dir, 'error.log'), 'utf8').split('\n').slice(-15).join('\n')
    : '';
  throw new OperatorError(
    `sandbox ${spec.name}: mariadbd did not start on port ${spec.port}\n${log}`,
    'see the error log above; a port in use or a full disk are the usual causes',
    'sandbox',
  );
}

export async function stopMariadb(dir: string): Promise<void> {
  const pidFile = join(dir, 'mysqld.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid || !isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (isAlive(pid) && Date.now() < deadline) await delay(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** A root connection through the server's socket, for sandbox setup only. */
export async function rootConnection(dir: string) {
  return mysql.createConnection({ socketPath: socketPath(dir), user: 'root', multipleStatements: true });
}
