import type { Connection as CallbackConnection } from 'mysql2';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { checkServerIdentity, TLSSocket } from 'node:tls';
import mysqlCore from 'mysql2';
import mysql, { type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { OperatorError } from '../support/errors.js';
import { redact } from '../support/redact.js';
import type { Credentials } from '../support/secrets.js';

/** The three servers of a migration, by the names the runbook uses. */
export type ServerRole = 'source-master' | 'source-slave' | 'target-master';

export interface Endpoint {
  host: string;
  port: number;
}

/** How the tool's connections use TLS; the server's certificate is always verified, name included. */
export interface TlsPolicy {
  /** PEM CA certificates to trust; undefined: Node's public CAs. */
  ca?: string | string[];
  /** Where the trusted CAs come from, for messages. */
  trust: string;
  /** true: a server without TLS is refused. false: it is used in plaintext, but never for a statement that carries a secret. */
  required: boolean;
}

export interface ServerAccess {
  role: ServerRole;
  endpoint: Endpoint;
  credentials: Credentials & { username: string };
  /** The tool's connections always carry one; without it (test and demo helpers) the link is plaintext. */
  tls?: TlsPolicy;
}

export type Row = Record<string, unknown>;

/** One connection to one server; every error names the server and what to do. */
export class Server {
  private constructor(
    readonly access: ServerAccess,
    private readonly connection: Connection,
    /** TLS with a verified certificate. */
    readonly encrypted: boolean,
  ) {}

  static async connect(access: ServerAccess, options: { connectTimeoutMs?: number } = {}): Promise<Server> {
    const { tls } = access;
    try {
      return new Server(access, await open(access, options, tls), tls !== undefined);
    } catch (err) {
      if (!tls || tls.required || (err as { code?: string }).code !== 'HANDSHAKE_NO_SSL_SUPPORT') throw connectError(access, err);
    }
    // requireTls false and a server without TLS: usable for what carries no secret (see guardSecret).
    try {
      return new Server(access, await open(access, options, undefined), false);
    } catch (err) {
      throw connectError(access, err);
    }
  }

  get role(): ServerRole {
    return this.access.role;
  }

  get where(): string {
    return `${this.access.role} (${this.access.endpoint.host}:${this.access.endpoint.port})`;
  }

  async query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (SECRET_BEARING.test(sql)) this.guardSecret(sql.trim().split(/\s+/).slice(0, 3).join(' '));
    try {
      const [rows] = await this.connection.query<RowDataPacket[]>(sql, params);
      return rows as unknown as T[];
    } catch (err) {
      throw this.queryError(err, sql);
    }
  }

  /** Runs a statement whose text may hold a secret: on failure neither the SQL nor its values are echoed. */
  async querySecret(sql: string, params: unknown[], what: string): Promise<void> {
    this.guardSecret(what);
    try {
      await this.connection.query(sql, params);
    } catch (err) {
      const e = err as { code?: string; sqlMessage?: string };
      throw new OperatorError(
        `${this.where}: ${what} failed: ${e.code ?? 'error'}`,
        'see the server error log; the statement is not shown because it holds a password',
        'sql',
      );
    }
  }

  /**
   * The rows of a query whose rows are one byte string each, as one byte
   * stream of lines in blocks of about `blockBytes`. Rows are gathered in the
   * driver's row callback, with no promise per row; the server is not read
   * further while the consumer is behind, so memory stays flat however large
   * the result. A query error destroys the stream with it.
   */
  lines(sql: string, params: unknown[], blockBytes: number, onBlock: (rows: number, bytes: number) => void): Readable {
    // The promise wrapper does not type its underlying callback connection, which is what can stream.
    const core = (this.connection as unknown as { connection: CallbackConnection }).connection;
    let block: Buffer[] = [];
    let size = 0;
    let rows = 0;
    let paused = false;
    const out = new Readable({
      highWaterMark: blockBytes * 2,
      read() {
        if (!paused) return;
        paused = false;
        core.resume();
      },
    });
    const flush = () => {
      if (!size) return;
      const chunk = Buffer.concat(block, size);
      onBlock(rows, size);
      block = [];
      size = 0;
      rows = 0;
      if (!out.push(chunk) && !paused) {
        paused = true;
        core.pause();
      }
    };
    let query: ReturnType<CallbackConnection['query']>;
    try {
      // typeCast off: each value arrives as the bytes the server sent, never decoded to a string.
      query = core.query({ sql, values: params, rowsAsArray: true, typeCast: false });
    } catch (err) {
      // A connection already closed refuses at once rather than by an error event.
      return out.destroy(this.queryError(err, sql));
    }
    query
      .on('result', (row: unknown) => {
        const line = (row as (Buffer | null)[])[0];
        if (!line) return void out.destroy(this.queryError(new Error('a row came as NULL, not as a line'), sql));
        block.push(line, NEWLINE);
        size += line.length + 1;
        rows += 1;
        if (size >= blockBytes) flush();
      })
      .on('error', (err: unknown) => out.destroy(this.queryError(err, sql)))
      .on('end', () => {
        if (out.destroyed) return;
        flush();
        out.push(null);
      });
    return out;
  }

  /**
   * LOAD DATA LOCAL INFILE fed from a stream instead of a file, opened by `data` when the
   * server asks for the file: the client side variant, allowed on RDS (no FILE privilege
   * needed). Returns the rows loaded.
   */
  async loadLocal(sql: string, params: unknown[], data: () => Readable): Promise<{ rows: number; warnings: number }> {
    try {
      const [result] = await this.connection.query<ResultSetHeader>({ sql, values: params, infileStreamFactory: data });
      return { rows: result.affectedRows, warnings: result.warningStatus };
    } catch (err) {
      // The input's own error (the source's, say) names its server already.
      if (err instanceof OperatorError) throw err;
      throw this.queryError(err, sql);
    }
  }

  async one<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params))[0];
  }

  async value<T = unknown>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    const row = await this.one(sql, params);
    return row ? (Object.values(row)[0] as T) : undefined;
  }

  async close(): Promise<void> {
    await this.connection.end().catch(() => this.connection.destroy());
  }

  /** Whether a password or password hash may cross this link: never a plaintext one, whatever requireTls says. */
  get secretsMayCross(): boolean {
    return this.encrypted || !this.access.tls;
  }

  private guardSecret(what: string): void {
    if (this.secretsMayCross) return;
    throw new OperatorError(
      `${this.where}: refusing to send ${what} (it or its answer carries a password or password hash) over an unencrypted connection: the server does not offer TLS`,
      'enable TLS on this server (RDS offers it by default) and run again; migration.requireTls false allows an unencrypted replication link, never an unencrypted secret',
      'tls',
    );
  }

  private queryError(err: unknown, sql: string): OperatorError {
    const e = err as { code?: string; sqlMessage?: string; message?: string };
    // Masked before it is cut short, so that a truncated password hash cannot escape the mask.
    const masked = redact(sql);
    const statement = masked.length > 200 ? `${masked.slice(0, 200)}…` : masked;
    const detail = e.sqlMessage ?? e.message ?? String(err);
    if (
      e.code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' ||
      e.code === 'ER_PROCACCESS_DENIED_ERROR' ||
      e.code === 'ER_TABLEACCESS_DENIED_ERROR' ||
      e.code === 'ER_DBACCESS_DENIED_ERROR'
    ) {
      return new OperatorError(
        `${this.where}: ${detail} (running: ${statement})`,
        `give ${this.access.credentials.username} the privilege named, or use the RDS master user`,
        'privilege',
      );
    }
    if (
      e.code === 'PROTOCOL_CONNECTION_LOST' ||
      e.code === 'ECONNRESET' ||
      e.code === 'EPIPE' ||
      /connection is in closed state/.test(detail)
    ) {
      return new OperatorError(
        `${this.where}: connection lost (running: ${statement})`,
        'check the instance is available, then run the same command again; it resumes from the journal',
        'connection',
      );
    }
    if (e.code === 'ER_LOCK_DEADLOCK') {
      return new OperatorError(
        `${this.where}: ${detail} (running: ${statement})`,
        'run the same command again; it resumes from the journal',
        'deadlock',
      );
    }
    return new OperatorError(
      `${this.where}: ${detail} (running: ${statement})`,
      'fix the cause above, then run the same command again; it resumes from the journal',
      'sql',
    );
  }
}

