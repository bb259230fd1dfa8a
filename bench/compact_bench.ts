/**
 * Compaction benchmark, two parts (both on local disk, the 6-column event schema, one `date`
 * partition):
 *
 * 1. **in process**: 10,000 files of 100 rows compacted by `compactTable` with its defaults (128 MiB
 *    target, zstd, the `auto` engine), then DuckDB in the same process reads the same files and
 *    writes one zstd Parquet file (`COPY ... TO`). Rows/s, MB/s (of input bytes), peak RSS (sampled)
 *    and the time ratio.
 * 2. **as processes** (issue figures): 200 files of 5,000 rows (1M rows); `deno task compact` as a
 *    process (`deno run --allow-all batch/compact.ts`, the runtime's start included, npx's not)
 *    against a `python3` process running DuckDB's `read_parquet` → `COPY ... (COMPRESSION zstd)` of
 *    the same files, each on a fresh copy of the table, `--runs` times in turn; the medians of wall
 *    time and peak RSS (`/usr/bin/time`), side by side, and their ratio. Without Python's `duckdb`
 *    module the comparison runs DuckDB's Node API in a Deno process instead, and says so.
 *
 * `deno run --allow-all bench/compact_bench.ts [--part in-process|processes|all] [--files N]
 * [--rows N] [--cli-files N] [--cli-rows N] [--runs N]`
 *
 * @module
 */
import { DEMO_EVENTS_SCHEMA } from "../batch/demo_events.ts";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Action, Add } from "../core/log/actions.ts";
import { commitActions } from "../core/log/commit.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { writeParquetFile } from "../core/parquet/write_parquet_file.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { createTable } from "../core/write/mod.ts";
import { compactTable } from "../plugins/compaction/mod.ts";

const schema: StructType = DEMO_EVENTS_SCHEMA;
const dataSchema: StructType = { type: "struct", fields: schema.fields.slice(0, 5) };

/** Sample RSS every 20 ms and on demand; `peak` is the largest sample. */
function rssSampler() {
  let peak = Deno.memoryUsage().rss;
  const sample = () => {
    peak = Math.max(peak, Deno.memoryUsage().rss);
  };
  const timer = setInterval(sample, 20);
  return {
    sample,
    reset: () => {
      peak = Deno.memoryUsage().rss;
    },
    peak: () => peak,
    stop: () => clearInterval(timer),
  };
}

export async function buildTable(dir: string, files: number, rows: number): Promise<number> {
  const storage = createLocalStorage(dir);
  const v0 = await createTable(storage, { schema, partitionColumns: ["date"] });
  const payload = "x".repeat(50);
  const adds: Add[] = [];
  let bytesTotal = 0;
  const base = 1_718_000_000_000_000n;
  const batchSize = 64;
  for (let start = 0; start < files; start += batchSize) {
    const written = await Promise.all(
      Array.from({ length: Math.min(batchSize, files - start) }, async (_, k) => {
        const f = start + k;
        const records = Array.from({ length: rows }, (_, r) => ({
          ts: base + BigInt(f * rows + r) * 1000n,
          device_id: `device-${(f * rows + r) % 1000}`,
          value_i: r % 10 === 0 ? null : f * rows + r,
          value_d: (f * rows + r) / 7,
          payload,
        }));
        const bytes = writeParquetFile(createArrowTable(dataSchema, records));
        const path = `date=2024-06-10/part-${String(f).padStart(5, "0")}.zstd.parquet`;
        await storage.put(path, bytes);
        return { path, size: bytes.length };
      }),
    );
    for (const w of written) {
      bytesTotal += w.size;
      adds.push({
        path: w.path,
        partitionValues: { date: "2024-06-10" },
        size: w.size,
        modificationTime: adds.length,
        dataChange: true,
        stats: JSON.stringify({ numRecords: rows }),
      });
    }
  }
  const r = await commitActions(storage, v0, {
    operation: "WRITE",
    actions: adds.map((add): Action => ({ add })),
  });
  if (!r.ok) throw new Error(r.reason);
  return bytesTotal;
}

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Wall seconds and peak RSS (KiB) of one process, from `/usr/bin/time`. */
async function timed(cmd: string[]): Promise<{ wallS: number; rssKiB: number; stdout: string }> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "lakestrike-time %e %M", ...cmd],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd.join(" ")} failed:\n${stderr}`);
  const m = /lakestrike-time ([\d.]+) (\d+)/.exec(stderr);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${stderr}`);
  return {
    wallS: Number(m[1]),
    rssKiB: Number(m[2]),
    stdout: new TextDecoder().decode(out.stdout),
  };
}

