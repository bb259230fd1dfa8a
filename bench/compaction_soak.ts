/**
 * `deno task soak:compaction [--minutes 10] [--rate 10000] [--events 100] [--window-seconds 30]
 * [--warmup-seconds 0] [--data DIR] [--keep]`: does compaction keep up with sustained ingest (issue
 * 15, ADR 0036)? With `--warmup-seconds S` it first offers a ramp, unmeasured (their rows stay
 * in the table): `min(rate, 20,000)` events/s for S seconds, then, when the rate is above 60,000,
 * a third of it for S more: a service started cold and offered 150,000 events/s at once falls
 * seconds behind while its code is compiled and its heap grows (ADR 0050), as `bench:ingest`'s
 * ladder of rates avoids; one step of 20,000 was not enough at 150,000 (ADR 0051).
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
 * It ends with the worst of each figure over the run. The measurement (a snapshot load, one copy
 * of the table into one file by DuckDB, four DuckDB reads) runs in a child process of its own under
 * `nice -n 19` (where `nice` exists), so it takes CPU from the service only when a core would
 * otherwise idle: in the soak's process, at 10,000 events/s, it took a whole core every 30 s from
 * the service it measures. Since a reniced read waits for the CPU on a busy machine, its wall time
 * is printed beside the CPU time the read used (`cpu ms`, the child's user and system time over
 * the query): the ratio of the CPU times is the readers' cost, robust to sharing; the wall times
 * are what the earlier runs printed. The copy is written to `/dev/shm` (memory) where it exists,
 * so the measurement writes nothing to the service's disk. Nothing is asserted: it prints.
 *
 * `--measure TABLE_DIR SCRATCH_DIR` is that child: it prints one sample as JSON and exits.
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { runLoadGen, startDev } from "./dev_server.ts";

interface Options {
  minutes: number;
  rate: number;
  events: number;
  windowSeconds: number;
  warmupSeconds: number;
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
      "warmup-seconds": { type: "string", default: "0" },
      data: { type: "string" },
      keep: { type: "boolean", default: false },
    },
  });
  const num = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be positive, got '${v}'`);
    return n;
  };
  const nonNegative = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be 0 or more, got '${v}'`);
    return n;
  };
  return {
    minutes: num("minutes", values.minutes),
    rate: num("rate", values.rate),
    events: Math.round(num("events", values.events)),
    windowSeconds: num("window-seconds", values["window-seconds"]),
    warmupSeconds: nonNegative("warmup-seconds", values["warmup-seconds"]),
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
  /** CPU time (user + system) of the best read of the files, and of the one file. */
  readFilesCpuMs: number;
  readOneCpuMs: number;
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
    /** The better of two runs of `sql`: its wall time and the CPU time it used. */
    const timed = async (sql: string) => {
      let best = { ms: Infinity, cpuMs: Infinity };
      for (let i = 0; i < 2; i++) {
        const c = cpuUsage();
        const t = performance.now();
        await conn.runAndReadAll(sql);
        const ms = performance.now() - t;
        const used = cpuUsage(c);
        if (ms < best.ms) best = { ms, cpuMs: (used.user + used.system) / 1000 };
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
    const none = { ms: 0, cpuMs: 0 };
    const readFiles = paths.length === 0 ? none : await timed(READ_QUERY(list));
    const readOne = paths.length === 0 ? none : await timed(READ_QUERY(`read_parquet('${one}')`));
    return {
      version: snapshot.version,
      files: snapshot.files.length,
      filesPerPartitionMax: Math.max(0, ...perPartition.values()),
      rows,
      readFilesMs: readFiles.ms,
      readOneMs: readOne.ms,
      readFilesCpuMs: readFiles.cpuMs,
      readOneCpuMs: readOne.cpuMs,
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * {@linkcode measure} in a child process at the lowest CPU priority (`nice -n 19`; without `nice`,
 * at the usual one), so the measurement yields the CPU to the service it measures.
 */
async function measureNiced(tableDir: string, scratch: string): Promise<Sample> {
  const args = ["run", "--allow-all", import.meta.filename!, "--measure", tableDir, scratch];
  const niced = Deno.build.os !== "windows" && await hasNice();
  const out = await new Deno.Command(niced ? "nice" : Deno.execPath(), {
    args: niced ? ["-n", "19", Deno.execPath(), ...args] : args,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`the measurement failed (exit code ${out.code})`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Sample;
}

let niceFound: Promise<boolean> | undefined;
function hasNice(): Promise<boolean> {
  niceFound ??= new Deno.Command("nice", { args: ["true"], stdout: "null", stderr: "null" })
    .output().then((o) => o.success, () => false);
  return niceFound;
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
  const scratch = await Deno.makeTempDir({
    prefix: "lakestrike-soak-scratch-",
    ...(existsSync("/dev/shm") ? { dir: "/dev/shm" } : {}),
  });
  const server = await startDev(dataDir);
  const windows = Math.ceil((o.minutes * 60) / o.windowSeconds);
  const warmupRates = [
    Math.min(o.rate, 20_000),
    ...(o.rate > 60_000 ? [Math.round(o.rate / 3)] : []),
  ];
  console.log(
    `soak: ${o.minutes} min at ${fmt(o.rate)} events/s (${o.events} per request), a line every ` +
      `${o.windowSeconds} s; data ${dataDir}` +
      (o.warmupSeconds > 0
        ? `; warm-up ${o.warmupSeconds} s at ${
          warmupRates.map((r) => fmt(r)).join(", then ")
        } events/s first, unmeasured`
        : ""),
  );
  if (o.warmupSeconds > 0) {
    for (const rate of warmupRates) {
      await runLoadGen(server, { rate, seconds: o.warmupSeconds, events: o.events });
    }
  }
  console.log(
    "| t s | version | files | files/partition max | rows | DuckDB read files ms | one file ms | " +
      "ratio | read files cpu ms | one file cpu ms | cpu ratio | ack p99 ms | ack max ms | " +
      "acked/s | write amp |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  const worst = { filesPerPartition: 0, ratio: 0, cpuRatio: 0, p99: 0, max: 0 };
  let wa = NaN;
  const started = performance.now();
  try {
    for (let w = 0; w < windows; w++) {
      const load = runLoadGen(server, { rate: o.rate, seconds: o.windowSeconds, events: o.events });
      await new Promise((r) => setTimeout(r, (o.windowSeconds * 1000) / 2));
      const sample = await measureNiced(server.tableDir, scratch);
      const result = await load;
      wa = await metric(server.runnerUrl, "lakestrike_runner_compaction_write_amplification");
      const ratio = sample.readOneMs > 0 ? sample.readFilesMs / sample.readOneMs : NaN;
      const cpuRatio = sample.readOneCpuMs > 0 ? sample.readFilesCpuMs / sample.readOneCpuMs : NaN;
      worst.filesPerPartition = Math.max(worst.filesPerPartition, sample.filesPerPartitionMax);
      if (Number.isFinite(ratio)) worst.ratio = Math.max(worst.ratio, ratio);
      if (Number.isFinite(cpuRatio)) worst.cpuRatio = Math.max(worst.cpuRatio, cpuRatio);
      worst.p99 = Math.max(worst.p99, result.latencyMs.p99);
      worst.max = Math.max(worst.max, result.latencyMs.max);
      console.log(
        `| ${
          fmt((performance.now() - started) / 1000)
        } | ${sample.version} | ${sample.files} | ${sample.filesPerPartitionMax} | ${
          fmt(sample.rows)
        } | ${fmt(sample.readFilesMs, 1)} | ${fmt(sample.readOneMs, 1)} | ${fmt(ratio, 2)} | ${
          fmt(sample.readFilesCpuMs, 1)
        } | ${fmt(sample.readOneCpuMs, 1)} | ${fmt(cpuRatio, 2)} | ${
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
      `${fmt(worst.ratio, 2)}x (cpu ${fmt(worst.cpuRatio, 2)}x), window ack p99 ${
        fmt(worst.p99, 1)
      } ms (max ${fmt(worst.max, 1)} ms); write amplification at the end ${fmt(wa, 2)}`,
  );
}

if (import.meta.main) {
  if (Deno.args[0] === "--measure") {
    const [tableDir, scratch] = Deno.args.slice(1);
    if (tableDir === undefined || scratch === undefined) {
      throw new Error("usage: compaction_soak.ts --measure TABLE_DIR SCRATCH_DIR");
    }
    console.log(JSON.stringify(await measure(tableDir, scratch)));
  } else await main();
}
