/**
 * A tiny Prometheus text-format (version 0.0.4) registry: counters, gauges and histograms with
 * labels, rendered by {@linkcode PrometheusRegistry.render}. Histogram buckets are upper bounds in
 * seconds (or whatever unit the metric name ends with), cumulative, with `+Inf`, `_sum` and
 * `_count`, as the exposition format defines them.
 *
 * Label sets are bounded: each metric keeps at most `seriesMax` label combinations (default 1,000);
 * observations of further combinations are dropped and counted in
 * {@linkcode PrometheusRegistry.droppedSeries}.
 *
 * @module
 */

/** Label values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** A monotonically increasing counter. */
export interface Counter {
  /** Add `value` (default 1, must be >= 0). */
  inc(labels?: Labels, value?: number): void;
  /** Current value of a series (0 when never incremented). */
  get(labels?: Labels): number;
  /** Every series with its labels and value, in creation order. */
  series(): { labels: Labels; value: number }[];
}

/** A value that goes up and down. */
export interface Gauge {
  /** Set the value. */
  set(labels: Labels, value: number): void;
  /** Current value of a series (0 when never set). */
  get(labels?: Labels): number;
}

/** A histogram of observations. */
export interface Histogram {
  /** Record one observation. */
  observe(labels: Labels, value: number): void;
  /** Number of observations of a series. */
  count(labels?: Labels): number;
}

/** Registry of metrics that renders the Prometheus text format. */
export interface PrometheusRegistry {
  /** Create a counter; its name should end in `_total`. */
  counter(name: string, help: string): Counter;
  /** Create a gauge. */
  gauge(name: string, help: string): Gauge;
  /** Create a histogram with these bucket upper bounds (ascending, finite). */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram;
  /** Every metric in the text format, ending with a newline. */
  render(): string;
  /** Observations dropped because a metric had `seriesMax` label sets already. */
  readonly droppedSeries: number;
}

/** Default latency buckets in seconds, 1 ms to 10 s. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
]);

/** Content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escape a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Format a sample value: integers as is, `+Inf`/`-Inf`/`NaN` spelled as Prometheus does. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelKey(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const names = Object.keys(labels).sort();
  for (const n of names) {
    if (!LABEL_RE.test(n) || n.startsWith("__")) {
      throw new TypeError(`Cannot record metric: invalid label name ${JSON.stringify(n)}`);
    }
  }
  return names.map((n) => `${n}="${escapeLabelValue(labels[n]!)}"`).join(",");
}

function braces(key: string, extra?: string): string {
  const inner = [key, extra].filter((s) => s !== undefined && s !== "").join(",");
  return inner === "" ? "" : `{${inner}}`;
}

interface Series<T> {
  key: string;
  labels: Labels;
  value: T;
}

interface HistogramValue {
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Create an empty registry.
 *
 * @example
 * ```ts
 * import { createPrometheusRegistry } from "./prometheus.ts";
 * const registry = createPrometheusRegistry();
 * const commits = registry.counter("commits_total", "Commits written.");
 * const latency = registry.histogram("commit_latency_seconds", "Commit latency.", [0.01, 0.1]);
 * commits.inc({ table: "events" });
 * latency.observe({ table: "events" }, 0.05);
 * const text = registry.render();
 * if (!text.includes('commits_total{table="events"} 1')) throw new Error(text);
 * if (!text.includes('commit_latency_seconds_bucket{table="events",le="0.1"} 1')) throw new Error(text);
 * ```
 */
export function createPrometheusRegistry(options: { seriesMax?: number } = {}): PrometheusRegistry {
  const seriesMax = options.seriesMax ?? 1_000;
  const renderers: (() => string)[] = [];
  const names = new Set<string>();
  let dropped = 0;

  function declare(name: string): void {
    if (!NAME_RE.test(name)) throw new TypeError(`Cannot create metric ${name}: invalid name`);
    if (names.has(name)) throw new TypeError(`Cannot create metric ${name}: already exists`);
    names.add(name);
  }

  function seriesOf<T>(map: Map<string, Series<T>>, labels: Labels | undefined, init: () => T) {
    const key = labelKey(labels);
    let s = map.get(key);
    if (s === undefined) {
      if (map.size >= seriesMax) {
        dropped++;
        return undefined;
      }
      s = { key, labels: { ...labels }, value: init() };
      map.set(key, s);
    }
    return s;
  }

  function header(name: string, help: string, type: string): string {
    return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
  }

  function scalar(name: string, help: string, type: "counter" | "gauge") {
    declare(name);
    const map = new Map<string, Series<number>>();
    renderers.push(() => {
      let out = header(name, help, type);
      for (const s of map.values()) out += `${name}${braces(s.key)} ${formatValue(s.value)}\n`;
      return out;
    });
    return map;
  }

  return {
    get droppedSeries() {
      return dropped;
    },
    counter(name, help) {
      const map = scalar(name, help, "counter");
      return {
        inc(labels, value = 1) {
          if (!(value >= 0)) throw new RangeError(`Cannot decrease counter ${name}`);
          const s = seriesOf(map, labels, () => 0);
          if (s) s.value += value;
        },
        get: (labels) => map.get(labelKey(labels))?.value ?? 0,
        series: () => [...map.values()].map((s) => ({ labels: s.labels, value: s.value })),
      };
    },
    gauge(name, help) {
      const map = scalar(name, help, "gauge");
      return {
        set(labels, value) {
          const s = seriesOf(map, labels, () => 0);
          if (s) s.value = value;
        },
        get: (labels) => map.get(labelKey(labels))?.value ?? 0,
      };
    },
    histogram(name, help, buckets) {
      declare(name);
      for (let i = 0; i < buckets.length; i++) {
        if (!Number.isFinite(buckets[i]!) || (i > 0 && buckets[i]! <= buckets[i - 1]!)) {
          throw new RangeError(
            `Cannot create histogram ${name}: buckets must ascend and be finite`,
          );
        }
      }
      const bounds = [...buckets];
      const map = new Map<string, Series<HistogramValue>>();
      renderers.push(() => {
        let out = header(name, help, "histogram");
        for (const s of map.values()) {
          let cumulative = 0;
          for (let i = 0; i < bounds.length; i++) {
            cumulative += s.value.counts[i]!;
            out += `${name}_bucket${
              braces(s.key, `le="${formatValue(bounds[i]!)}"`)
            } ${cumulative}\n`;
          }
          out += `${name}_bucket${braces(s.key, 'le="+Inf"')} ${s.value.count}\n`;
          out += `${name}_sum${braces(s.key)} ${formatValue(s.value.sum)}\n`;
          out += `${name}_count${braces(s.key)} ${s.value.count}\n`;
        }
        return out;
      });
      return {
        observe(labels, value) {
          const s = seriesOf(map, labels, () => ({
            counts: new Array(bounds.length).fill(0),
            sum: 0,
            count: 0,
          }));
          if (!s) return;
          const i = bounds.findIndex((b) => value <= b);
          if (i >= 0) s.value.counts[i]!++;
          s.value.sum += value;
          s.value.count++;
        },
        count: (labels) => map.get(labelKey(labels))?.value.count ?? 0,
      };
    },
    render: () => renderers.map((r) => r()).join(""),
  };
}
