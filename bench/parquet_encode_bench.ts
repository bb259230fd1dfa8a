/**
 * Parquet encoding benchmark: 1,000,000 rows of the 6-column event schema encoded by our paths
 * (`createArrowTable`, then the flat TypeScript writer `encodeFlatParquet` of ADR 0044, or
 * parquet-wasm's `writeParquetFile`; zstd, 100k rows per file as docs/design.md toolchain note 5
 * advises) against DuckDB `COPY ... TO (FORMAT parquet, COMPRESSION zstd)` of the same rows, with
 * one thread and with DuckDB's default thread count. Only the encoding is timed: row objects are
 * built before the clock starts, and DuckDB is loaded from our files before its `COPY` is timed.
 * The Arrow → Parquet step is timed apart from `createArrowTable`, and the last column compares
 * each row's rate with DuckDB's on one thread (the goal of issue 16 for the flat writer's encode).
 *
 * Run: `deno run -A bench/parquet_encode_bench.ts [--rows=1000000] [--runs=3]`
 *
 * @module
 */
import { DEMO_EVENTS_SCHEMA } from "../batch/demo_events.ts";
import { DuckDBInstance } from "@duckdb/node-api";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { encodeFlatParquet } from "../core/parquet/encode_flat.ts";
import { writeParquetFile } from "../core/parquet/write_parquet_file.ts";
import type { StructType } from "../core/schema/types.ts";

/** The event schema of the benchmark (the demo table's). */
export const EVENT_SCHEMA: StructType = DEMO_EVENTS_SCHEMA;

const CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Builds `n` deterministic event rows (timestamps as Date, dates as days since epoch). */
export function makeEventRows(n: number): Record<string, unknown>[] {
  let seed = 42;
  const rand = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const start = Date.UTC(2024, 0, 1);
  const rows = new Array<Record<string, unknown>>(n);
  for (let i = 0; i < n; i++) {
    const ms = start + i * 37 + Math.floor(rand() * 10);
    let payload = "";
    for (let k = 0; k < 50; k++) payload += CHARS[Math.floor(rand() * CHARS.length)];
    rows[i] = {
      ts: new Date(ms),
      device_id: `device-${String(Math.floor(rand() * 5000)).padStart(5, "0")}`,
      value_i: rand() < 0.01 ? null : Math.floor(rand() * 1_000_000),
      value_d: rand() < 0.01 ? null : rand() * 1000,
      payload,
      date: Math.floor(ms / 86_400_000),
    };
  }
  return rows;
}

interface OursResult {
  seconds: number;
  buildSeconds: number;
  encodeSeconds: number;
  bytes: number;
  files: string[];
}

type Writer = "flat" | "wasm";

function encodeOurs(
  rows: Record<string, unknown>[],
  chunkRows: number,
  dir: string,
  writer: Writer,
): OursResult {
  let build = 0;
  let encode = 0;
  let bytes = 0;
  const outputs: Uint8Array[] = [];
  const t0 = performance.now();
  for (let off = 0; off < rows.length; off += chunkRows) {
    const b0 = performance.now();
    const table = createArrowTable(EVENT_SCHEMA, rows.slice(off, off + chunkRows));
    const e0 = performance.now();
    build += e0 - b0;
    const out = writer === "flat"
      ? encodeFlatParquet(table, { compression: "zstd" })
      : writeParquetFile(table, { compression: "zstd" });
    if (out === undefined) throw new Error("The flat writer refused the event table");
    encode += performance.now() - e0;
    bytes += out.length;
    outputs.push(out);
  }
  const seconds = (performance.now() - t0) / 1000;
  const files = outputs.map((out, i) => {
    const path = `${dir}/${writer}-${i}.parquet`;
    Deno.writeFileSync(path, out);
    return path;
  });
  return { seconds, buildSeconds: build / 1000, encodeSeconds: encode / 1000, bytes, files };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function arg(name: string, fallback: number): number {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? fallback : Number(a.split("=")[1]);
}

/** Runs the benchmark and prints a table of rows per second. */
export async function main(): Promise<void> {
  const n = arg("rows", 1_000_000);
  const runs = arg("runs", 3);
  const chunkRows = 100_000;
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-bench-" });
  try {
    const rows = makeEventRows(n);
    const flat: OursResult[] = [];
    const wasm: OursResult[] = [];
    // Interleaved, so that a noisy neighbour slows both alike.
    for (let r = 0; r < runs; r++) {
      flat.push(encodeOurs(rows, chunkRows, dir, "flat"));
      wasm.push(encodeOurs(rows, chunkRows, dir, "wasm"));
    }
    const last = flat[flat.length - 1]!;

    const instance = await DuckDBInstance.create(":memory:");
    const conn = await instance.connect();
    await conn.run(
      `CREATE TABLE events AS SELECT * FROM read_parquet([${
        last.files.map((f) => `'${f}'`).join(",")
      }])`,
    );
    const count = (await conn.runAndReadAll("SELECT count(*) AS n FROM events"))
      .getRowObjectsJson();
    if (Number(count[0]!.n) !== n) throw new Error(`DuckDB loaded ${count[0]!.n} rows, not ${n}`);
    const defaultThreads = (await conn.runAndReadAll("SELECT current_setting('threads') AS t"))
      .getRowObjectsJson()[0]!.t;
    const duck = async (threads: string) => {
      await conn.run(`SET threads=${threads}`);
      const times: number[] = [];
      let size = 0;
      for (let r = 0; r < runs; r++) {
        const path = `${dir}/duck-${threads}-${r}.parquet`;
        const t0 = performance.now();
        await conn.run(`COPY events TO '${path}' (FORMAT parquet, COMPRESSION zstd)`);
        times.push((performance.now() - t0) / 1000);
        size = (await Deno.stat(path)).size;
      }
      return { seconds: median(times), bytes: size };
    };
    const duck1 = await duck("1");
    const duckN = await duck(String(defaultThreads));
    conn.closeSync();
    instance.closeSync();

    const rate = (s: number) => Math.round(n / s).toLocaleString("en-US");
    const mb = (b: number) => (b / 1e6).toFixed(1);
    const ratio = (s: number) => (duck1.seconds / s).toFixed(2);
    const row = (label: string, seconds: number, bytes: number | undefined) =>
      console.log(
        `| ${label} | ${seconds.toFixed(3)} | ${rate(seconds)} | ${
          bytes === undefined ? "" : mb(bytes)
        } | ${ratio(seconds)} |`,
      );
    console.log(
      `Parquet zstd encode of ${n.toLocaleString("en-US")} event rows (median of ${runs}, ` +
        `${chunkRows / 1000}k rows a file)`,
    );
    console.log("| encoder | seconds | rows/s | file MB | rows/s ÷ DuckDB 1 thread's |");
    console.log("|---|---|---|---|---|");
    for (
      const [name, results] of [["flat TypeScript writer", flat], ["parquet-wasm", wasm]] as const
    ) {
      row(
        `lakestrike, createArrowTable + ${name}`,
        median(results.map((o) => o.seconds)),
        results[results.length - 1]!.bytes,
      );
      row(
        `  of which Arrow → Parquet (${name})`,
        median(results.map((o) => o.encodeSeconds)),
        undefined,
      );
    }
    row("  of which createArrowTable", median(flat.map((o) => o.buildSeconds)), undefined);
    row("DuckDB COPY, 1 thread", duck1.seconds, duck1.bytes);
    row(`DuckDB COPY, ${defaultThreads} threads`, duckN.seconds, duckN.bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
