import { holdsSecret } from './redact.js';

// What a child (cdktf/terraform, aws, the traffic-switch command) may see.
// AWS_* stays: the job's own AWS credentials are what aws and terraform run
// with. Anything else, database passwords above all, the children never need.
const ALLOWED_NAMES = new Set([
  'PATH',
  'HOME',
  'LANG',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TZ',
  'USER',
  'LOGNAME',
  'SHELL',
  'TERM',
  'NO_COLOR',
  'FORCE_COLOR',
  'CHECKPOINT_DISABLE',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'RDS_LIVE_MIGRATE_CONFIG',
  'CI',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
]);
const ALLOWED_PREFIXES = ['LC_', 'AWS_', 'TF_', 'CDKTF_', 'GITHUB_', 'RUNNER_', 'XDG_'];

function allowed(name: string): boolean {
  return ALLOWED_NAMES.has(name) || ALLOWED_PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The environment for a child process (use with execa's `extendEnv: false`):
 * the allow-listed variables, minus every variable a secret reference
 * (`env:NAME`) names and every value holding a registered secret, plus `extra`.
 */
export function childEnv(
  extra: Record<string, string> = {},
  source: NodeJS.ProcessEnv = process.env,
  secretRefs: string[] = [],
): Record<string, string> {
  const secretVariables = new Set(secretRefs.filter((r) => r.startsWith('env:')).map((r) => r.slice(4)));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || !allowed(name) || secretVariables.has(name) || holdsSecret(value)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** execa, loaded when a child is first started: most commands never start one, and it takes a quarter second to load. */
export const loadExeca = async () => (await import('execa')).execa;
