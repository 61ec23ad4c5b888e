import { APPLY_THREADS } from '../../../stacks/engine.js';
import { OperatorError } from '../../support/errors.js';
import type { Log } from '../../support/log.js';

export interface BenchCommandOptions {
  dir: string;
  rows: string;
  threads?: string;
  repeat: string;
  seconds: string;
  writers: string;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new OperatorError(
      `bench: --${name} ${JSON.stringify(value)} is not a positive whole number`,
      `give --${name} a number such as ${name === 'rows' ? '500000' : '16'}`,
      'usage',
    );
  return n;
}

/** `bench [seed]` times the seed methods; `bench catch-up` times the target applying a backlog per apply mode. */
export async function benchCommand(log: Log, suite: string | undefined, opts: BenchCommandOptions): Promise<unknown> {
  const threads = opts.threads === undefined ? undefined : positiveInt('threads', opts.threads);
  if (suite === 'catch-up') {
    const { runCatchUpBench, printCatchUp } = await import('./catch-up-bench.js');
    const dir = opts.dir === '.bench' ? '.bench/catch-up' : opts.dir;
    const catchUp = await runCatchUpBench({
      dir,
      seconds: positiveInt('seconds', opts.seconds),
      writers: positiveInt('writers', opts.writers),
      applyThreads: threads ?? APPLY_THREADS,
      rowsPerTable: 100_000,
      log,
    });
    printCatchUp(log, catchUp);
    return { ok: true, catchUp };
  }
  if (suite !== undefined && suite !== 'seed')
    throw new OperatorError(
      `bench: unknown suite ${JSON.stringify(suite)}`,
      'run `npm run bench` (the seed methods) or `npm run bench -- catch-up`',
      'usage',
    );
  const { runBench, printBench } = await import('./bench.js');
  const result = await runBench({
    dir: opts.dir,
    sizes: opts.rows.split(',').map((r) => positiveInt('rows', r)),
    threads,
    repeat: positiveInt('repeat', opts.repeat),
    log,
  });
  printBench(log, result.sizes);
  return result;
}
