// The dashboard's script (served by batch/ui/dashboard.ts): polls /metrics.json and draws every
// table with uPlot, loaded before it as the global `uPlot`. No framework: a section per table, made
// once, then its figures and charts updated in place, so the page never reloads.
"use strict";

const POLL_MS = 2000;
const sections = new Map();

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children || []) node.append(c);
  return node;
}

function figure(name, label) {
  const dd = el("dd", { "data-field": name, class: name }, ["–"]);
  return { node: el("div", {}, [el("dt", {}, [label]), dd]), dd };
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function ms(v) {
  if (v === null || v === undefined) return "–";
  return v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

function ago(msAgo) {
  const s = Math.max(0, Math.round(msAgo / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function run(r, nowMs) {
  if (!r) return "none yet";
  const when = ago(nowMs - r.atMs);
  const trigger = r.trigger ? `, ${r.trigger}` : "";
  return `${r.did} (${r.status}${trigger}, ${r.durationMs} ms, ${when})`;
}

function chartWidth(container) {
  return Math.max(320, container.clientWidth || 600);
}

function makeSection(name, report) {
  const fields = [
    ["version", "version"],
    ["ack", "ack p50 / p99"],
    ["sla", "SLA"],
    ["within", "answers within / over SLA"],
    ["rates", "events/s · commits/s"],
    ["files", "active files"],
    ["perPartition", "files per partition (max / mean)"],
    ["smallShare", "small-file share"],
    ["checkpoint", "since last checkpoint"],
    ["action", "recommended"],
    ["compaction", "last compaction"],
    ["vacuum", "last vacuum"],
    ["errors", "errors by code"],
  ].map(([key, label]) => [key, figure(key, label)]);
  const badge = el("span", { class: "badge" }, ["…"]);
  const latency = el("div", {
    class: "chart latency",
    "data-points": "0",
    "data-sla-ms": String(report.slaMs),
  });
  const throughput = el("div", { class: "chart throughput", "data-points": "0" });
  const section = el("section", { class: "table", "data-table": name }, [
    el("h2", {}, [el("span", { class: "name" }, [name]), " ", badge]),
    el("dl", { class: "figures" }, fields.map(([, f]) => f.node)),
    el("div", { class: "charts" }, [
      el("figure", {}, [el("figcaption", {}, ["ack latency (ms) against the SLA"]), latency]),
      el("figure", {}, [el("figcaption", {}, ["throughput"]), throughput]),
    ]),
  ]);
  document.getElementById("tables").append(section);
  const width = chartWidth(latency);
  const latencyPlot = new uPlot(
    {
      width,
      height: 220,
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(max, report.slaMs) * 1.15] },
      },
      series: [
        {},
        { label: "p50", stroke: "#2f6fdf", width: 2 },
        { label: "p99", stroke: "#e0752d", width: 2 },
        {
          label: `SLA ${report.slaMs} ms`,
          stroke: "#d62728",
          width: 1.5,
          dash: [6, 4],
          points: { show: false },
        },
      ],
      axes: [{}, { label: "ms" }],
    },
    [[], [], [], []],
    latency,
  );
  const throughputPlot = new uPlot(
    {
      width,
      height: 220,
      scales: { x: { time: true }, c: { auto: true } },
      series: [
        {},
        { label: "events/s", stroke: "#2ca02c", width: 2 },
        { label: "commits/s", stroke: "#9467bd", width: 2, scale: "c" },
      ],
      axes: [{}, { label: "events/s" }, {
        side: 1,
        scale: "c",
        label: "commits/s",
        grid: { show: false },
      }],
    },
    [[], [], []],
    throughput,
  );
  const state = {
    fields: Object.fromEntries(fields.map(([k, f]) => [k, f.dd])),
    badge,
    latency,
    throughput,
    latencyPlot,
    throughputPlot,
  };
  sections.set(name, state);
  return state;
}

function update(name, t, nowMs) {
  const s = sections.get(name) || makeSection(name, t);
  const f = s.fields;
  const series = t.series;
  const n = series.t.length;
  f.version.textContent = t.version === null ? "–" : String(t.version);
  f.ack.textContent = `${ms(t.ack.p50Ms)} / ${ms(t.ack.p99Ms)}`;
  f.sla.textContent = `${t.slaMs} ms`;
  f.within.textContent = `${t.ack.withinSla} / ${t.ack.breaches}`;
  const eps = n ? series.eventsPerS[n - 1] : 0;
  const cps = n ? series.commitsPerS[n - 1] : 0;
  f.rates.textContent = `${eps.toFixed(0)} · ${cps.toFixed(1)}`;
  const h = t.health;
  f.files.textContent = h ? `${h.files} (${bytes(h.bytes)})` : "–";
  f.perPartition.textContent = h
    ? `${h.filesPerPartitionMax} / ${h.filesPerPartitionMean.toFixed(1)} over ${h.partitions}`
    : "–";
  f.smallShare.textContent = h ? `${(100 * h.smallFileShare).toFixed(0)} % (${h.smallFiles})` : "–";
  f.checkpoint.textContent = t.checkpoint
    ? `${ago(t.checkpoint.ageMs)} (version ${t.checkpoint.version}, ${
      h ? h.versionsSinceCheckpoint : "?"
    } versions since)`
    : `none yet${h ? ` (${h.versionsSinceCheckpoint} versions)` : ""}`;
  f.action.textContent = h ? `${h.action}: ${h.reason}` : "–";
  f.compaction.textContent = run(t.compaction, nowMs);
  f.vacuum.textContent = run(t.vacuum, nowMs);
  const errors = Object.entries(t.errors);
  f.errors.textContent = errors.length
    ? errors.map(([code, count]) => `${code} ${count}`).join(", ")
    : "none";
  s.badge.textContent = t.ack.breaching ? "p99 over SLA" : "within SLA";
  s.badge.className = `badge ${t.ack.breaching ? "breach" : "ok"}`;
  s.latencyPlot.setData([series.t, series.ackP50Ms, series.ackP99Ms, series.t.map(() => t.slaMs)]);
  s.throughputPlot.setData([series.t, series.eventsPerS, series.commitsPerS]);
  s.latency.setAttribute("data-points", String(n));
  s.throughput.setAttribute("data-points", String(n));
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const res = await fetch("/metrics.json", { credentials: "same-origin", cache: "no-store" });
    if (res.status === 401) {
      location.assign("/ui");
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const report = await res.json();
    for (const [name, t] of Object.entries(report.tables)) update(name, t, report.nowMs);
    status.textContent = `updated ${new Date(report.nowMs).toLocaleTimeString()}`;
    status.className = "";
  } catch (e) {
    status.textContent = `cannot reach the runner (${e.message}); retrying`;
    status.className = "error";
  }
}

addEventListener("resize", () => {
  for (const s of sections.values()) {
    const width = chartWidth(s.latency);
    s.latencyPlot.setSize({ width, height: 220 });
    s.throughputPlot.setSize({ width, height: 220 });
  }
});

poll();
setInterval(poll, POLL_MS);
