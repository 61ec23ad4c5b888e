import { childEnv, loadExeca } from './child-env.js';

/** Why an aws CLI call failed, in the CLI's own words. */
export class AwsCliError extends Error {
  constructor(
    readonly command: string,
    /** The aws CLI is not on PATH. */
    readonly missing: boolean,
    /** The last line the CLI printed on stderr. */
    readonly reason: string,
  ) {
    super(`${command}: ${missing ? 'the aws CLI is not installed' : reason}`);
  }
}

/** Runs the aws CLI and returns its stdout. */
export async function awsCli(args: string[]): Promise<string> {
  const result = await (await loadExeca())('aws', args, { reject: false, timeout: 60_000, env: childEnv(), extendEnv: false });
  if (result.failed) {
    const missing = (result as { code?: string }).code === 'ENOENT';
    throw new AwsCliError(
      `aws ${args.slice(0, 2).join(' ')}`,
      missing,
      String(result.stderr || result.message)
        .trim()
        .split('\n')
        .pop() ?? '',
    );
  }
  return result.stdout;
}