// Statements that send or read a password or its hash: CREATE/ALTER USER … IDENTIFIED, SET PASSWORD, CHANGE MASTER … MASTER_PASSWORD
// (or SOURCE_PASSWORD); SHOW CREATE USER and SHOW GRANTS, whose answers print the hash.
const SECRET_BEARING = /\bIDENTIFIED\b|\bSET\s+PASSWORD\b|\b(?:MASTER|SOURCE)_PASSWORD\b|\bSHOW\s+(?:CREATE\s+USER|GRANTS)\b/i;

async function open(access: ServerAccess, options: { connectTimeoutMs?: number }, tls: TlsPolicy | undefined): Promise<Connection> {
  const connection = await mysql.createConnection({
    host: access.endpoint.host,
    port: access.endpoint.port,
    user: access.credentials.username,
    password: access.credentials.password,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    multipleStatements: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    charset: 'utf8mb4',
    // The certificate must name the host the outputs give. mysql2 checks a host name itself, but an IP
    // against "localhost" (Node's default when no server name is sent), so an IP is checked below instead.
    ...(tls ? { ssl: { ...(tls.ca ? { ca: tls.ca } : {}), rejectUnauthorized: true, verifyIdentity: !isIP(access.endpoint.host) } } : {}),
  });
  try {
    if (tls && isIP(access.endpoint.host)) checkIpIdentity(connection, access.endpoint.host);
    await allowBackslashEscapes(connection);
  } catch (err) {
    connection.destroy();
    throw err;
  }
  return connection;
}

