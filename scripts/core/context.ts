import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MigrationConfig } from '../../config/schema.js';
import { rdsCaBundle, Server, type ServerAccess, type ServerRole, type TlsPolicy } from '../db/connection.js';
import { dialectFor, type ReplicationDialect } from '../db/dialect.js';
import { OperatorError } from '../support/errors.js';
import type { Log } from '../support/log.js';
import { resolveSecret } from '../support/secrets.js';
import { journalStore, migrationLabel, stateFor } from './migration-state.js';
import { Journal } from './journal.js';
import {
  checkOutputsAgainstConfig,
  matchesPin,
  notPinnedServer,
  readIdentity,
  sameServer,
  sameServerError,
  type ServerIdentity,
} from './server-identity.js';
import { readStackOutputs, type StackOutputs, type TargetOutputs } from './stack-outputs.js';

/** Everything a step needs: config, journal, the servers (connected on first use) and a log. */
export class MigrationContext {
  private readonly servers = new Map<ServerRole, Promise<Server>>();
  /** Who answered for each role in this process, pinned or not (plan pins nothing but still compares). */
  private readonly identities = new Map<ServerRole, ServerIdentity>();
  private readonly pinned = new Set<ServerRole>();
  private accessCache?: Promise<Record<ServerRole, ServerAccess | undefined>>;
  /** Held in memory only, between creating the replication user and pointing the target at the source. */
  replicationPassword?: string;

  constructor(
    readonly config: MigrationConfig,
    readonly journal: Journal,
    readonly log: Log,
    readonly dialect: ReplicationDialect = dialectFor(config.engine, config.migration.serverKind),
  ) {}

  static open(config: MigrationConfig, log: Log): MigrationContext {
    return new MigrationContext(config, Journal.open(journalStore(config), migrationLabel(config)), log);
  }

  outputs(): StackOutputs {
    return readStackOutputs(resolve(this.config.migration.outputsFile), this.config.migration.outputNames);
  }

  async access(role: ServerRole): Promise<ServerAccess | undefined> {
    this.accessCache ??= this.resolveAccess();
    return (await this.accessCache)[role];
  }

  private async resolveAccess(): Promise<Record<ServerRole, ServerAccess | undefined>> {
    const outputs = this.outputs();
    checkOutputsAgainstConfig(
      this.config,
      outputs,
      this.config.migration.outputsFile,
      stateFor(this.config, this.journal.snapshot()).reseeds,
    );
    const tls = tlsPolicy(this.config);
    const sourceSecret = await resolveSecret(this.config.source.passwordFrom, 'source-master password (source.passwordFrom)');
    const sourceCredentials = { username: this.config.source.masterUsername, password: sourceSecret.password };
    const targetSecret =
      outputs.target && (await resolveSecret(outputs.target.masterSecret, 'target-master secret (stack output master_secret_arn)'));
    return {
      'source-master': { role: 'source-master', endpoint: outputs.source, credentials: sourceCredentials, tls },
      // An RDS read replica has its source's master user and password.
      'source-slave': outputs.replica
        ? { role: 'source-slave', endpoint: outputs.replica, credentials: sourceCredentials, tls }
        : undefined,
      // A target restored from a snapshot keeps the source's master user name; the secret names it.
      'target-master':
        outputs.target && targetSecret
          ? {
              role: 'target-master',
              endpoint: outputs.target,
              credentials: { username: targetSecret.username ?? this.config.target.masterUsername, password: targetSecret.password },
              tls,
            }
          : undefined,
    };
  }

  /** The target's outputs; they exist from the target stack's deploy on. */
  targetOutputs(): TargetOutputs {
    const { target } = this.outputs();
    if (!target)
      throw new OperatorError(
        `target-master: the outputs file ${this.config.migration.outputsFile} has no target stack yet`,
        'deploy the target stack (cdktf deploy target --outputs-file ...), or let `run` do it with the snapshot seed',
        'outputs',
      );
    return target;
  }

