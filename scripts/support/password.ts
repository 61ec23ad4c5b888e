import { createHash, randomBytes } from 'node:crypto';
import { registerSecret } from './redact.js';

/** A random password of URL-safe characters, registered for redaction. */
export function randomPassword(bytes = 24): string {
  return registerSecret(randomBytes(bytes).toString('base64url'));
}

/**
 * The mysql_native_password hash. Users are created with IDENTIFIED BY PASSWORD
 * '<hash>' so that the plain password never crosses the wire, nor lands in the
 * source's binlog, from which every replica and backup would learn it.
 */
export function nativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(inner).digest('hex').toUpperCase()}`;
}
