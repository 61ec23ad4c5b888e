import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { loadConfig } from '../../config/load.js';
import { SOURCE_REPLICA_STACK, TARGET_STACK } from '../../stacks/index.js';
import type { FrozenPosition } from '../core/journal-format.js';
import { readMigrationState } from '../core/migration-state.js';
import { declaredInfrastructure } from '../core/phases.js';
import { OperatorError } from '../support/errors.js';
import { nativePasswordHash, randomPassword } from '../support/password.js';
import { isAlive } from '../support/process.js';
import { installMariadb, rootConnection, socketPath, startMariadb } from './mariadb-server.js';
import { ADMIN_USER, createEmptyTarget, destroyReplica, readOutputs, readSandbox, secretFile, serverDir, serverSpec, targetStackOutputs, writeOutputs, writeSandbox, writeSecret, type SandboxState } from './sandbox.js';

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

  if (!declared.replica && outputs[SOURCE_REPLICA_STACK]?.replica_address !== undefined) {
    await destroyReplica(dir);
    changed.push('replica destroyed');
  }
  if (declared.replica && outputs[SOURCE_REPLICA_STACK]?.replica_address === undefined) {
    throw new OperatorError('sandbox: the phase declares a replica again, and the sandbox cannot create one after `sandbox up`', 'start the sandbox over', 'sandbox');
  }

  const target = declared.target;
  const pid = state.servers['target-master'].pid;
  if (target.kind !== 'deferred' && !(readOutputs(dir)[TARGET_STACK] && pid && isAlive(pid))) {
    // A deploy that died half-way left no outputs; start it over, as Terraform would replace a tainted instance.
    const targetDir = serverDir(dir, 'target-master');
    rmSync(targetDir, { recursive: true, force: true });
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
    changed.push(`target created (${target.kind === 'empty' ? 'empty' : `restored from a physical copy of the frozen replica at ${target.frozen.executed.file}:${target.frozen.executed.pos}`})`);
  }
  if (target.kind !== 'deferred') {
    const now = readOutputs(dir);
    const snapshot: Record<string, string> = target.kind === 'restore' && target.snapshots ? { frozen_snapshot_identifier: `sandbox-target-encrypted-${target.frozen.executed.file}-${target.frozen.executed.pos}` } : {};
    const next = { ...targetStackOutputs(state), ...snapshot };
    if (JSON.stringify(now[TARGET_STACK]) !== JSON.stringify(next)) {
      if (now[TARGET_STACK]?.frozen_snapshot_identifier !== undefined && snapshot.frozen_snapshot_identifier === undefined) changed.push('snapshots deleted');
      writeOutputs(dir, { ...now, [TARGET_STACK]: next });
    }
  }
  log(changed.length ? `sandbox deploy: ${changed.join('; ')}` : 'sandbox deploy: no changes');
  return { changed };
}

async function physicalCopyOfFrozenReplica(state: SandboxState, dataDir: string, frozen: FrozenPosition, log: (m: string) => void): Promise<void> {
  const work = `${dataDir}.copying`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(dirname(work), { recursive: true });
  log(`copying the frozen source-slave physically (mariadb-backup), the stand-in for snapshot, encrypted copy and restore`);
  const replicaSocket = socketPath(serverDir(state.dir, 'source-slave'));
  try {
    await execa('mariadb-backup', ['--backup', `--target-dir=${work}`, `--socket=${replicaSocket}`, '--user=root', '--slave-info', '--parallel=2'], { all: true });
    await execa('mariadb-backup', ['--prepare', `--target-dir=${work}`], { all: true });
  } catch (err) {
    const out = String((err as { all?: string }).all ?? '').trim().split('\n').slice(-5).join('\n');
    throw new OperatorError(`sandbox: the physical copy of source-slave failed:\n${out}`, 'check that mariadb-backup is installed (bash scripts/setup-machine.sh) and that source-slave is running', 'sandbox');
  }
  // The copy must be at the frozen position, as a snapshot of the frozen replica is; a moving replica would not be.
  // MariaDB 10.11 names the file xtrabackup_slave_info; later versions mariadb_backup_slave_info.
  const infoFile = ['mariadb_backup_slave_info', 'xtrabackup_slave_info'].map((f) => join(work, f)).find((f) => existsSync(f));
  const slaveInfo = infoFile ? readFileSync(infoFile, 'utf8') : '(no slave info file)';
  const expected = `MASTER_LOG_FILE='${frozen.executed.file}', MASTER_LOG_POS=${frozen.executed.pos}`;
  if (!slaveInfo.includes(expected)) {
    throw new OperatorError(`sandbox: the copy of source-slave is not at the frozen position (${expected}); mariadb-backup recorded: ${slaveInfo.trim()}`, 'the replica moved after the freeze; start the migration over', 'sandbox');
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
