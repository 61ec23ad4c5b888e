import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Server } from '../scripts/db/connection.js';
import { connectSandboxAdmin, sandboxAdmin } from '../scripts/dev/demo/scenario.js';
import { replicationUserStatements } from '../scripts/run/replication-user.js';
import { mariadb } from '../scripts/db/flavour.js';
import { startMariadb, stopMariadb } from '../scripts/dev/sandbox/mariadb-server.js';
import { serverDir, serverSpec, writeSandbox, type SandboxState } from '../scripts/dev/sandbox/sandbox.js';
import { sandboxCertificates, tlsFiles, type TlsFiles } from '../scripts/dev/sandbox/tls.js';
import { nativePasswordHash } from '../scripts/support/password.js';
import { journalOf, shopSandbox } from './helpers/sandbox.js';

const all = (r: { all?: unknown }): string => String(r.all ?? '');

function editConfig(state: SandboxState, edit: (migration: Record<string, unknown>) => void): void {
  const config = JSON.parse(readFileSync(state.configFile, 'utf8')) as { migration: Record<string, unknown> };
  edit(config.migration);
  writeFileSync(state.configFile, JSON.stringify(config, null, 2));
}

/** The same server restarted with other TLS files, or none (a self-managed server without certificates). */
async function restartWith(state: SandboxState, role: 'source-master', tls: TlsFiles | undefined): Promise<void> {
  await stopMariadb(serverDir(state.dir, role));
  const { tls: _tls, ...spec } = serverSpec(state, role);
  state.servers[role].pid = await startMariadb({ ...spec, ...(tls ? { tls } : {}) });
  writeSandbox(state);
}

/** A certificate from the sandbox's CA whose only name is its CN, 127.0.0.1. */
async function certificateWithoutIpSan(dir: string): Promise<TlsFiles> {
  const files = { ...tlsFiles(dir), cert: join(dir, 'no-san-cert.pem') };
  await execa(
    'openssl',
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-out', files.cert],
    { cwd: dir },
  );
  return files;
}

test('the sandbox writes its CA into the config and the tool verifies the servers against it; a different CA is refused at connect, naming the server and the certificate problem', async () => {
  const sb = await shopSandbox(0.02);
  try {
    const config = JSON.parse(readFileSync(sb.state.configFile, 'utf8')) as { migration: { tlsCaFile?: string } };
    assert.equal(config.migration.tlsCaFile, join(sb.state.dir, 'tls', 'ca.pem'));
    const ok = await sb.cli(['plan']);
    assert.equal(ok.exitCode, 0, all(ok));

    const other = await sandboxCertificates(mkdtempSync(join(tmpdir(), 'rlm-other-ca-')));
    editConfig(sb.state, (m) => (m.tlsCaFile = other!.ca));
    const plan = await sb.cli(['plan']);
    assert.notEqual(plan.exitCode, 0, all(plan));
    assert.match(
      all(plan),
      /source-master \(127\.0\.0\.1:\d+\): the server's TLS certificate was refused: (self-signed certificate in certificate chain|unable to verify the first certificate) \(trusted: the CA in .*rlm-other-ca-/,
    );
    assert.match(all(plan), /set migration\.tlsCaFile to the CA that signed this server's certificate/);

    // The right CA, but a certificate that does not name 127.0.0.1 (only its CN does, which TLS ignores): refused too.
    editConfig(sb.state, (m) => (m.tlsCaFile = join(sb.state.dir, 'tls', 'ca.pem')));
    await restartWith(sb.state, 'source-master', await certificateWithoutIpSan(join(sb.state.dir, 'tls')));
    const unnamed = await sb.cli(['plan']);
    assert.notEqual(unnamed.exitCode, 0, all(unnamed));
    assert.match(
      all(unnamed),
      /source-master \(127\.0\.0\.1:\d+\): the server's TLS certificate was refused: .*IP: 127\.0\.0\.1 is not in the cert's list/,
    );
    assert.doesNotMatch(all(unnamed), /target-master \(127\.0\.0\.1:\d+\): the server's TLS certificate was refused/);
  } finally {
    await sb.down();
  }
});

test('requireTls false and a source without TLS: plan warns loudly and blocks, run changes nothing, and no secret-bearing statement is sent in clear', async () => {
  const sb = await shopSandbox(0.02);
  try {
    await restartWith(sb.state, 'source-master', undefined);
    const refused = await sb.cli(['plan']);
    assert.match(all(refused), /source-master \(127\.0\.0\.1:\d+\): the server does not offer TLS, and migration\.requireTls is on/);

    editConfig(sb.state, (m) => (m.requireTls = false));
    const plan = await sb.cli(['plan']);
    assert.notEqual(plan.exitCode, 0, all(plan));
    assert.match(all(plan), /\[WARN\] config: migration\.requireTls is false: replication .* may run UNENCRYPTED/);
    assert.match(
      all(plan),
      /\[BLOCK\] source-master: source-master does not offer TLS: this connection is unencrypted; run would have to send or read password hashes/,
    );

    const run = await sb.cli(['run']);
    assert.notEqual(run.exitCode, 0, all(run));
    assert.deepEqual(Object.keys(journalOf(sb.state).steps), []);

    // Below preflight, the connection itself refuses: the replication user's statements and the replication password.
    const admin = sandboxAdmin(sb.state, 'source-master');
    const ca = readFileSync(join(sb.state.dir, 'tls', 'ca.pem'), 'utf8');
    const plain = await Server.connect({
      role: 'source-master',
      endpoint: admin.endpoint,
      credentials: admin,
      tls: { ca, trust: 'the sandbox CA', required: false },
    });
    try {
      assert.equal(plain.encrypted, false);
      const [create] = replicationUserStatements(mariadb, 'rlm_repl', nativePasswordHash('not-sent-1'), false);
      await assert.rejects(
        plain.query(create!),
        /source-master \(127\.0\.0\.1:\d+\): refusing to send CREATE USER IF .*over an unencrypted connection/,
      );
      await assert.rejects(
        plain.querySecret('CHANGE MASTER TO MASTER_PASSWORD = ?', ['not-sent-2'], 'CHANGE MASTER TO'),
        /refusing to send CHANGE MASTER TO .*over an unencrypted connection/,
      );
      await assert.rejects(plain.query('SHOW CREATE USER ?@?', ['shop_app', '%']), /refusing to send SHOW CREATE USER/);
      // Its answer carries the password hash.
      await assert.rejects(plain.query('SHOW GRANTS FOR ?@?', ['shop_app', '%']), /refusing to send SHOW GRANTS/);
    } finally {
      await plain.close();
    }
    const root = await connectSandboxAdmin(sb.state, 'source-master');
    try {
      assert.equal(Number(await root.value("SELECT COUNT(*) FROM mysql.user WHERE User = 'rlm_repl'")), 0);
    } finally {
      await root.close();
    }
    assert.doesNotMatch(sb.output.join('\n'), /not-sent|\*[0-9A-F]{40}/);
  } finally {
    await sb.down();
  }
});
