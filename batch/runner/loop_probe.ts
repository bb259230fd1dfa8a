/**
 * An event-loop stall probe for the runner's thread, on when `LAKESTRIKE_LOOP_PROBE_MS` is set (a
 * threshold in ms; `deno task runner`, `deno task dev` and the soaks pass the environment on). A
 * timer re-armed every `intervalMs` measures how late it fires; a lateness above the threshold is
 * a stretch in which the thread ran something else without yielding, and every ack, commit and
 * request of the runner waited for it. Each one is logged at `warn` with what the runner was
 * doing (`context()`: the tables' versions and waiting afterCommit runs, the maintenance job), so
 * a soak's slow windows can be put beside their causes (ADR 0048):
 *
 * ```
 *  {"level":"warn","message":"runner event loop stalled","stallMs":212.4,
 *   "tables":{"events":{"version":5400,"afterCommitPending":1}},"maintenance":"compact events"}
 * ```
 *
 * A version at a multiple of the checkpoint interval points at a checkpoint, a maintenance job at
 * compaction; neither points at garbage collection, which the probe sees as well.
 *
 * @module
 */
import type { LogFields, Logger } from "../../plugins/types.ts";

/** The environment variable that turns the probe on, with its threshold in ms. */
export const LOOP_PROBE_ENV = "LAKESTRIKE_LOOP_PROBE_MS";

/** Options of {@linkcode startLoopProbe}. */
export interface LoopProbeOptions {
  /** Lateness of the timer logged as a stall, in ms. */
  thresholdMs: number;
  /** Time between two looks, in ms; default 10. */
  intervalMs?: number;
  /** What the thread was doing, logged with each stall. */
  context?: () => LogFields;
  /** Source of "now" in ms; default `performance.now`. */
  nowMs?: () => number;
}

/** A running probe. */
export interface LoopProbe {
  /** Stalls logged so far. */
  stalls(): number;
  /** Stop looking. */
  stop(): void;
}

/**
 * The threshold `LAKESTRIKE_LOOP_PROBE_MS` sets, or `undefined` when it is unset or not a positive
 * number (the probe is off).
 *
 * @example
 * ```ts
 * import { loopProbeThresholdMs } from "./loop_probe.ts";
 * if (loopProbeThresholdMs((name) => name === "LAKESTRIKE_LOOP_PROBE_MS" ? "50" : undefined) !== 50) {
 *   throw new Error("not read");
 * }
 * ```
 */
export function loopProbeThresholdMs(
  getEnv: (name: string) => string | undefined,
): number | undefined {
  const text = getEnv(LOOP_PROBE_ENV);
  const ms = text === undefined ? NaN : Number(text);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/**
 * Start the stall probe on this thread; it logs to `logger` until stopped.
 *
 * @example
 * ```ts
 * import { noopLogger } from "../../plugins/logger.ts";
 * import { startLoopProbe } from "./loop_probe.ts";
 * const probe = startLoopProbe(noopLogger, { thresholdMs: 100 });
 * probe.stop();
 * ```
 */
export function startLoopProbe(logger: Logger, options: LoopProbeOptions): LoopProbe {
  const intervalMs = options.intervalMs ?? 10;
  const now = options.nowMs ?? (() => performance.now());
  let stalls = 0;
  let expected = now() + intervalMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const look = () => {
    const t = now();
    const stallMs = t - expected;
    if (stallMs > options.thresholdMs) {
      stalls++;
      logger.warn("runner event loop stalled", {
        stallMs: Math.round(stallMs * 10) / 10,
        ...(options.context?.() ?? {}),
      });
    }
    expected = t + intervalMs;
    timer = setTimeout(look, intervalMs);
  };
  timer = setTimeout(look, intervalMs);
  return {
    stalls: () => stalls,
    stop() {
      clearTimeout(timer);
    },
  };
}
