import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export function tlsFiles(dir: string): TlsFiles {
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server-cert.pem'), key: join(dir, 'server-key.pem') };
}

/** A throw-away CA and server certificate so that the sandbox, like RDS, offers TLS. */
export async function sandboxCertificates(dir: string): Promise<TlsFiles | undefined> {
  const files = tlsFiles(dir);
  if (existsSync(files.cert)) return files;
  mkdirSync(dir, { recursive: true });
  try {
    const run = (args: string[]) => execa('openssl', args, { cwd: dir, stdio: 'ignore' });
    await run([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=rds-live-migrate sandbox CA',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
    ]);
    await run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server-key.pem', '-out', 'server.csr']);
    // The tool verifies the certificate's name: it connects to 127.0.0.1, which only an IP SAN matches (never the CN).
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1\n');
    await run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      'san.ext',
      '-out',
      'server-cert.pem',
    ]);
    return files;
  } catch {
    return undefined; // no openssl: the sandbox runs without TLS and preflight says so
  }
}
