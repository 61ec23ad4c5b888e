import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { loadConfig } from '../../../config/load.js';
import { DURABILITY } from '../../../stacks/engine.js';
import { replicaIdentifier, SOURCE_REPLICA_STACK, TARGET_STACK } from '../../../stacks/names.js';
import type { FrozenPosition } from '../../core/journal-format.js';
import { readMigrationState } from '../../core/migration-state.js';
import { declaredInfrastructure } from '../../core/phases.js';
import { OperatorError } from '../../support/errors.js';
import { nativePasswordHash, randomPassword } from '../../support/password.js';
import { isAlive } from '../../support/process.js';
import { installMariadb, rootConnection, socketPath, startMariadb, stopMariadb } from './mariadb-server.js';
import {
  ADMIN_USER,
  createEmptyTarget,
  destroyReplica,
  readOutputs,
  readSandbox,
  secretFile,
  serverDir,
  serverSpec,
  targetStackOutputs,
  writeOutputs,
  writeSandbox,
  writeSecret,
  type SandboxState,
} from './sandbox.js';

/**
 * The sandbox's stand-in for `cdktf deploy source-replica target`. It builds
 * the app's view of the phase (scripts/core/phases.ts: what is declared now)
 * and makes the sandbox match it, as Terraform would:
 * - a replica no longer declared is stopped and removed;
 * - a declared target that does not exist is created: empty, or a physical copy
 *   of the frozen source-slave (mariadb-backup --backup/--prepare) started as
 *   target-master, where RDS would snapshot the replica, copy the snapshot with
 *   the target's KMS key and restore from it. There is no KMS here: the copy is
 *   not encrypted; only the order of events and the position are the same. Like
 *   a restore with a managed master password, the admin user gets a new password;
 * - snapshots no longer declared leave the outputs.
 * A second run with everything in place changes nothing.
 */
export async function sandboxDeploy(dirArg: string, log: (m: string) => void = () => {}): Promise<{ changed: string[] }> {
  const dir = resolve(dirArg);
  const state = readSandbox(dir);
  if (!state) throw new OperatorError(`no sandbox in ${dir}`, 'run: rds-live-migrate sandbox up', 'sandbox');
  const config = loadConfig(state.configFile);
  const declared = declaredInfrastructure(readMigrationState(config));
  const changed: string[] = [];
  const outputs = readOutputs(dir);

  const existing = outputs[SOURCE_REPLICA_STACK]?.replica_identifier;
  const wanted = replicaIdentifier(config, declared.replicaGeneration);
  if (existing !== undefined && (!declared.replica || existing !== wanted)) {
    await destroyReplica(dir);
    changed.push(`replica ${existing} destroyed`);
  }
  if (declared.replica && existing !== wanted) {
    await createReplica(state, wanted, log);
    changed.push(`replica ${wanted} created`);
  }

  const target = declared.target;
  const pid = state.servers['target-master'].pid;
  if (target.kind !== 'deferred' && !(readOutputs(dir)[TARGET_STACK] && pid && isAlive(pid))) {
    // A deploy that died half-way left no outputs; start it over, as Terraform would replace a tainted instance.
    const targetDir = serverDir(dir, 'target-master');
    rmSync(targetDir, { recursive: true, force: true });
    state.servers['target-master'].durability = declared.targetDurability;
    const spec = serverSpec(state, 'target-master');
    if (target.kind === 'empty') {
      await installMariadb(spec);
      state.servers['target-master'].pid = await startMariadb(spec);
      await createEmptyTarget(dir);
    } else {
      await physicalCopyOfFrozenReplica(state, join(targetDir, 'data'), target.frozen, log);
      state.servers['target-master'].pid = await startMariadb({ ...spec, skipSlaveStart: true });
      await setManagedMasterPassword(dir);
    }
    writeSandbox(state);
    changed.push(
      `target created (${target.kind === 'empty' ? 'empty' : `restored from a physical copy of the frozen replica at ${target.frozen.executed.file}:${target.frozen.executed.pos}`})`,
    );
  }
  if (target.kind === 'empty' && (state.servers['target-master'].loadMode ?? false) !== target.loadMode) {
    // RDS restarts the instance when backup retention goes between 0 and more; here: a restart with or without the binlog.
    await stopMariadb(serverDir(dir, 'target-master'));
    state.servers['target-master'].loadMode = target.loadMode;
    state.servers['target-master'].pid = await startMariadb(serverSpec(state, 'target-master'));
    writeSandbox(state);
    changed.push(
      target.loadMode
        ? 'target switched to load mode (no binary log)'
        : 'target switched to its production settings (backups, hence the binary log, on)',
    );
  }
  if (target.kind !== 'deferred' && (state.servers['target-master'].durability ?? 'relaxed') !== declared.targetDurability) {
    // Dynamic parameters on RDS: applied at once, no restart.
    const root = await rootConnection(serverDir(dir, 'target-master'));
    try {
      for (const [name, values] of Object.entries(DURABILITY))
        await root.query(`SET GLOBAL ${name} = ${Number(values[declared.targetDurability])}`);
    } finally {
      await root.end();
    }
    state.servers['target-master'].durability = declared.targetDurability;
    writeSandbox(state);
    changed.push(`target durability ${declared.targetDurability}`);
  }
  if (target.kind !== 'deferred') {
    const now = readOutputs(dir);
    const snapshot: Record<string, string> =
      target.kind === 'restore' && target.snapshots
        ? { frozen_snapshot_identifier: `sandbox-target-encrypted-${target.frozen.executed.file}-${target.frozen.executed.pos}` }
        : {};
    const next = { ...targetStackOutputs(state), ...snapshot };
    if (JSON.stringify(now[TARGET_STACK]) !== JSON.stringify(next)) {
      if (now[TARGET_STACK]?.frozen_snapshot_identifier !== undefined && snapshot.frozen_snapshot_identifier === undefined)
        changed.push('snapshots deleted');
      writeOutputs(dir, { ...now, [TARGET_STACK]: next });
    }
  }
  log(changed.length ? `sandbox deploy: ${changed.join('; ')}` : 'sandbox deploy: no changes');
  return { changed };
}

