/**
 * `deno task soak:compaction [--minutes 10] [--rate 10000] [--events 100] [--window-seconds 30]
 * [--data DIR] [--keep]`: does compaction keep up with sustained ingest (issue 15, ADR 0036)?
 *
 * It starts `deno task dev` (defaults everywhere: the demo `events` table, partitioned by date, the
 * runner's triggered tiered compaction) on a fresh data directory and offers `--rate` events per
 * second with `bench/load_gen.ts`, one load generator per window of `--window-seconds` run back to
 * back (each starts in about half a second, so the offered load has that gap per window). Halfway
 * through every window, while the load runs, it measures the table and prints one line:
 *
 * * the most active data files in one partition, and the table's version;
 * * a full read of the active files by DuckDB (one thread, every data column aggregated, the
 *   better of two runs) against the same rows copied into one file, and their ratio;
 * * the window's ack latency p99 and max, as the load generator measured them (from each request's
 *   scheduled send time, so a stall is not hidden);
 * * the write amplification since start, as the runner's Prometheus metric
 *   `lakestrike_runner_compaction_write_amplification` says (compaction's bytes written over the
 *   ingested data files' bytes).
 *
 * It ends with the worst of each figure over the run. The measurement itself takes CPU from the
 * service (DuckDB, a snapshot load, one copy of the table): on a shared machine its figures are an
 * upper bound of what the service alone would show. Nothing is asserted: it prints.
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { runLoadGen, startDev } from "./dev_server.ts";

interface Options {
  minutes: number;
  rate: number;
  events: number;
  windowSeconds: number;
  data: string | undefined;
  keep: boolean;
}

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      minutes: { type: "string", default: "10" },
      rate: { type: "string", default: "10000" },
      events: { type: "string", default: "100" },
      "window-seconds": { type: "string", default: "30" },
      data: { type: "string" },
      keep: { type: "boolean", default: false },
    },
  });
  const num = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be positive, got '${v}'`);
    return n;
  };
  return {
    minutes: num("minutes", values.minutes),
    rate: num("rate", values.rate),
    events: Math.round(num("events", values.events)),
    windowSeconds: num("window-seconds", values["window-seconds"]),
    data: values.data,
    keep: values.keep,
  };
}

/** One sample of the runner's metric `name` (the first series), or NaN. */
async function metric(runnerUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${runnerUrl}/metrics`)).text();
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return NaN;
}

interface Sample {
  version: number;
  files: number;
  filesPerPartitionMax: number;
  rows: number;
  readFilesMs: number;
  readOneMs: number;
}

const READ_QUERY = (from: string) =>
  `SELECT count(*), sum(value_i), sum(value_d), max(payload), max(device_id), max(ts) FROM ${from}`;

/** The table now: files per partition, and DuckDB's full read of them against one file. */
async function measure(tableDir: string, scratch: string): Promise<Sample> {
  const snapshot = await loadSnapshot(createLocalStorage(tableDir));
  const perPartition = new Map<string, number>();
  for (const f of snapshot.files) {
    const key = JSON.stringify(f.partitionValues);
    perPartition.set(key, (perPartition.get(key) ?? 0) + 1);
  }
  const paths = snapshot.files.map((f) => join(tableDir, decodeURIComponent(f.path)));
  const list = `read_parquet([${paths.map((p) => `'${p.replaceAll("'", "''")}'`).join(", ")}])`;
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    await conn.run("SET threads = 1");
    const timed = async (sql: string) => {
      let best = Infinity;
      for (let i = 0; i < 2; i++) {
        const t = performance.now();
        await conn.runAndReadAll(sql);
        best = Math.min(best, performance.now() - t);
      }
      return best;
    };
    const one = join(scratch, "one.parquet");
    await conn.run(
      `COPY (SELECT * FROM ${list}) TO '${one}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    const rows = Number(
      (await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${one}')`))
        .getRowObjectsJson()[0]!.n,
    );
    const readFilesMs = paths.length === 0 ? 0 : await timed(READ_QUERY(list));
    const readOneMs = paths.length === 0 ? 0 : await timed(READ_QUERY(`read_parquet('${one}')`));
    return {
      version: snapshot.version,
      files: snapshot.files.length,
      filesPerPartitionMax: Math.max(0, ...perPartition.values()),
      rows,
      readFilesMs,
      readOneMs,
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const fmt = (n: number, d = 0) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d }) : "-";

