import type { Socket } from 'node:net';
import type { Server } from '../db/connection.js';
import type { Chunk } from '../db/key-chunks.js';

/** One worker: its pair of connections and the statement it is waiting on, if any. */
export interface Lane {
  id: number;
  source: Server;
  target: Server;
  /** CONNECTION_ID() of `target`, what the kill names. */
  targetThread: number;
  watched?: Watched;
}

export interface Watched {
  what: string;
  lastProgress: number;
  stalled: boolean;
}

/** Thrown in place of the error of a statement the watchdog killed. */
export class StallError extends Error {
  constructor(
    readonly what: string,
    readonly seconds: number,
  ) {
    super(`${what}: no progress for ${seconds} s`);
    this.name = 'StallError';
  }
}

const bound = (v: unknown) => (Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : String(v));

/** `shop.orders [500000,504999]`: the chunk's inclusive key range, open ends shown as such. */
export function describeChunk(schema: string, name: string, chunk: Chunk): string {
  const lower = chunk.lower === undefined ? '(…' : `[${bound(chunk.lower)}`;
  const upper = chunk.upper === undefined ? '…)' : `${bound(chunk.upper)}]`;
  const range = chunk.lower === undefined && chunk.upper === undefined ? '(whole table)' : `${lower},${upper}`;
  return `${schema}.${name} ${range}`;
}

/**
 * Runs `work` with `lane` marked busy on `what`; `work` calls its argument
 * whenever bytes move. If the watchdog killed it, the error becomes a StallError.
 */
export async function watched<T>(lane: Lane, what: string, stallSeconds: number, work: (progressed: () => void) => Promise<T>): Promise<T> {
  const state: Watched = { what, lastProgress: Date.now(), stalled: false };
  lane.watched = state;
  try {
    return await work(() => {
      state.lastProgress = Date.now();
    });
  } catch (err) {
    if (state.stalled) throw new StallError(what, stallSeconds);
    throw err;
  } finally {
    lane.watched = undefined;
  }
}

/**
 * Checks the lanes a few times per stall period: `onStall` once for a
 * statement without progress for `stallMs`, `onTick` with the lanes that have
 * been quiet for a quarter of it (for the progress line).
 */
export function startWatchdog(
  lanes: Lane[],
  stallMs: number,
  onStall: (lane: Lane, idleMs: number) => void,
  onTick: (quiet: { lane: Lane; idleMs: number }[]) => void,
): () => void {
  const tickMs = Math.min(5000, Math.max(100, stallMs / 5));
  const timer = setInterval(() => {
    const now = Date.now();
    const quiet: { lane: Lane; idleMs: number }[] = [];
    for (const lane of lanes) {
      const w = lane.watched;
      if (!w) continue;
      const idleMs = now - w.lastProgress;
      if (idleMs >= stallMs && !w.stalled) {
        w.stalled = true;
        onStall(lane, idleMs);
      }
      if (idleMs >= Math.max(tickMs, stallMs / 4)) quiet.push({ lane, idleMs });
    }
    onTick(quiet);
  }, tickMs);
  return () => clearInterval(timer);
}

/**
 * Drops a connection at once on this side. mysql2's own destroy() marks the
 * connection as closing, which leaves a statement in flight unsettled forever;
 * destroying the socket instead fails that statement with "connection lost".
 */
export function abortConnection(server: Server): void {
  const core = (server as unknown as { connection: { connection: { stream?: Socket } } }).connection.connection;
  core.stream?.destroy();
}
