/**
 * Compaction benchmark: 10,000 files of 100 rows (the 6-column event schema, one `date` partition)
 * on local disk, compacted by `compactTable` with its defaults (128 MiB target, zstd); then DuckDB
 * reads the same files and writes one zstd Parquet file (`COPY ... TO`). Prints rows/s, MB/s (of
 * input file bytes), peak RSS (sampled) and the time ratio.
 *
 * `deno run --allow-all bench/compact_bench.ts [--files N] [--rows N]`
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

async function buildTable(dir: string, files: number, rows: number): Promise<number> {
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

/** Run the benchmark and print a table. */
export async function main(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { files: { type: "string" }, rows: { type: "string" } },
  });
  const files = Number(values.files ?? 10_000);
  const rows = Number(values.rows ?? 100);
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