const DUCKDB_PY = `import duckdb, sys
d = sys.argv[1]
duckdb.connect().execute(f"COPY (SELECT * FROM read_parquet('{d}/date=2024-06-10/*.parquet', hive_partitioning=false)) TO '{d}/duckdb-out.parquet' (FORMAT parquet, COMPRESSION zstd)")
`;
const DUCKDB_DENO = `import { DuckDBInstance } from "@duckdb/node-api";
const d = Deno.args[0];
const c = await (await DuckDBInstance.create(":memory:")).connect();
await c.run(\`COPY (SELECT * FROM read_parquet('\${d}/date=2024-06-10/*.parquet', hive_partitioning=false)) TO '\${d}/duckdb-out.parquet' (FORMAT parquet, COMPRESSION zstd)\`);
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Part 2: the compaction CLI against a DuckDB rewrite, each as a process. */
async function processes(files: number, rows: number, runs: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-compact-cli-bench-" });
  try {
    const orig = `${dir}/orig`;
    await Deno.mkdir(orig);
    const inputBytes = await buildTable(orig, files, rows);
    const py = await new Deno.Command("python3", { args: ["-c", "import duckdb"] }).output()
      .then((o) => o.success, () => false);
    let duckCmd: (d: string) => string[];
    let duckName: string;
    if (py) {
      await Deno.writeTextFile(`${dir}/rewrite.py`, DUCKDB_PY);
      duckCmd = (d) => ["python3", `${dir}/rewrite.py`, d];
      duckName = "python3 + duckdb (read_parquet -> COPY zstd)";
    } else {
      await Deno.writeTextFile(`${REPO_ROOT}/bench/out/duckdb_rewrite.ts`, DUCKDB_DENO);
      duckCmd = (d) => [Deno.execPath(), "run", "--allow-all", "bench/out/duckdb_rewrite.ts", d];
      duckName = "deno + @duckdb/node-api (python3 has no duckdb module here)";
    }
    const ours: { wallS: number; rssKiB: number }[] = [];
    const theirs: { wallS: number; rssKiB: number }[] = [];
    let filesAfter = 0;
    for (let i = 0; i < runs; i++) {
      const a = `${dir}/a${i}`;
      const b = `${dir}/b${i}`;
      await new Deno.Command("cp", { args: ["-r", orig, a] }).output();
      await new Deno.Command("cp", { args: ["-r", orig, b] }).output();
      const r = await timed([
        Deno.execPath(),
        "run",
        "--allow-all",
        "batch/compact.ts",
        a,
        "--json",
      ]);
      const summary = JSON.parse(r.stdout);
      if (summary.rowsRewritten !== files * rows) throw new Error("lakestrike: rows lost");
      filesAfter = summary.filesAfter;
      ours.push(r);
      theirs.push(await timed(duckCmd(b)));
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
    const fmt = (n: number, d = 2) => n.toLocaleString("en-US", { maximumFractionDigits: d });
    const wallA = median(ours.map((x) => x.wallS));
    const wallB = median(theirs.map((x) => x.wallS));
    const ratios = ours.map((x, i) => x.wallS / theirs[i]!.wallS);
    console.log(
      `\nas processes: ${fmt(files, 0)} files x ${fmt(rows, 0)} rows = ${
        fmt(files * rows, 0)
      } rows, ${fmt(inputBytes / 1e6, 1)} MB; median of ${runs} runs each, in turn`,
    );
    console.log("| process | wall s (median) | min..max | peak RSS MiB (median) | output files |");
    console.log("|---|---|---|---|---|");
    const range = (xs: number[]) => `${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}`;
    console.log(
      `| deno task compact (runtime start included) | ${fmt(wallA)} | ${
        range(ours.map((x) => x.wallS))
      } | ${fmt(median(ours.map((x) => x.rssKiB)) / 1024, 0)} | ${filesAfter} |`,
    );
    console.log(
      `| ${duckName} | ${fmt(wallB)} | ${range(theirs.map((x) => x.wallS))} | ${
        fmt(median(theirs.map((x) => x.rssKiB)) / 1024, 0)
      } | 1 |`,
    );
    console.log(
      `ratio lakestrike / DuckDB wall time: median ${fmt(median(ratios))}x (pairs ${
        ratios.map((x) => fmt(x)).join(", ")
      })`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Run the benchmark and print its tables. */
export async function main(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      part: { type: "string", default: "all" },
      files: { type: "string" },
      rows: { type: "string" },
      "cli-files": { type: "string" },
      "cli-rows": { type: "string" },
      runs: { type: "string" },
    },
  });
  const part = values.part;
  if (part !== "all" && part !== "in-process" && part !== "processes") {
    console.error(`error: --part must be in-process, processes or all, got '${part}'`);
    Deno.exit(2);
  }
  if (part !== "processes") {
    await inProcess(Number(values.files ?? 10_000), Number(values.rows ?? 100));
  }
  if (part !== "in-process") {
    await processes(
      Number(values["cli-files"] ?? 200),
      Number(values["cli-rows"] ?? 5_000),
      Number(values.runs ?? 5),
    );
  }
}

/** Part 1: `compactTable` and DuckDB in this process. */
async function inProcess(files: number, rows: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-compact-bench-" });
  const sampler = rssSampler();
  try {
    let t = performance.now();
    const inputBytes = await buildTable(dir, files, rows);
    const buildMs = performance.now() - t;
    const storage = createLocalStorage(dir);
    const snapshot = await loadSnapshot(storage, {});

    sampler.reset();
    const rssBefore = Deno.memoryUsage().rss;
    t = performance.now();
    const result = await compactTable(storage, snapshot, { onProgress: sampler.sample });
    const lsMs = performance.now() - t;
    sampler.sample();
    const lsPeak = sampler.peak();
    if (result.snapshot.files.length >= files) throw new Error("nothing compacted");
    if (result.metrics.numRowsWritten !== files * rows) throw new Error("rows lost");

    sampler.reset();
    const instance = await DuckDBInstance.create(":memory:");
    const conn = await instance.connect();
    const out = `${dir}/duckdb-out.parquet`;
    t = performance.now();
    await conn.run(
      `COPY (SELECT * FROM read_parquet('${dir}/date=2024-06-10/part-*.parquet'))
       TO '${out}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    const duckMs = performance.now() - t;
    sampler.sample();
    const duckPeak = sampler.peak();
    const duckRows = Number(
      (await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${out}')`))
        .getRowObjectsJson()[0]!.n,
    );
    conn.closeSync();
    instance.closeSync();
    const outBytes = (await Deno.stat(out)).size;

    const mb = inputBytes / 1e6;
    const totalRows = files * rows;
    const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d });
    console.log(
      `table: ${fmt(files)} files x ${rows} rows = ${fmt(totalRows)} rows, ${
        fmt(mb, 1)
      } MB input (built in ${fmt(buildMs / 1000, 1)} s); RSS before compaction ${
        fmt(rssBefore / 1e6)
      } MB`,
    );
    console.log("| engine | time s | rows/s | MB/s | peak RSS MB | output files | output MB |");
    console.log("|---|---|---|---|---|---|---|");
    console.log(
      `| lakestrike compactTable | ${fmt(lsMs / 1000, 2)} | ${fmt(totalRows / (lsMs / 1000))} | ${
        fmt(mb / (lsMs / 1000), 1)
      } | ${fmt(lsPeak / 1e6)} | ${result.metrics.numFilesAdded} | ${
        fmt(result.metrics.numBytesAdded / 1e6, 1)
      } |`,
    );
    console.log(
      `| DuckDB COPY TO (zstd) | ${fmt(duckMs / 1000, 2)} | ${fmt(duckRows / (duckMs / 1000))} | ${
        fmt(mb / (duckMs / 1000), 1)
      } | ${fmt(duckPeak / 1e6)} (same process) | 1 | ${fmt(outBytes / 1e6, 1)} |`,
    );
    console.log(`ratio lakestrike / DuckDB time: ${fmt(lsMs / duckMs, 1)}x`);
  } finally {
    sampler.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
