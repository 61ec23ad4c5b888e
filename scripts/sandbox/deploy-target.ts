import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { loadConfig } from '../../config/load.js';
import { TARGET_STACK, targetSeed, type FrozenPosition } from '../../stacks/index.js';
import { OperatorError } from '../support/errors.js';
import { nativePasswordHash, randomPassword } from '../support/password.js';
import { isAlive } from '../support/process.js';
import { installMariadb, rootConnection, socketPath, startMariadb } from './mariadb-server.js';
import { ADMIN_USER, createEmptyTarget, readOutputs, readSandbox, secretFile, serverDir, serverSpec, targetStackOutputs, writeOutputs, writeSandbox, writeSecret, type SandboxState } from './sandbox.js';

/**
 * The sandbox's stand-in for `cdktf deploy target`. It asks the same
 * question the app does (targetSeed: empty, restore, or not declared yet) and
 * builds what the stack would:
 * - empty: a new server with its own admin password;
 * - restore: a physical copy of the frozen source-slave (mariadb-backup
 *   --backup/--prepare) started as target-master, where RDS would snapshot the
 *   replica, copy the snapshot with the target's KMS key and restore from it.
 *   There is no KMS here: the copy is not encrypted; only the order of events
 *   and the position are the same. Like a restore with a managed master
 *   password, the admin user gets a new password.
 * Like `terraform apply`, a second run with the target in place changes nothing.
 */
export async function sandboxDeployTarget(dirArg: string, log: (m: string) => void = () => {}): Promise<{ deployed: 'empty' | 'restore' | 'unchanged' }> {
  const dir = resolve(dirArg);
  const state = readSandbox(dir);
  if (!state) throw new OperatorError(`no sandbox in ${dir}`, 'run: rds-live-migrate sandbox up', 'sandbox');
  const outputs = readOutputs(dir);
  const pid = state.servers['target-master'].pid;
  if (outputs[TARGET_STACK] && pid && isAlive(pid)) return { deployed: 'unchanged' };

  const seed = targetSeed(loadConfig(state.configFile));
  if (seed.kind === 'deferred') throw new OperatorError(`the target stack is not part of the app yet: ${seed.reason}`, 'run `rds-live-migrate run`; it deploys the target when it may', 'sandbox');
  // A deploy that died half-way left no outputs; start it over, as Terraform would replace a tainted instance.
  const targetDir = serverDir(dir, 'target-master');
  rmSync(targetDir, { recursive: true, force: true });
  const spec = serverSpec(state, 'target-master');
  if (seed.kind === 'empty') {
    await installMariadb(spec);
    state.servers['target-master'].pid = await startMariadb(spec);
    await createEmptyTarget(dir);
  } else {
    await physicalCopyOfFrozenReplica(state, join(targetDir, 'data'), seed.frozen, log);
    state.servers['target-master'].pid = await startMariadb({ ...spec, skipSlaveStart: true });
    await setManagedMasterPassword(dir);
  }
  writeSandbox(state);
  writeOutputs(dir, { ...outputs, [TARGET_STACK]: targetStackOutputs(state) });
  log(`target-master deployed (${seed.kind === 'empty' ? 'empty' : `restored from a physical copy of the frozen replica at ${seed.frozen.executed.file}:${seed.frozen.executed.pos}`}) on 127.0.0.1:${state.servers['target-master'].port}`);
  return { deployed: seed.kind };
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
