/**
 * Commit latency of the write path on local disk: 1,000 commits, each a 1,000-row batch of the
 * 6-column event schema (ts timestamp, device_id string, value_i integer, value_d double, payload
 * 50-byte string, date date as the partition column), appended with a txn, then `maybeCheckpoint`
 * (interval 100). Latency = Parquet encode + stats + data put + commit put (+ checkpoint when due).
 *
 * `deno run -A bench/append_bench.ts [commits]`
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { appendBatch, createTable, maybeCheckpoint } from "../core/write/mod.ts";

const SCHEMA = {
  type: "struct" as const,
  fields: [
    { name: "ts", type: "timestamp" as const, nullable: true, metadata: {} },
    { name: "device_id", type: "string" as const, nullable: true, metadata: {} },
    { name: "value_i", type: "integer" as const, nullable: true, metadata: {} },
    { name: "value_d", type: "double" as const, nullable: true, metadata: {} },
    { name: "payload", type: "string" as const, nullable: true, metadata: {} },
    { name: "date", type: "date" as const, nullable: true, metadata: {} },
  ],
};

function makeBatch(k: number, rows: number): arrow.Table {
  const base = 1_704_067_200_000_000n + BigInt(k) * 60_000_000n;
  return createArrowTable(
    SCHEMA,
    Array.from({ length: rows }, (_, i) => ({
      ts: base + BigInt(i) * 1_000n,
      device_id: `device-${(i * 7 + k) % 500}`,
      value_i: (i * 31 + k) % 100_000,
      value_d: Math.sin(i + k) * 100,
      payload: `${k}-${i}-`.padEnd(50, "x"),
      date: "2024-01-01",
    })),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Run the benchmark and print a table. */
export async function main(commits = 1_000): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-append-" });
  try {
    const storage = createLocalStorage(dir);
    let snapshot = await createTable(storage, {
      schema: SCHEMA,
      partitionColumns: ["date"],
      configuration: { "delta.checkpointInterval": "100" },
    });
    // A few distinct batches, built before timing (batch building is the edge's job).
    const batches = Array.from({ length: 8 }, (_, k) => makeBatch(k, 1_000));
    const latencies: number[] = [];
    const checkpointLatencies: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < commits; i++) {
      const t = performance.now();
      const r = await appendBatch(storage, snapshot, batches[i % batches.length]!, {
        txn: { appId: "bench-edge", version: i },
      });
      if (!r.ok) throw new Error(r.reason);
      snapshot = r.snapshot;
      const c = await maybeCheckpoint(storage, snapshot);
      const ms = performance.now() - t;
      latencies.push(ms);
      if (c.written) checkpointLatencies.push(ms);
    }
    const totalS = (performance.now() - t0) / 1000;
    const loaded = await loadSnapshot(storage);
    if (loaded.version !== commits || loaded.files.length !== commits) {
      throw new Error(`expected ${commits} versions and files, got ${loaded.version}`);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `${commits} commits of 1,000-row batches (6 columns, zstd), local disk, checkpoint every 100`,
    );
    console.log("| p50 ms | p99 ms | max ms | mean ms | commits/s | checkpoint commits p50 ms |");
    console.log("|---:|---:|---:|---:|---:|---:|");
    const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    const cp = [...checkpointLatencies].sort((a, b) => a - b);
    console.log(
      `| ${percentile(sorted, 50).toFixed(1)} | ${percentile(sorted, 99).toFixed(1)} | ${
        sorted.at(-1)!.toFixed(1)
      } | ${mean.toFixed(1)} | ${(commits / totalS).toFixed(0)} | ${
        cp.length ? percentile(cp, 50).toFixed(1) : "-"
      } |`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args[0] ? Number(Deno.args[0]) : 1_000);
