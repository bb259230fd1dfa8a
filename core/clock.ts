/**
 * Time as a dependency. Every component that needs "now" takes a {@linkcode Clock} so tests and the
 * simulation can move time explicitly (as delta-rs injects its clock into vacuum).
 *
 * @module
 */

/** A source of wall-clock time in milliseconds since the Unix epoch. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  nowMs(): number;
}

/**
 * The system clock.
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * if (systemClock.nowMs() <= 0) throw new Error("clock before epoch");
 * ```
 */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock that only moves when told to. */
export interface ManualClock extends Clock {
  /** Set the time to `ms`. */
  set(ms: number): void;
  /** Move the time forward by `ms`. */
  advance(ms: number): void;
}

/**
 * Create a clock that starts at `startMs` and only moves when told to.
 *
 * @example
 * ```ts
 * import { createManualClock } from "./clock.ts";
 * const clock = createManualClock(1000);
 * clock.advance(500);
 * if (clock.nowMs() !== 1500) throw new Error("clock did not advance");
 * ```
 */
export function createManualClock(startMs: number): ManualClock {
  let now = startMs;
  return {
    nowMs: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}
