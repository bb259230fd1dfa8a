import assert from "node:assert/strict";
import { createPrometheusRegistry, escapeLabelValue } from "./prometheus.ts";

Deno.test("prometheus: counters, gauges and cumulative histogram buckets render exactly", () => {
  const r = createPrometheusRegistry();
  const c = r.counter("x_total", "Things.\nMore.");
  const g = r.gauge("depth", "Depth.");
  const h = r.histogram("lat_seconds", "Latency.", [0.1, 1]);
  c.inc({ table: 'a"b' });
  c.inc({ table: 'a"b' }, 2);
  g.set({ table: "t" }, 4);
  g.set({ table: "t" }, 2);
  for (const v of [0.05, 0.1, 0.5, 3]) h.observe({ table: "t" }, v);
  assert.equal(
    r.render(),
    [
      "# HELP x_total Things.\\nMore.",
      "# TYPE x_total counter",
      'x_total{table="a\\"b"} 3',
      "# HELP depth Depth.",
      "# TYPE depth gauge",
      'depth{table="t"} 2',
      "# HELP lat_seconds Latency.",
      "# TYPE lat_seconds histogram",
      'lat_seconds_bucket{table="t",le="0.1"} 2',
      'lat_seconds_bucket{table="t",le="1"} 3',
      'lat_seconds_bucket{table="t",le="+Inf"} 4',
      'lat_seconds_sum{table="t"} 3.65',
      'lat_seconds_count{table="t"} 4',
      "",
    ].join("\n"),
  );
});

Deno.test("prometheus: label sets are bounded; bad names and values are refused", () => {
  const r = createPrometheusRegistry({ seriesMax: 2 });
  const c = r.counter("n_total", "N.");
  for (const t of ["a", "b", "c", "d"]) c.inc({ t });
  assert.equal(r.droppedSeries, 2);
  assert.equal(c.get({ t: "c" }), 0);
  assert.throws(() => c.inc({ t: "a" }, -1), /decrease/);
  assert.throws(() => c.inc({ "bad-name": "x" }), /label name/);
  assert.throws(() => r.counter("n_total", "again"), /already exists/);
  assert.throws(() => r.gauge("1bad", "x"), /invalid name/);
  assert.throws(() => r.histogram("h", "x", [1, 1]), /ascend/);
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  // Label order does not make a new series.
  const g = r.gauge("g", "G.");
  g.set({ a: "1", b: "2" }, 1);
  g.set({ b: "2", a: "1" }, 5);
  assert.equal(g.get({ a: "1", b: "2" }), 5);
  assert.match(r.render(), /^g\{a="1",b="2"\} 5$/m);
});
