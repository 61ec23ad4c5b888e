import { childEnv, loadExeca } from '../support/child-env.js';
import { OperatorError } from '../support/errors.js';
import type { MigrationContext } from './context.js';

/**
 * Runs a stack command (cdktf deploy/destroy, or the sandbox's stand-in) with
 * its output streamed to the log line by line: a snapshot copy of a large
 * database takes hours, and the operator should see it progress.
 */
export async function runStackCommand(ctx: MigrationContext, what: string, command: string[], fix: string): Promise<void> {
  const [file, ...args] = command;
  ctx.log.info(`${what}: ${command.join(' ')}`);
  const tail: string[] = [];
  const child = (await loadExeca())(file!, args, {
    all: true,
    reject: false,
    env: childEnv({ CHECKPOINT_DISABLE: '1' }, process.env, [ctx.config.source.passwordFrom]),
    extendEnv: false,
  });
  for await (const line of child.iterable({ from: 'all' })) {
    const text = String(line).trimEnd();
    if (!text) continue;
    ctx.log.transcript(`  | ${text}`);
    tail.push(text);
    if (tail.length > 40) tail.shift();
  }
  const result = await child;
  ctx.log.done();
  if (result.failed) {
    const cause = (result as { code?: string }).code === 'ENOENT' ? `${file} not found` : `exit ${result.exitCode ?? result.signal}`;
    // Terraform and our CLI both print "error:"/"Error:" lines; a stack trace's last lines say less.
    const errors = tail.filter((l) => /^\s*(│\s*)?error\b/i.test(l));
    throw new OperatorError(`${what} failed (${cause}): ${(errors.length ? errors : tail).slice(-3).join(' | ')}`, fix, 'stack-command');
  }
}
