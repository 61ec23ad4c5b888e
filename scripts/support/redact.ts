// Every secret the process learns is registered here, and every line that
// leaves the process (logs, errors, JSON reports) passes through redact().
// This is the last line of defence; code still avoids putting secrets into messages.
const secrets = new Set<string>();

const MASK = '********';

export function registerSecret(secret: string): string {
  if (secret.length >= 4) secrets.add(secret);
  return secret;
}

/** True when the text contains a registered secret. */
export function holdsSecret(text: string): boolean {
  for (const secret of secrets) if (text.includes(secret)) return true;
  return false;
}

// A quoted SQL literal, also one cut short by a truncated statement; or a hex literal (MySQL prints auth strings as 0x… when asked).
const LITERAL = String.raw`(?:'(?:[^'\\]|\\.|'')*(?:'|$)|"(?:[^"\\]|\\.|"")*(?:"|$)|0x[0-9a-f]+)`;
const PLUGIN = String.raw`[\`'"]?[\w.]+[\`'"]?`;

// Password hashes and auth strings as SQL carries them: CREATE/ALTER USER, SHOW CREATE USER, SHOW GRANTS, SET PASSWORD.
const AUTH_SHAPES: RegExp[] = [
  new RegExp(String.raw`(\bIDENTIFIED\s+BY\s+(?:PASSWORD\s+)?)${LITERAL}`, 'gi'),
  new RegExp(String.raw`(\b(?:IDENTIFIED\s+(?:VIA|WITH)|OR)\s+${PLUGIN}\s+(?:USING|AS|BY)\s+(?:PASSWORD\s*\(\s*)?)${LITERAL}`, 'gi'),
  new RegExp(String.raw`(\bPASSWORD\s*\(\s*)${LITERAL}`, 'gi'),
  new RegExp(String.raw`(\bSET\s+PASSWORD\b[^=]*=\s*)${LITERAL}`, 'gi'),
];
// A mysql_native_password hash anywhere: '*' and 40 hex digits.
const NATIVE_HASH = /\*[0-9a-f]{40}(?![0-9a-f])/gi;

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(MASK);
  for (const shape of AUTH_SHAPES) out = out.replace(shape, (_match, keep: string) => `${keep}'${MASK}'`);
  return out.replace(NATIVE_HASH, MASK);
}
