/**
 * Timers as a dependency, and a deterministic fake for tests. The edge never calls the global
 * `setTimeout` for its own deadlines, flushes and backoff: it takes an {@linkcode EdgeTimers}, so a
 * test moves time explicitly and never waits on the wall clock.
 *
 * @module
 */

/** Wall-clock time in epoch milliseconds (structurally the core `Clock`). */
export interface EdgeClock {
  /** Current time in epoch milliseconds. */
  nowMs(): number;
}

/** The two timer functions the edge uses. */
export interface EdgeTimers {
  /** Calls `fn` once after `delayMs`; returns a handle for {@linkcode EdgeTimers.clearTimeout}. */
  setTimeout(fn: () => void, delayMs: number): unknown;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: unknown): void;
}

/** The runtime's timers and `Date.now`. */
export const systemTimers: EdgeTimers = {
  setTimeout: (fn, delayMs) => globalThis.setTimeout(fn, delayMs),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
};

/** The system clock. */
export const systemEdgeClock: EdgeClock = { nowMs: () => Date.now() };

/** Fake timers and the clock they move. */
export interface FakeTimers extends EdgeTimers, EdgeClock {
  /** Number of timers waiting to fire. */
  readonly pending: number;
  /**
   * Moves time forward by `ms`, firing due timers in time order; between timers it lets promise
   * callbacks run, so code woken by a timer can arm the next one.
   */
  advance(ms: number): Promise<void>;
  /** Lets pending promise callbacks run without moving time. */
  settle(): Promise<void>;
}

/**
 * Creates fake timers whose clock starts at `startMs`.
 *
 * @example
 * ```ts
 * import { createFakeTimers } from "./fake_timers.ts";
 * const timers = createFakeTimers(0);
 * const fired: number[] = [];
 * timers.setTimeout(() => fired.push(timers.nowMs()), 10);
 * await timers.advance(9);
 * if (fired.length !== 0) throw new Error("fired early");
 * await timers.advance(1);
 * if (fired[0] !== 10 || timers.nowMs() !== 10) throw new Error("did not fire");
 * ```
 */
export function createFakeTimers(startMs = 0): FakeTimers {
  let now = startMs;
  let nextId = 1;
  const queue = new Map<number, { at: number; fn: () => void }>();
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
    await new Promise<void>((resolve) => globalThis.setTimeout(resolve, 0));
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    get pending() {
      return queue.size;
    },
    nowMs: () => now,
    setTimeout(fn, delayMs) {
      const id = nextId++;
      queue.set(id, { at: now + Math.max(0, delayMs), fn });
      return id;
    },
    clearTimeout(handle) {
      queue.delete(handle as number);
    },
    settle,
    async advance(ms) {
      const end = now + ms;
      await settle();
      for (;;) {
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of queue) {
          if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
        }
        if (due === undefined) break;
        queue.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
        await settle();
      }
      now = end;
      await settle();
    },
  };
}
