/**
 * The Prometheus text-format registry the runner renders on `GET /metrics`. It lives in
 * `core/metrics/prometheus.ts` so that the edge, which loads nothing of `batch/`, renders its own
 * `/metrics` with it too; this module keeps the runner's imports where they were.
 *
 * @module
 */
export {
  type Counter,
  createPrometheusRegistry,
  escapeLabelValue,
  type Gauge,
  type Histogram,
  type Labels,
  LATENCY_BUCKETS_SECONDS,
  PROMETHEUS_CONTENT_TYPE,
  type PrometheusRegistry,
} from "../../core/metrics/prometheus.ts";
