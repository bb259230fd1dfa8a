/**
 * The edge's side of the acknowledgement SLA (ADR 0040): it measures, per table, the latency a
 * client sees from its request to the `200` and counts answers within and over the table's
 * `ackSlaMs`; and it answers at once a request that can no longer be committed before its deadline,
 * instead of holding it until the deadline passes.
 *
 * **How "can no longer" is decided.** Every forward of a table's batch that the runner answers
 * `200` is timed (the runner's ack latency as the edge sees it: queue, ceiling, commit). The
 * table's *floor* is the fastest of its last `floorSamples` (8) such round trips of the last
 * `floorAgeMaxMs` (10 s), and exists only with at least `floorSamplesMin` (3) of them: the least a
 * batch has taken lately, never one slow commit alone. A request that arrives while a batch is in flight must wait for that batch and
 * then travel in the next one (one batch in flight per table, `buffer.ts`), so the soonest it can
 * be answered is
 *
 * ```
 *   soonest = now + max(0, floor - elapsed of the batch in flight) + floor     (a batch in flight)
 *   soonest = now + floor                                                     (nothing in flight)
 * ```
 *
 * When `soonest` is past the request's deadline it is answered `503 deadline_unmeetable` with
 * `written: "no"` and `Retry-After` (the floor, rounded up to whole seconds): nothing was buffered.
 * The floor is a lower bound (the fastest recent commit, the hold of the runner's pace left out),
 * so a request is refused only when even the best recent case misses its deadline; a table without
 * enough recent answered forwards has no floor and refuses nothing. Round trips age out, so a table
 * that refuses everything (and so forwards nothing) stops refusing after `floorAgeMaxMs` and
 * measures again: refusals last while the slowness does, plus at most that long.
 *
 * The figures are rendered on the edge's `GET /metrics` in the Prometheus text format:
 *
 * | metric | type | meaning |
 * |---|---|---|
 * | `lakestrike_edge_ack_latency_seconds{table}` | histogram | request arrival to `200`; a bucket at every table's SLA |
 * | `lakestrike_edge_ack_within_sla_total{table}` | counter | `200` answers within the table's `ackSlaMs` |
 * | `lakestrike_edge_ack_sla_breaches_total{table}` | counter | `200` answers over it |
 * | `lakestrike_edge_ack_sla_seconds{table}` | gauge | the table's `ackSlaMs` |
 * | `lakestrike_edge_commit_floor_seconds{table}` | gauge | the table's floor as of its last answered forward (0 without one) |
 * | `lakestrike_edge_deadline_refusals_total{table}` | counter | requests answered `503 deadline_unmeetable` |
 *
 * @module
 */
import {
  createPrometheusRegistry,
  LATENCY_BUCKETS_SECONDS,
  type PrometheusRegistry,
} from "../core/metrics/prometheus.ts";
import type { EdgeClock } from "./fake_timers.ts";
import type { ForwardBatch } from "./wire.ts";

/** A table's SLA unless its config sets `ackSlaMs` (the config's default, repeated: ADR 0040). */
export const EDGE_ACK_SLA_MS_DEFAULT = 250;

/** Answered forwards a table's floor is taken over, at most. */
export const FLOOR_SAMPLES_DEFAULT = 8;

/** Answered forwards a table's floor needs, at least. */
export const FLOOR_SAMPLES_MIN_DEFAULT = 3;

/** Age after which an answered forward no longer counts for the floor. */
export const FLOOR_AGE_MAX_MS_DEFAULT = 10_000;

/** Why a request is refused before it is buffered. */
export interface DeadlineRefusal {
  /** The soonest the request could be answered, in ms from now. */
  soonestMs: number;
  /** Whole seconds for `Retry-After` (at least 1). */
  retryAfterS: number;
}

/** The edge's SLA meter and deadline guard (see the module doc). */
export interface AckGuard {
  /** `forward`, timed per table: feeds the floors. */
  timed(forward: ForwardBatch): ForwardBatch;
  /** A refusal when a request of `table` with `deadlineMs` cannot be answered in time. */
  refusal(table: string, deadlineMs: number): DeadlineRefusal | undefined;
  /** Record a `200` answer to a request of `table` that took `latencyMs`. */
  observe(table: string, latencyMs: number): void;
  /** The table's floor in ms, `undefined` without enough recent answered forwards. */
  floorMs(table: string): number | undefined;
  /** The metrics registry (`render()` is what `GET /metrics` answers). */
  readonly registry: PrometheusRegistry;
}

interface TablePace {
  slaMs: number;
  /** Last answered round trips (clock time of the answer, ms taken), oldest first. */
  recent: { atMs: number; ms: number }[];
  /** Clock time the current forward attempt started, when one is in flight. */
  inFlightSinceMs: number | undefined;
}

