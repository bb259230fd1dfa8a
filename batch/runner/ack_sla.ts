/**
 * The acknowledgement SLA of each table (`tables[].ackSlaMs`, default 250 ms; ADR 0040): every
 * answer the runner gives a batch is measured from the request's arrival, as the edge (the runner's
 * client) sees it, and counted within or over the table's SLA; a rolling window of the last
 * `windowMs` gives the table's p99, and the runner logs a warning when that p99 crosses the SLA and
 * again when it is back under it.
 *
 * ```
 *   observe(table, ms) ─▶ histogram (a bucket at every table's SLA) + within / breach counters
 *                     └─▶ latency window (last samplesMax)
 *   check(now) ─▶ p99 over the last windowMs, at least samplesMin samples
 *                  ok ──(p99 > SLA)──▶ breaching: warn "p99 over SLA"
 *                  breaching ──(p99 <= SLA, or too few samples)──▶ ok: warn "p99 back within SLA"
 * ```
 *
 * `check` is called by its owner on a timer (the runner's health sampler, once a second), so a
 * table that stops receiving batches still recovers; nothing here arms a timer.
 *
 * @module
 */
import { ACK_SLA_MS_DEFAULT } from "../../config/shared_sections.ts";
import {
  createLatencyWindow,
  type LatencyWindow,
  quantileOf,
} from "../../core/metrics/latency_window.ts";
import type { Logger } from "../../plugins/types.ts";
import type { RunnerMetrics } from "./runner_metrics.ts";

export { ACK_SLA_MS_DEFAULT };

/** Span of the rolling p99 the warnings are about, unless the options say otherwise. */
export const ACK_SLA_WINDOW_MS_DEFAULT = 60_000;

/** Fewest answers in the window before its p99 counts (a p99 of three answers says little). */
export const ACK_SLA_SAMPLES_MIN_DEFAULT = 20;

/** Ack latency quantiles of a table over a span, in ms (`undefined` without answers). */
export interface AckQuantiles {
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  count: number;
}

/** The SLA tracker of the runner's tables. */
export interface AckSla {
  /** The SLA of `table` in ms, `undefined` for an unknown table. */
  slaMs(table: string): number | undefined;
  /** Record an answer to a batch of `table` that took `latencyMs` from arrival. */
  observe(table: string, latencyMs: number): void;
  /** Quantiles of the answers of the last `spanMs` (default the window). */
  quantiles(table: string, nowMs: number, spanMs?: number): AckQuantiles;
  /** Compare every table's rolling p99 with its SLA; log and count crossings. */
  check(nowMs: number): void;
  /** True while the table's rolling p99 is over its SLA (as of the last `check`). */
  breaching(table: string): boolean;
}

/** Options of {@linkcode createAckSla}. */
export interface AckSlaOptions {
  /** SLA in ms by table name. */
  tables: Readonly<Record<string, number>>;
  /** The runner's metrics (ack histogram, within / breach counters, the SLA and p99 gauges). */
  metrics: RunnerMetrics;
  logger: Logger;
  /** Clock time of `observe` calls. */
  nowMs: () => number;
  /** Span of the rolling p99 (default {@linkcode ACK_SLA_WINDOW_MS_DEFAULT}). */
  windowMs?: number;
  /** Fewest answers in the window for its p99 to count (default {@linkcode ACK_SLA_SAMPLES_MIN_DEFAULT}). */
  samplesMin?: number;
  /** Answers kept per table (default the latency window's, 4,096). */
  samplesMax?: number;
}

interface TableSla {
  slaMs: number;
  window: LatencyWindow;
  breaching: boolean;
}

/**
 * Create the SLA tracker of `options.tables`.
 *
 * @example
 * ```ts
 * import { createAckSla } from "./ack_sla.ts";
 * import { createRunnerMetrics } from "./runner_metrics.ts";
 * import { noopLogger } from "../../plugins/logger.ts";
 * const metrics = createRunnerMetrics();
 * let now = 0;
 * const sla = createAckSla({ tables: { events: 100 }, metrics, logger: noopLogger, nowMs: () => now, samplesMin: 2 });
 * sla.observe("events", 40);
 * sla.observe("events", 400);
 * sla.check(now);
 * if (!sla.breaching("events")) throw new Error("p99 of 40 and 400 ms is over 100 ms");
 * if (metrics.ackSlaBreaches.get({ table: "events" }) !== 1) throw new Error("one breach");
 * ```
 */
export function createAckSla(options: AckSlaOptions): AckSla {
  const { metrics, logger } = options;
  const windowMs = options.windowMs ?? ACK_SLA_WINDOW_MS_DEFAULT;
  const samplesMin = options.samplesMin ?? ACK_SLA_SAMPLES_MIN_DEFAULT;
  const tables = new Map<string, TableSla>();
  for (const [name, slaMs] of Object.entries(options.tables)) {
    if (!(Number.isFinite(slaMs) && slaMs > 0)) {
      throw new RangeError(`Cannot track the SLA of table ${name}: ackSlaMs must be positive`);
    }
    tables.set(name, {
      slaMs,
      window: createLatencyWindow(
        options.samplesMax === undefined ? {} : { samplesMax: options.samplesMax },
      ),
      breaching: false,
    });
    metrics.ackSla.set({ table: name }, slaMs / 1000);
  }

  function quantiles(table: string, nowMs: number, spanMs = windowMs): AckQuantiles {
    const recent = tables.get(table)?.window.recent(nowMs, spanMs) ?? [];
    return {
      p50Ms: quantileOf(recent, 0.5),
      p99Ms: quantileOf(recent, 0.99),
      count: recent.length,
    };
  }

  return {
    slaMs: (table) => tables.get(table)?.slaMs,
    observe(table, latencyMs) {
      const t = tables.get(table);
      if (t === undefined) return;
      const labels = { table };
      metrics.ackLatency.observe(labels, latencyMs / 1000);
      if (latencyMs <= t.slaMs) metrics.ackWithinSla.inc(labels);
      else metrics.ackSlaBreaches.inc(labels);
      t.window.record(options.nowMs(), latencyMs);
    },
    quantiles,
    check(nowMs) {
      for (const [table, t] of tables) {
        const q = quantiles(table, nowMs);
        metrics.ackP99.set({ table }, (q.p99Ms ?? 0) / 1000);
        const over = q.count >= samplesMin && q.p99Ms !== undefined && q.p99Ms > t.slaMs;
        if (over === t.breaching) continue;
        t.breaching = over;
        const fields = {
          table,
          slaMs: t.slaMs,
          p99Ms: q.p99Ms ?? null,
          answers: q.count,
          windowMs,
        };
        if (over) {
          metrics.ackSlaCrossings.inc({ table });
          logger.warn("Ack latency p99 over the table's SLA", fields);
        } else logger.warn("Ack latency p99 back within the table's SLA", fields);
      }
    },
    breaching: (table) => tables.get(table)?.breaching ?? false,
  };
}

/**
 * Latency buckets in seconds with one bucket at each SLA: `base` plus `slasMs / 1000`, ascending,
 * without repeats, so `le="<SLA>"` of the ack histogram counts exactly the answers within it.
 *
 * @example
 * ```ts
 * import { bucketsWithSlas } from "./ack_sla.ts";
 * if (bucketsWithSlas([0.1, 0.5], [250, 100]).join() !== "0.1,0.25,0.5") throw new Error("merged");
 * ```
 */
export function bucketsWithSlas(base: readonly number[], slasMs: Iterable<number>): number[] {
  const all = new Set(base);
  for (const ms of slasMs) all.add(ms / 1000);
  return [...all].sort((a, b) => a - b);
}
