import { readFileSync } from 'node:fs';
import { awsCli, AwsCliError } from './aws-cli.js';
import { OperatorError } from './errors.js';
import { registerSecret } from './redact.js';

export interface Credentials {
  username?: string;
  password: string;
}

/**
 * Resolves a secret reference (env:NAME, file:PATH or a Secrets Manager ARN)
 * to credentials. The value is registered for redaction before it is returned.
 */
export async function resolveSecret(ref: string, what: string): Promise<Credentials> {
  let credentials: Credentials;
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = process.env[name];
    if (!value)
      throw new OperatorError(
        `${what}: environment variable ${name} is not set or empty`,
        `export ${name} with the password (from your secret store) before running`,
        'secret',
      );
    credentials = { password: value };
  } else if (ref.startsWith('file:')) {
    const path = ref.slice(5);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new OperatorError(
        `${what}: cannot read secret file ${path} (${(err as NodeJS.ErrnoException).code})`,
        'check the path in the config or outputs file',
        'secret',
      );
    }
    credentials = parseSecretJson(text, `${what} (${path})`);
  } else if (ref.startsWith('arn:')) {
    credentials = parseSecretJson(await fetchSecretsManager(ref, what), `${what} (${ref})`);
  } else {
    throw new OperatorError(`${what}: unsupported secret reference`, 'use env:NAME, file:PATH or a Secrets Manager ARN', 'secret');
  }
  registerSecret(credentials.password);
  return credentials;
}

function parseSecretJson(text: string, what: string): Credentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OperatorError(
      `${what}: the secret is not JSON`,
      'store it as {"username": "...", "password": "..."} (the format RDS-managed secrets use)',
      'secret',
    );
  }
  const { username, password } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof password !== 'string' || !password)
    throw new OperatorError(`${what}: the secret has no "password" field`, 'store it as {"username": "...", "password": "..."}', 'secret');
  return { password, ...(typeof username === 'string' ? { username } : {}) };
}

async function fetchSecretsManager(arn: string, what: string): Promise<string> {
  const region = arn.split(':')[3];
  try {
    return await awsCli([
      'secretsmanager',
      'get-secret-value',
      '--secret-id',
      arn,
      '--region',
      region!,
      '--query',
      'SecretString',
      '--output',
      'text',
    ]);
  } catch (err) {
    if (!(err instanceof AwsCliError)) throw err;
    if (err.missing)
      throw new OperatorError(
        `${what}: the aws CLI is not installed`,
        'install the AWS CLI v2 and give this job secretsmanager:GetSecretValue (and kms:Decrypt on the secret key)',
        'secret',
      );
    throw new OperatorError(
      `${what}: aws secretsmanager get-secret-value failed: ${err.reason}`,
      'check the job has secretsmanager:GetSecretValue on the secret and kms:Decrypt on its key',
      'secret',
    );
  }
}
