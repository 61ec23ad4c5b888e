import { redact } from './redact.js';

/**
 * An error for the operator: what failed, where, and what to do next.
 * Anything else that escapes is a bug and is reported as one.
 */
export class OperatorError extends Error {
  readonly fix: string;

  constructor(
    message: string,
    fix: string,
    readonly code = 'failed',
  ) {
    // Masked at birth as well as on output: messages also travel through logs, reports and test output.
    super(redact(message));
    this.fix = redact(fix);
    this.name = 'OperatorError';
  }
}

export function describeError(err: unknown): { message: string; fix?: string; code: string } {
  if (err instanceof OperatorError) return { message: redact(err.message), fix: redact(err.fix), code: err.code };
  if (err instanceof Error && err.name === 'ConfigError')
    return { message: redact(err.message), fix: 'correct the config file and run again', code: 'config' };
  // Driver errors carry the SQL text (err.sql), which may hold a password: only the message is used.
  const message = err instanceof Error ? err.message : String(err);
  return { message: redact(message), code: 'unexpected' };
}
