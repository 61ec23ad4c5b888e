import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';

/** Polls `probe` until it returns a value (not undefined/false/null), failing with `what` after the bound. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    assert.ok(Date.now() < deadline, `timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(50);
  }
}

/** Waits until the application has committed `count` more writes: "let it write for a while", as a condition. */
export async function moreWrites(workload: { readonly committed: number }, count = 50, timeoutMs = 60_000): Promise<void> {
  const target = workload.committed + count;
  await until(`${count} more application commits`, () => workload.committed >= target, timeoutMs);
}