/**
 * Create the guard of `tables` (SLA in ms by name).
 *
 * @example
 * ```ts
 * import { createAckGuard } from "./ack_guard.ts";
 * let now = 0;
 * const guard = createAckGuard({ events: 250 }, { clock: { nowMs: () => now } });
 * const forward = guard.timed(async () => {
 *   now += 2_000; // commits that take 2 s
 *   return { version: 1, rows: 1 };
 * });
 * for (let seq = 1; seq <= 3; seq++) {
 *   await forward({ table: "events", producerId: "e#1", seq, body: new Uint8Array() }, new AbortController().signal);
 * }
 * if (guard.refusal("events", now + 5_000) !== undefined) throw new Error("5 s is enough");
 * if (guard.refusal("events", now + 1_000)?.retryAfterS !== 2) throw new Error("1 s is not");
 * ```
 */
export function createAckGuard(
  tables: Readonly<Record<string, number>>,
  options: {
    clock: EdgeClock;
    floorSamples?: number;
    floorSamplesMin?: number;
    floorAgeMaxMs?: number;
  },
): AckGuard {
  const clock = options.clock;
  const floorSamples = options.floorSamples ?? FLOOR_SAMPLES_DEFAULT;
  const floorSamplesMin = options.floorSamplesMin ?? FLOOR_SAMPLES_MIN_DEFAULT;
  const floorAgeMaxMs = options.floorAgeMaxMs ?? FLOOR_AGE_MAX_MS_DEFAULT;
  const paces = new Map<string, TablePace>();
  const slas = new Set<number>(LATENCY_BUCKETS_SECONDS);
  for (const [name, slaMs] of Object.entries(tables)) {
    if (!(Number.isFinite(slaMs) && slaMs > 0)) {
      throw new RangeError(`Cannot measure the SLA of table ${name}: ackSlaMs must be positive`);
    }
    paces.set(name, { slaMs, recent: [], inFlightSinceMs: undefined });
    slas.add(slaMs / 1000);
  }
  const registry = createPrometheusRegistry();
  const p = "lakestrike_edge_";
  const latency = registry.histogram(
    `${p}ack_latency_seconds`,
    "Time from request arrival to the 200 answer.",
    [...slas].sort((a, b) => a - b),
  );
  const within = registry.counter(`${p}ack_within_sla_total`, "200 answers within ackSlaMs.");
  const breaches = registry.counter(`${p}ack_sla_breaches_total`, "200 answers over ackSlaMs.");
  const slaGauge = registry.gauge(`${p}ack_sla_seconds`, "The table's ackSlaMs, in seconds.");
  const floorGauge = registry.gauge(
    `${p}commit_floor_seconds`,
    "Fastest of the table's last answered forwards.",
  );
  const refusals = registry.counter(
    `${p}deadline_refusals_total`,
    "Requests answered at once because they could not commit before their deadline.",
  );
  for (const [name, pace] of paces) slaGauge.set({ table: name }, pace.slaMs / 1000);

  function floorMs(table: string): number | undefined {
    const since = clock.nowMs() - floorAgeMaxMs;
    const recent = (paces.get(table)?.recent ?? []).filter((r) => r.atMs > since);
    return recent.length < floorSamplesMin ? undefined : Math.min(...recent.map((r) => r.ms));
  }

  return {
    registry,
    floorMs,
    timed(forward) {
      return async (batch, signal) => {
        const pace = paces.get(batch.table);
        const startMs = clock.nowMs();
        if (pace !== undefined) pace.inFlightSinceMs = startMs;
        try {
          const answer = await forward(batch, signal);
          if (pace !== undefined) {
            const atMs = clock.nowMs();
            pace.recent.push({ atMs, ms: Math.max(0, atMs - startMs) });
            if (pace.recent.length > floorSamples) pace.recent.shift();
            floorGauge.set({ table: batch.table }, (floorMs(batch.table) ?? 0) / 1000);
          }
          return answer;
        } finally {
          if (pace !== undefined && pace.inFlightSinceMs === startMs) {
            pace.inFlightSinceMs = undefined;
          }
        }
      };
    },
    refusal(table, deadlineMs) {
      const pace = paces.get(table);
      const floor = floorMs(table);
      if (pace === undefined || floor === undefined) return undefined;
      const nowMs = clock.nowMs();
      const ahead = pace.inFlightSinceMs === undefined
        ? 0
        : Math.max(0, floor - (nowMs - pace.inFlightSinceMs));
      const soonestMs = ahead + floor;
      if (nowMs + soonestMs <= deadlineMs) return undefined;
      refusals.inc({ table });
      return { soonestMs, retryAfterS: Math.max(1, Math.ceil(floor / 1000)) };
    },
    observe(table, latencyMs) {
      const pace = paces.get(table);
      if (pace === undefined) return;
      latency.observe({ table }, latencyMs / 1000);
      if (latencyMs <= pace.slaMs) within.inc({ table });
      else breaches.inc({ table });
    },
  };
}

/** SLA in ms by table name of the edge's tables (`ackSlaMs`, default {@linkcode EDGE_ACK_SLA_MS_DEFAULT}). */
export function ackSlasOf(
  tables:
    | ReadonlyMap<string, { ackSlaMs?: number }>
    | Readonly<Record<string, { ackSlaMs?: number }>>,
): Record<string, number> {
  const entries = tables instanceof Map ? [...tables] : Object.entries(tables);
  return Object.fromEntries(
    entries.map(([name, t]) => [name, t.ackSlaMs ?? EDGE_ACK_SLA_MS_DEFAULT]),
  );
}