/** Versions, files in `_delta_log`, and the time to open the table, in-process and by inspect. */
async function logFigures(tableDir: string, minutes: number) {
  let logFiles = 0;
  for await (const _ of Deno.readDir(join(tableDir, "_delta_log"))) logFiles++;
  const t0 = performance.now();
  const snapshot = await loadSnapshot(createLocalStorage(tableDir));
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  const inspect = await new Deno.Command(Deno.execPath(), {
    args: ["task", "inspect", tableDir],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).output();
  const inspectS = inspect.success ? (performance.now() - t1) / 1000 : NaN;
  return {
    version: snapshot.version,
    versionsPerMinute: snapshot.version / minutes,
    logFiles,
    loadMs,
    inspectS,
  };
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const dataDir = o.data ?? await Deno.makeTempDir({ prefix: "lakestrike-soak-" });
  const scratch = await Deno.makeTempDir({ prefix: "lakestrike-soak-scratch-" });
  const server = await startDev(dataDir);
  const windows = Math.ceil((o.minutes * 60) / o.windowSeconds);
  console.log(
    `soak: ${o.minutes} min at ${fmt(o.rate)} events/s (${o.events} per request), a line every ` +
      `${o.windowSeconds} s; data ${dataDir}`,
  );
  console.log(
    "| t s | version | files | files/partition max | rows | DuckDB read files ms | one file ms | " +
      "ratio | ack p99 ms | ack max ms | acked/s | write amp |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
  const worst = { filesPerPartition: 0, ratio: 0, p99: 0, max: 0 };
  let wa = NaN;
  const started = performance.now();
  try {
    for (let w = 0; w < windows; w++) {
      const load = runLoadGen(server, { rate: o.rate, seconds: o.windowSeconds, events: o.events });
      await new Promise((r) => setTimeout(r, (o.windowSeconds * 1000) / 2));
      const sample = await measure(server.tableDir, scratch);
      const result = await load;
      wa = await metric(server.runnerUrl, "lakestrike_runner_compaction_write_amplification");
      const ratio = sample.readOneMs > 0 ? sample.readFilesMs / sample.readOneMs : NaN;
      worst.filesPerPartition = Math.max(worst.filesPerPartition, sample.filesPerPartitionMax);
      if (Number.isFinite(ratio)) worst.ratio = Math.max(worst.ratio, ratio);
      worst.p99 = Math.max(worst.p99, result.latencyMs.p99);
      worst.max = Math.max(worst.max, result.latencyMs.max);
      console.log(
        `| ${
          fmt((performance.now() - started) / 1000)
        } | ${sample.version} | ${sample.files} | ${sample.filesPerPartitionMax} | ${
          fmt(sample.rows)
        } | ${fmt(sample.readFilesMs, 1)} | ${fmt(sample.readOneMs, 1)} | ${fmt(ratio, 2)} | ${
          fmt(result.latencyMs.p99, 1)
        } | ${fmt(result.latencyMs.max, 1)} | ${fmt(result.ackedEventsPerS)} | ${fmt(wa, 2)} |`,
      );
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    await Deno.remove(scratch, { recursive: true });
  }
  // What opening the table costs after the run (issue 16's soak figures).
  const log = await logFigures(server.tableDir, (performance.now() - started) / 60_000);
  if (!o.keep && o.data === undefined) await Deno.remove(dataDir, { recursive: true });
  console.log(
    `after the run: ${fmt(log.version)} versions (${fmt(log.versionsPerMinute)} a minute), ` +
      `${fmt(log.logFiles)} files in _delta_log; snapshot load ${fmt(log.loadMs, 1)} ms, ` +
      `\`deno task inspect\` ${fmt(log.inspectS, 2)} s as a process`,
  );
  console.log(
    `worst over the run: ${worst.filesPerPartition} active files in one partition, read ratio ` +
      `${fmt(worst.ratio, 2)}x, window ack p99 ${fmt(worst.p99, 1)} ms (max ${
        fmt(worst.max, 1)
      } ms); write amplification at the end ${fmt(wa, 2)}`,
  );
}

if (import.meta.main) await main();