  /** Forgets endpoints and connections after a stack changed them (the target is deployed mid-run with the snapshot seed). */
  async reloadOutputs(): Promise<void> {
    await this.close();
    this.accessCache = undefined;
  }

  /** A connection to one server, opened on first use and reused. */
  async server(role: ServerRole): Promise<Server> {
    let server = this.servers.get(role);
    if (!server) {
      server = this.access(role).then((access) => {
        if (!access) {
          throw new OperatorError(
            role === 'target-master'
              ? `target-master: not in the stack outputs yet (with the snapshot seed the target stack is deployed after the freeze)`
              : `${role}: not in the stack outputs (the replica stack is destroyed once the target replicates)`,
            role === 'target-master'
              ? 'run `rds-live-migrate run`, which deploys it at the right moment, or deploy the target stack'
              : 'nothing to do for this server at this phase',
            'outputs',
          );
        }
        return this.connectPinned(access);
      });
      this.servers.set(role, server);
      server.catch(() => this.servers.delete(role));
    }
    const connected = await server;
    this.pinWhenDue(role);
    return connected;
  }

  /**
   * Pins a role's server (as it answered at first contact) once the migration
   * has begun changing things and this process holds the lock. Not earlier: a
   * run stopped by its preflight, e.g. because the outputs name a foreign
   * target, must not pin the wrong server.
   */
  private pinWhenDue(role: ServerRole): void {
    const now = this.identities.get(role);
    if (!now || this.pinned.has(role) || !this.journal.locked) return;
    const state = this.journal.snapshot();
    if (!Object.keys(state.steps).length) return;
    if (!state.servers?.[role]) this.journal.pin(role, now);
    this.pinned.add(role);
  }

  private async connectPinned(access: ServerAccess): Promise<Server> {
    const server = await Server.connect(access);
    try {
      await this.checkIdentity(access, server);
      return server;
    } catch (err) {
      await server.close();
      throw err;
    }
  }

  /** Refuses a server that is not the one pinned for the role, or that already answers under another role; remembers what answered (pinWhenDue records it). */
  private async checkIdentity(access: ServerAccess, server: Server): Promise<void> {
    const { role } = access;
    const identifier =
      role === 'source-master'
        ? this.config.source.instanceIdentifier
        : role === 'target-master'
          ? this.outputs().target?.identifier
          : this.outputs().replica?.identifier;
    const now = await readIdentity(server, access.endpoint, identifier);
    const pinned = this.journal.snapshot().servers ?? {};
    const recorded = pinned[role];
    if (recorded && !matchesPin(recorded, now)) throw notPinnedServer(role, recorded, now);
    const others = [...Object.entries(pinned), ...this.identities.entries()].filter(([other]) => other !== role);
    const twin = others.find(([, id]) => sameServer(id, now));
    if (twin) throw sameServerError(role, twin[0], now);
    this.identities.set(role, now);
  }

  /** Closes and forgets a connection, e.g. before the server it points to is destroyed. */
  async disconnect(role: ServerRole): Promise<void> {
    const server = this.servers.get(role);
    this.servers.delete(role);
    if (server) await (await server.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((role) => this.disconnect(role)));
  }
}

/** Every connection verifies the server's certificate: against tlsCaFile, RDS's CA bundle, or the system's CAs. */
export function tlsPolicy(config: MigrationConfig): TlsPolicy {
  const { tlsCaFile, requireTls, serverKind } = config.migration;
  if (tlsCaFile) {
    try {
      return { ca: readFileSync(tlsCaFile, 'utf8'), trust: `the CA in ${tlsCaFile}`, required: requireTls };
    } catch (err) {
      throw new OperatorError(
        `migration.tlsCaFile ${tlsCaFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        "point migration.tlsCaFile at the PEM file of the CA that signed the servers' certificates",
        'config',
      );
    }
  }
  if (serverKind === 'rds') return { ca: rdsCaBundle(), trust: 'the Amazon RDS CA bundle', required: requireTls };
  return { trust: "the system's public CAs", required: requireTls };
}
