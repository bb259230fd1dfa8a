/**
 * A bounded window of recent latencies for rolling quantiles: the last `samplesMax` observations,
 * each with the clock time it was made at. A quantile is read over the observations of the last
 * `windowMs` (nearest rank, so p99 of 100 samples is the 99th smallest). Prometheus histograms
 * answer the same question only from a scraper's side, over fixed buckets; the runner needs the
 * figure itself, to warn when a table's p99 crosses its SLA and to draw it (ADR 0040).
 *
 * ```
 *  record ─▶ [ (t, ms) (t, ms) ... ]  ≤ samplesMax, oldest overwritten (a ring)
 *                 └── quantile(q, now, windowMs): the samples with t > now - windowMs, sorted
 * ```
 *
 * @module
 */

/** Samples kept unless the options say otherwise. */
export const LATENCY_WINDOW_SAMPLES_MAX_DEFAULT = 4_096;

/** A ring of recent latencies (see the module doc). */
export interface LatencyWindow {
  /** Record one latency in ms observed at clock time `nowMs`. */
  record(nowMs: number, latencyMs: number): void;
  /**
   * The latencies of the last `windowMs` before `nowMs`, ascending (at most `samplesMax`).
   */
  recent(nowMs: number, windowMs: number): number[];
}

/**
 * The `q` quantile (0 < q <= 1) of ascending `sorted` by nearest rank, `undefined` when empty.
 *
 * @example
 * ```ts
 * import { quantileOf } from "./latency_window.ts";
 * const ms = Array.from({ length: 100 }, (_, i) => i + 1);
 * if (quantileOf(ms, 0.5) !== 50 || quantileOf(ms, 0.99) !== 99) throw new Error("nearest rank");
 * if (quantileOf([], 0.5) !== undefined) throw new Error("no samples");
 * ```
 */
export function quantileOf(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/**
 * Create a window that keeps at most `samplesMax` observations.
 *
 * @example
 * ```ts
 * import { createLatencyWindow, quantileOf } from "./latency_window.ts";
 * const w = createLatencyWindow({ samplesMax: 3 });
 * w.record(1_000, 40);
 * w.record(2_000, 10);
 * w.record(3_000, 30);
 * w.record(4_000, 20); // the sample of t=1000 is overwritten
 * if (w.recent(4_000, 10_000).join() !== "10,20,30") throw new Error("the last three");
 * if (w.recent(4_000, 1_500).join() !== "20,30") throw new Error("the last 1.5 s");
 * if (quantileOf(w.recent(4_000, 10_000), 0.99) !== 30) throw new Error("p99");
 * ```
 */
export function createLatencyWindow(
  options: { samplesMax?: number } = {},
): LatencyWindow {
  const samplesMax = options.samplesMax ?? LATENCY_WINDOW_SAMPLES_MAX_DEFAULT;
  if (!Number.isSafeInteger(samplesMax) || samplesMax < 1) {
    throw new RangeError(`Cannot create a latency window of ${samplesMax} samples`);
  }
  const times = new Float64Array(samplesMax);
  const values = new Float64Array(samplesMax);
  let next = 0;
  let size = 0;
  return {
    record(nowMs, latencyMs) {
      times[next] = nowMs;
      values[next] = latencyMs;
      next = (next + 1) % samplesMax;
      if (size < samplesMax) size++;
    },
    recent(nowMs, windowMs) {
      const out: number[] = [];
      const from = nowMs - windowMs;
      for (let i = 0; i < size; i++) if (times[i]! > from) out.push(values[i]!);
      return out.sort((a, b) => a - b);
    },
  };
}