/**
 * A new read replica, as RDS makes one: a copy of source-master's storage
 * (mariadb-backup) started as source-slave and following the source from the
 * copy's binlog position. It has the source's users and shims, as an RDS
 * replica has its source's master user.
 */
async function createReplica(state: SandboxState, identifier: string, log: (m: string) => void): Promise<void> {
  const replicaDir = serverDir(state.dir, 'source-slave');
  const data = join(replicaDir, 'data');
  const work = `${data}.copying`;
  rmSync(replicaDir, { recursive: true, force: true });
  mkdirSync(replicaDir, { recursive: true });
  log(`creating the read replica ${identifier}: a physical copy of source-master`);
  await backupAndPrepare(socketPath(serverDir(state.dir, 'source-master')), work, []);
  const [file, pos] = readFileSync(join(work, 'xtrabackup_binlog_info'), 'utf8').trim().split(/\s+/);
  for (const f of readdirSync(work)) {
    if (/^(master|relay-log|multi-master)\.info$|^relay\.|^binlog\./.test(f)) rmSync(join(work, f), { force: true });
  }
  renameSync(work, data);
  const spec = serverSpec(state, 'source-slave');
  state.servers['source-slave'].pid = await startMariadb({ ...spec, skipSlaveStart: true, replicaCopy: true });
  writeSandbox(state);
  const source = await rootConnection(serverDir(state.dir, 'source-master'));
  const replica = await rootConnection(replicaDir);
  try {
    const password = randomPassword();
    await source.query('SET SESSION sql_log_bin = 0');
    await source.query(`ALTER USER 'rdsrepladmin'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash(password)}'`);
    await replica.query(
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?, MASTER_USE_GTID = no',
      ['127.0.0.1', state.servers['source-master'].port, 'rdsrepladmin', password, file, Number(pos)],
    );
    await replica.query('START SLAVE');
  } finally {
    await source.end();
    await replica.end();
  }
  const outputs = readOutputs(state.dir);
  writeOutputs(state.dir, {
    ...outputs,
    [SOURCE_REPLICA_STACK]: {
      ...outputs[SOURCE_REPLICA_STACK],
      replica_identifier: identifier,
      replica_address: '127.0.0.1',
      replica_port: state.servers['source-slave'].port,
    },
  });
}

/** mariadb-backup --backup then --prepare into `work`; the failure says what to check. */
async function backupAndPrepare(socket: string, work: string, extra: string[]): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(dirname(work), { recursive: true });
  try {
    await execa('mariadb-backup', ['--backup', `--target-dir=${work}`, `--socket=${socket}`, '--user=root', '--parallel=2', ...extra], {
      all: true,
    });
    await execa('mariadb-backup', ['--prepare', `--target-dir=${work}`], { all: true });
  } catch (err) {
    const out = String((err as { all?: string }).all ?? '')
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n');
    throw new OperatorError(
      `sandbox: the physical copy through ${socket} failed:\n${out}`,
      'check that mariadb-backup is installed (bash scripts/setup-machine.sh) and that the server is running',
      'sandbox',
    );
  }
}

async function physicalCopyOfFrozenReplica(
  state: SandboxState,
  dataDir: string,
  frozen: FrozenPosition,
  log: (m: string) => void,
): Promise<void> {
  const work = `${dataDir}.copying`;
  log(`copying the frozen source-slave physically (mariadb-backup), the stand-in for snapshot, encrypted copy and restore`);
  await backupAndPrepare(socketPath(serverDir(state.dir, 'source-slave')), work, ['--slave-info']);
  // The copy must be at the frozen position, as a snapshot of the frozen replica is; a moving replica would not be.
  // MariaDB 10.11 names the file xtrabackup_slave_info; later versions mariadb_backup_slave_info.
  const infoFile = ['mariadb_backup_slave_info', 'xtrabackup_slave_info'].map((f) => join(work, f)).find((f) => existsSync(f));
  const slaveInfo = infoFile ? readFileSync(infoFile, 'utf8') : '(no slave info file)';
  const expected = `MASTER_LOG_FILE='${frozen.executed.file}', MASTER_LOG_POS=${frozen.executed.pos}`;
  if (!slaveInfo.includes(expected)) {
    throw new OperatorError(
      `sandbox: the copy of source-slave is not at the frozen position (${expected}); mariadb-backup recorded: ${slaveInfo.trim()}`,
      'the replica moved after the freeze; start the migration over',
      'sandbox',
    );
  }
  // RDS starts a restored instance with fresh binlogs and no replication of its own; so does this copy.
  for (const f of readdirSync(work)) {
    if (/^(master|relay-log|multi-master)\.info$|^relay\.|^binlog\./.test(f)) rmSync(join(work, f), { force: true });
  }
  renameSync(work, dataDir);
}

/** RDS sets the managed master password on the restored instance; the copy's admin still has the source's. */
async function setManagedMasterPassword(dir: string): Promise<void> {
  const password = randomPassword();
  const c = await rootConnection(serverDir(dir, 'target-master'));
  try {
    await c.query('SET SESSION sql_log_bin = 0');
    await c.query(`ALTER USER '${ADMIN_USER}'@'%' IDENTIFIED BY PASSWORD '${nativePasswordHash(password)}'`);
  } finally {
    await c.end();
  }
  writeSecret(secretFile(dir, 'target-master'), ADMIN_USER, password);
}
