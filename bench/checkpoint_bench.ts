/**
 * What a checkpoint costs the thread that writes it, against its tombstones (issue 15): a snapshot
 * of the demo `events` table with `--files` active files (default 1,000) and M tombstones (the
 * `remove`s compaction leaves, M in `--tombstones`, default 0,20000,100000), then per M:
 *
 * * `build ms`: the actions as an Arrow table (`buildCheckpointTable`);
 * * `encode ms`: that table as Parquet bytes (`writeParquetFile`, snappy, as checkpoints are);
 * * `write ms`: `writeCheckpoint` to a local-disk table, the whole of it as the runner runs it;
 * * `stall max ms`: the longest the writing thread's event loop could not run anything during
 *   `write` (a timer re-armed every turn measures the gaps): what an ack, a commit or an incoming
 *   request waits at worst behind the checkpoint on a runner's thread;
 * * `bytes`: the checkpoint file's size;
 * * `next write ms` and `next stall max ms`: the same for the checkpoint after that one (100 new
 *   files, 100 of the old ones compacted, 100 more tombstones) as the runner writes it
 *   (ADR 0048): reusing the previous checkpoint's record batches (`createCheckpointCache`) and
 *   encoding the Parquet file in a worker thread (`createWorkerCheckpointEncoder`);
 * * `commit ms mean / max`: what each of 320 one-file commits costs a runner that reads `files`
 *   after every commit, as the compaction trigger does (`applyCommitToSnapshot`, then `files`).
 *
 * Each figure is the median of `--runs` runs (default 5). `deno task bench checkpoint [--files N]
 * [--tombstones M1,M2] [--runs R]`, or `deno run -A bench/checkpoint_bench.ts ...`. It prints; it
 * never asserts on time.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { DEMO_EVENTS_SCHEMA } from "../batch/demo_events.ts";
import type { Add, Remove } from "../core/log/actions.ts";
import { buildCheckpointTable, writeCheckpoint } from "../core/log/checkpoint_write.ts";
import { writeParquetFile } from "../core/parquet/write_parquet_file.ts";
import { applyCommitToSnapshot } from "../core/log/replay.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { createManualClock } from "../core/clock.ts";
import { createCheckpointCache } from "../core/log/checkpoint_cache.ts";
import { createWorkerCheckpointEncoder } from "../batch/runner/checkpoint_encoder.ts";

const NOW_MS = 1_760_000_000_000;

function statsOf(i: number): string {
  return JSON.stringify({
    numRecords: 100,
    minValues: {
      ts: "2025-10-09T08:53:20.000Z",
      device_id: "dev-0000",
      value_i: 0,
      value_d: 0.5,
      payload: "payload-0",
    },
    maxValues: {
      ts: "2025-10-09T08:53:21.000Z",
      device_id: "dev-0999",
      value_i: i,
      value_d: 99.5,
      payload: "payload-99",
    },
    nullCount: { ts: 0, device_id: 0, value_i: 0, value_d: 0, payload: 0 },
  });
}

function addOf(i: number): Add {
  return {
    path: `date=2025-10-09/part-00000-${crypto.randomUUID()}.c000.zstd.parquet`,
    partitionValues: { date: "2025-10-09" },
    size: 6_000 + (i % 1000),
    modificationTime: NOW_MS - 1000 + (i % 1000),
    dataChange: true,
    stats: statsOf(i),
  };
}

/** A compaction's tombstone, as `removeOf` writes it (stats kept in the commit, not the checkpoint). */
function removeOfIndex(i: number): Remove {
  const add = addOf(i);
  return {
    path: add.path,
    deletionTimestamp: NOW_MS - 600_000 + (i % 600_000),
    dataChange: false,
    extendedFileMetadata: true,
    partitionValues: add.partitionValues,
    size: add.size,
    stats: add.stats ?? null,
  };
}

/** The demo table's state with `files` active files and `tombstones` removes. */
export function snapshotOf(files: number, tombstones: number, txns = 2): Snapshot {
  return {
    version: 10_000,
    protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    metadata: {
      id: "00000000-0000-0000-0000-000000000000",
      format: { provider: "parquet", options: {} },
      schemaString: JSON.stringify(DEMO_EVENTS_SCHEMA),
      partitionColumns: ["date"],
      configuration: {
        "delta.checkpointInterval": "100",
        "delta.logRetentionDuration": "interval 1 days",
      },
      createdTime: NOW_MS - 3_600_000,
    },
    schema: DEMO_EVENTS_SCHEMA,
    columnMappingMode: "none",
    files: Array.from({ length: files }, (_, i) => addOf(i)),
    tombstones: Array.from({ length: tombstones }, (_, i) => removeOfIndex(i)),
    txns: new Map(
      Array.from({ length: txns }, (_, i) => [
        `edge-${i}`,
        { appId: `edge-${i}`, version: 1_000 + i, lastUpdated: NOW_MS },
      ]),
    ),
    domainMetadata: new Map(),
    timestampMs: NOW_MS,
  };
}

/** Runs `fn` while a timer re-armed every turn records the longest gap between two turns. */
async function withStallProbe<T>(fn: () => Promise<T>): Promise<{ value: T; stallMaxMs: number }> {
  let last = performance.now();
  let stallMaxMs = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    stallMaxMs = Math.max(stallMaxMs, now - last);
    last = now;
    if (running) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  try {
    const value = await fn();
    return { value, stallMaxMs: Math.max(stallMaxMs, performance.now() - last) };
  } finally {
    running = false;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d });

