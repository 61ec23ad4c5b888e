// Every secret the process learns is registered here, and every line that
// leaves the process (logs, errors, JSON reports) passes through redact().
// This is the last line of defence; code still avoids putting secrets into messages.
const secrets = new Set<string>();

export function registerSecret(secret: string): string {
  if (secret.length >= 4) secrets.add(secret);
  return secret;
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('********');
  return out;
}
