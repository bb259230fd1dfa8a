/**
 * The per-table ceiling on commits per second (ADR 0031): every commit is a log version (and at
 * least one data file) that every reader lists and replays until the next checkpoint, so natural
 * batching, which commits as soon as the previous commit is done, needs an upper bound at high
 * rates. The ceiling spaces the starts of a table's commits at least `1000 / commitsPerSecondMax`
 * ms apart; a group that would start sooner waits for its slot, and whatever arrives meanwhile
 * joins it (batches are never refused for the ceiling).
 *
 * ```
 *  commit starts:  |<── 1000 / max ──>|<── 1000 / max ──>|
 *                  c1                 c2                 c3
 *  batches:          b  b   b            b                  (an idle table commits at once:
 *                    └──────┴── wait, then one commit: c2     its last start is long past)
 * ```
 *
 * Pure: it reads times it is given and says how long to wait; the committer sleeps.
 *
 * @module
 */

import { intIn, type z } from "../../config/section_schema.ts";

/**
 * Default ceiling of a table's commits per second: 40, one commit start every 25 ms at most. A
 * request waits up to one spacing for its slot plus its batch's trip through the runner, whose p99
 * on the dev server measured 25 to 30 ms (not the 10 ms ADR 0031 assumed): 40 is the smallest
 * ceiling that held the 50 ms p99 goal at 10,000 events/s (ADR 0045, superseding 0031's 25). At
 * that pace a table ingesting around the clock writes at most 3.46 million versions a day.
 */
export const COMMITS_PER_SECOND_MAX_DEFAULT = 40;

/**
 * The `tables[].commitsPerSecondMax` setting's schema, declared by its owner (ADR 0028): an
 * integer from 1 to 1,000.
 */
export const COMMITS_PER_SECOND_MAX_SCHEMA: z.ZodInt = intIn(1, 1_000);

/** The ceiling of one table. */
export interface CommitCeiling {
  /** Milliseconds to wait at `nowMs` before a commit may start (0: it may start now). */
  delayMs(nowMs: number): number;
  /** Record that a commit started at `nowMs`. */
  record(nowMs: number): void;
}

/**
 * A ceiling of `commitsPerSecondMax` commits per second (a positive number).
 *
 * @throws {RangeError} when `commitsPerSecondMax` is not a positive finite number
 *
 * @example
 * ```ts
 * import { createCommitCeiling } from "./commit_ceiling.ts";
 * const ceiling = createCommitCeiling(20); // at most one commit start per 50 ms
 * if (ceiling.delayMs(1_000) !== 0) throw new Error("an idle table commits at once");
 * ceiling.record(1_000);
 * if (ceiling.delayMs(1_010) !== 40) throw new Error("the next waits for its slot");
 * if (ceiling.delayMs(1_050) !== 0) throw new Error("and goes at 1,050");
 * ```
 */
export function createCommitCeiling(commitsPerSecondMax: number): CommitCeiling {
  if (!(Number.isFinite(commitsPerSecondMax) && commitsPerSecondMax > 0)) {
    throw new RangeError(
      `Cannot create a commit ceiling: commitsPerSecondMax must be a positive number, got ${commitsPerSecondMax}`,
    );
  }
  const spacingMs = 1000 / commitsPerSecondMax;
  let lastStartMs: number | undefined;
  return {
    delayMs(nowMs) {
      if (lastStartMs === undefined) return 0;
      // A clock that stepped back never makes a table wait longer than one spacing.
      const elapsedMs = Math.max(0, nowMs - lastStartMs);
      return Math.max(0, Math.ceil(spacingMs - elapsedMs));
    },
    record(nowMs) {
      lastStartMs = nowMs;
    },
  };
}