/** Figures of one snapshot size. */
export interface CheckpointFigures {
  buildMs: number;
  encodeMs: number;
  writeMs: number;
  stallMaxMs: number;
  bytes: number;
  nextWriteMs: number;
  nextStallMaxMs: number;
  commitMeanMs: number;
  commitMaxMs: number;
}

/** The state 100 commits after `snapshot`: 100 new files, 100 old ones and 100 more removed. */
function nextOf(snapshot: Snapshot): Snapshot {
  const removes = snapshot.files.slice(0, 100).map((a, i) => ({
    remove: { ...removeOfIndex(i), path: a.path, deletionTimestamp: NOW_MS },
  }));
  const more = Array.from({ length: 100 }, (_, i) => ({ remove: removeOfIndex(1_000_000 + i) }));
  const adds = Array.from({ length: 100 }, (_, i) => ({ add: addOf(2_000_000 + i) }));
  const next = applyCommitToSnapshot(
    snapshot,
    snapshot.version + 1,
    [...removes, ...more, ...adds],
    NOW_MS,
  );
  // A runner's snapshot has its arrays already, derived commit by commit (`core/log/replay.ts`).
  void next.files;
  void next.tombstones;
  return next;
}

/** 320 one-file commits on `snapshot`, each followed by a read of `files`: mean and max ms. */
function measureCommits(snapshot: Snapshot): { meanMs: number; maxMs: number } {
  let s = applyCommitToSnapshot(snapshot, snapshot.version + 1, [], snapshot.timestampMs);
  void s.files;
  let total = 0, max = 0;
  const commits = 320;
  for (let i = 0; i < commits; i++) {
    const t0 = performance.now();
    s = applyCommitToSnapshot(s, s.version + 1, [{ add: addOf(i) }], s.timestampMs);
    void s.files.length;
    const ms = performance.now() - t0;
    total += ms;
    max = Math.max(max, ms);
  }
  return { meanMs: total / commits, maxMs: max };
}

/** Time the checkpoint of `snapshot` `runs` times into a fresh local-disk table under `dir`. */
export async function measureCheckpoint(
  snapshot: Snapshot,
  dir: string,
  runs: number,
): Promise<CheckpointFigures> {
  const clock = createManualClock(NOW_MS);
  const build: number[] = [], encode: number[] = [], write: number[] = [], stall: number[] = [];
  let bytes = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const table = buildCheckpointTable(snapshot, NOW_MS);
    const t1 = performance.now();
    writeParquetFile(table, { compression: "snappy" });
    const t2 = performance.now();
    build.push(t1 - t0);
    encode.push(t2 - t1);
    const storage = createLocalStorage(await Deno.makeTempDir({ dir }));
    const t3 = performance.now();
    const probed = await withStallProbe(() => writeCheckpoint(storage, snapshot, { clock }));
    write.push(performance.now() - t3);
    stall.push(probed.stallMaxMs);
    bytes = probed.value.sizeInBytes;
  }
  const next = nextOf(snapshot);
  const nextWrite: number[] = [], nextStall: number[] = [];
  const encoder = createWorkerCheckpointEncoder();
  try {
    for (let r = 0; r < runs; r++) {
      const storage = createLocalStorage(await Deno.makeTempDir({ dir }));
      const options = { clock, cache: createCheckpointCache(), encode: encoder.encode };
      await writeCheckpoint(storage, snapshot, options);
      const t0 = performance.now();
      const probed = await withStallProbe(() => writeCheckpoint(storage, next, options));
      nextWrite.push(performance.now() - t0);
      nextStall.push(probed.stallMaxMs);
    }
  } finally {
    encoder.close();
  }
  const commits = measureCommits(snapshot);
  return {
    nextWriteMs: median(nextWrite),
    nextStallMaxMs: median(nextStall),
    buildMs: median(build),
    encodeMs: median(encode),
    writeMs: median(write),
    stallMaxMs: median(stall),
    bytes,
    commitMeanMs: commits.meanMs,
    commitMaxMs: commits.maxMs,
  };
}

/** Entry point of `deno task bench checkpoint`. */
export async function main(args: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      files: { type: "string", default: "1000" },
      tombstones: { type: "string", default: "0,20000,100000" },
      runs: { type: "string", default: "5" },
    },
    strict: false,
  });
  const files = Number(values.files);
  const runs = Number(values.runs);
  const counts = String(values.tombstones).split(",").map(Number);
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-checkpoint-bench-" });
  console.log(
    `checkpoint of the demo events table, ${fmt(files, 0)} active files, median of ${runs} runs`,
  );
  console.log(
    "| tombstones | build ms | encode ms | write ms | stall max ms | bytes | next write ms | " +
      "next stall max ms | commit ms mean | commit ms max |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  try {
    for (const m of counts) {
      const f = await measureCheckpoint(snapshotOf(files, m), dir, runs);
      console.log(
        `| ${fmt(m, 0)} | ${fmt(f.buildMs)} | ${fmt(f.encodeMs)} | ${fmt(f.writeMs)} | ${
          fmt(f.stallMaxMs)
        } | ${fmt(f.bytes, 0)} | ${fmt(f.nextWriteMs)} | ${fmt(f.nextStallMaxMs)} | ${
          fmt(f.commitMeanMs, 2)
        } | ${fmt(f.commitMaxMs)} |`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
