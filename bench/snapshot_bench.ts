/**
 * Snapshot load time against log length: local-disk tables of 1,000 and 10,000 versions with a
 * checkpoint every 100 versions (each commit one `add` with stats plus a `txn`), then `loadSnapshot`
 * timed over repeated runs. Goal: < 300 ms at 10k versions.
 *
 * `deno run -A bench/snapshot_bench.ts [runs]`
 *
 * @module
 */
import { serializeActions } from "../core/log/actions.ts";
import type { Action } from "../core/log/actions.ts";
import { writeCheckpoint } from "../core/log/checkpoint_write.ts";
import { commitPath } from "../core/log/paths.ts";
import { applyCommitToSnapshot } from "../core/log/replay.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { createTable } from "../core/write/create_table.ts";

const SCHEMA = {
  type: "struct" as const,
  fields: [
    { name: "ts", type: "timestamp" as const, nullable: true, metadata: {} },
    { name: "device_id", type: "string" as const, nullable: true, metadata: {} },
    { name: "value_i", type: "integer" as const, nullable: true, metadata: {} },
    { name: "date", type: "date" as const, nullable: true, metadata: {} },
  ],
};

/** Write a table of `versions` commits (after version 0) straight to the log, checkpointing every 100. */
async function buildTable(storage: ObjectStorage, versions: number): Promise<Snapshot> {
  let snapshot = await createTable(storage, {
    schema: SCHEMA,
    partitionColumns: ["date"],
    configuration: { "delta.checkpointInterval": "100" },
  });
  const t0 = 1_700_000_000_000;
  for (let v = 1; v <= versions; v++) {
    const date = `2024-01-${String((v % 28) + 1).padStart(2, "0")}`;
    const actions: Action[] = [
      {
        commitInfo: {
          timestamp: t0 + v,
          operation: "WRITE",
          operationParameters: { mode: "Append" },
          readVersion: v - 1,
          isBlindAppend: true,
          engineInfo: "lakestrike/0.1.0",
        },
      },
      {
        add: {
          path: `date=${date}/part-00000-${crypto.randomUUID()}.c000.zstd.parquet`,
          partitionValues: { date },
          size: 40_000 + v,
          modificationTime: t0 + v,
          dataChange: true,
          stats:
            `{"numRecords":1000,"minValues":{"ts":"2024-01-01T00:00:00.000Z","device_id":"dev-0000","value_i":0},"maxValues":{"ts":"2024-01-01T00:01:00.000Z","device_id":"dev-0999","value_i":${v}},"nullCount":{"ts":0,"device_id":0,"value_i":0}}`,
        },
      },
      { txn: { appId: `edge-${v % 4}`, version: v, lastUpdated: t0 + v } },
    ];
    await storage.put(commitPath(v), new TextEncoder().encode(serializeActions(actions)));
    snapshot = applyCommitToSnapshot(snapshot, v, actions, t0 + v);
    if (v % 100 === 0) await writeCheckpoint(storage, snapshot);
  }
  return snapshot;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Build both tables, time `loadSnapshot`, print a table. */
export async function main(runs = 30): Promise<void> {
  const rows: { versions: number; files: number; buildS: number; median: number; p99: number }[] =
    [];
  for (const versions of [1_000, 10_000]) {
    const dir = await Deno.makeTempDir({ prefix: `lakestrike-snap-${versions}-` });
    try {
      const storage = createLocalStorage(dir);
      const b0 = performance.now();
      const built = await buildTable(storage, versions);
      const buildS = (performance.now() - b0) / 1000;
      await loadSnapshot(storage); // warm-up (JIT, wasm, page cache)
      const times: number[] = [];
      let files = 0;
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        const s = await loadSnapshot(storage);
        times.push(performance.now() - t);
        files = s.files.length;
        if (s.version !== built.version) {
          throw new Error(`loaded ${s.version}, built ${built.version}`);
        }
      }
      times.sort((a, b) => a - b);
      rows.push({
        versions,
        files,
        buildS,
        median: percentile(times, 50),
        p99: percentile(times, 99),
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  console.log(`loadSnapshot on local disk, checkpoint interval 100, ${runs} runs each`);
  console.log("| versions | active files | build s | median ms | p99 ms |");
  console.log("|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.versions} | ${r.files} | ${r.buildS.toFixed(1)} | ${r.median.toFixed(1)} | ${
        r.p99.toFixed(1)
      } |`,
    );
  }
  const [small, large] = rows;
  if (small && large) {
    console.log(
      `growth 1k -> 10k: median x${(large.median / small.median).toFixed(2)}, p99 x${
        (large.p99 / small.p99).toFixed(2)
      } (goal: median < 300 ms at 10k)`,
    );
  }
}

if (import.meta.main) await main(Deno.args[0] ? Number(Deno.args[0]) : 30);
