import { redact } from './redact.js';

/** Human progress goes to stderr so that stdout stays clean for --json. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  /** A status line that replaces itself on a terminal and is rate-limited elsewhere. */
  progress(message: string): void;
  /** A line of another program's output (a deploy's): replaces itself on a terminal, kept in full elsewhere (a CI log is the record). */
  transcript(message: string): void;
  done(): void;
}

export function createLog(options: { quiet?: boolean } = {}): Log {
  const tty = process.stderr.isTTY === true;
  let lastProgress = 0;
  let open = false;
  const write = (line: string) => {
    if (options.quiet) return;
    if (open && tty) process.stderr.write('\r\x1b[2K');
    open = false;
    process.stderr.write(`${redact(line)}\n`);
  };
  const progress = (m: string) => {
    if (options.quiet) return;
    const now = Date.now();
    if (tty) {
      process.stderr.write(`\r\x1b[2K${timestamp()} ${redact(m)}`);
      open = true;
    } else if (now - lastProgress >= 5000) {
      process.stderr.write(`${timestamp()} ${redact(m)}\n`);
      lastProgress = now;
    }
  };
  return {
    info: (m) => write(`${timestamp()} ${m}`),
    warn: (m) => write(`${timestamp()} WARNING ${m}`),
    progress,
    transcript: (m) => (tty ? progress(m) : write(`${timestamp()} ${m}`)),
    done() {
      if (open && tty) process.stderr.write('\n');
      open = false;
    },
  };
}

function timestamp(): string {
  return new Date().toISOString().slice(11, 19);
}
