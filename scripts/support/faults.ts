// Crash injection for the resume tests: RDS_LIVE_MIGRATE_CRASH=<when>:<step>
// kills the process with SIGKILL, like a lost CI runner, at that point.
// when = before (step not started), after (work done, journal not yet written), mid (inside the step).
export type CrashPoint = 'before' | 'after' | 'mid';

export function crashIfRequested(when: CrashPoint, step: string): void {
  if (process.env.RDS_LIVE_MIGRATE_CRASH === `${when}:${step}`) {
    process.stderr.write(`crash injected at ${when}:${step}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