function checkIpIdentity(connection: Connection, ip: string): void {
  const stream = (connection as unknown as { connection: { stream: unknown } }).connection.stream;
  const refused =
    stream instanceof TLSSocket ? checkServerIdentity(ip, stream.getPeerCertificate()) : new Error('the connection is not encrypted');
  if (refused) throw Object.assign(refused, { code: (refused as { code?: string }).code ?? 'ERR_TLS_CERT_ALTNAME_INVALID' });
}

/** The CAs of RDS, as bundled with mysql2 (its 'Amazon RDS' SSL profile). */
export function rdsCaBundle(): string[] {
  return (mysqlCore as unknown as { ConnectionConfig: { getSSLProfile(name: string): { ca: string[] } } }).ConnectionConfig.getSSLProfile(
    'Amazon RDS',
  ).ca;
}

// The driver escapes literals with backslashes; under NO_BACKSLASH_ESCAPES the server would read them as data.
async function allowBackslashEscapes(connection: Connection): Promise<void> {
  const [rows] = await connection.query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS mode');
  const modes = String(rows[0]?.mode ?? '').split(',');
  if (!modes.includes('NO_BACKSLASH_ESCAPES')) return;
  await connection.query('SET SESSION sql_mode = ?', [modes.filter((m) => m !== 'NO_BACKSLASH_ESCAPES').join(',')]);
}

const CERTIFICATE_PROBLEM = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

function connectError(access: ServerAccess, err: unknown): OperatorError {
  const e = err as { code?: string; message?: string };
  const where = `${access.role} (${access.endpoint.host}:${access.endpoint.port})`;
  // mysql2 replaces the TLS error's own code with HANDSHAKE_SSL_ERROR; Node's message says what was wrong with the certificate.
  if (e.code === 'HANDSHAKE_SSL_ERROR' || (e.code && CERTIFICATE_PROBLEM.test(e.code))) {
    return new OperatorError(
      `${where}: the server's TLS certificate was refused: ${e.message ?? e.code} (trusted: ${access.tls?.trust ?? 'the default CAs'})`,
      "set migration.tlsCaFile to the CA that signed this server's certificate (on RDS leave it unset: the RDS CA bundle is built in), and check that the outputs name this server by a name its certificate carries",
      'tls',
    );
  }
  switch (e.code) {
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return new OperatorError(
        `${where}: the server does not offer TLS, and migration.requireTls is on`,
        'enable TLS on the server (RDS offers it by default), or set migration.requireTls to false to allow unencrypted connections (secrets are still never sent over them)',
        'tls',
      );
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return new OperatorError(
        `${where}: user ${access.credentials.username} was refused: wrong user name or password`,
        `check the password behind the ${access.role} secret reference and the user name in the config`,
        'credentials',
      );
    case 'ECONNREFUSED':
      return new OperatorError(
        `${where}: connection refused`,
        'check the endpoint and port in the stack outputs and that the instance is running',
        'unreachable',
      );
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new OperatorError(
        `${where}: no answer (${e.code})`,
        'check security groups, routing and that this job runs inside the VPC (or has a path to it)',
        'unreachable',
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new OperatorError(
        `${where}: host name does not resolve`,
        'check the endpoint in the stack outputs (cdktf deploy --outputs-file)',
        'unreachable',
      );
    default:
      return new OperatorError(
        `${where}: cannot connect: ${e.message ?? String(err)}`,
        'check the endpoint and credentials',
        'unreachable',
      );
  }
}

/** Backtick-quotes an identifier for SQL text. */
export function ident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A comma-separated list of SQL literals, escaped by the driver; NULL (which matches nothing in IN) when empty. */
export function literals(values: string[]): string {
  return values.length ? mysql.format('?', [values]) : 'NULL';
}

/** An account name for SQL text, 'user'@'host', quoted by the driver (quotes and backslashes escaped). */
export function account(user: string, host: string): string {
  return mysql.format('?@?', [user, host]);
}

const NEWLINE = Buffer.from('\n');
