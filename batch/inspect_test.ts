import { deepEqual, equal, ok } from "node:assert/strict";
import type { Add } from "../core/log/actions.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { formatSummary, summarize } from "./inspect.ts";

function file(i: number, date: string, rows: number): Add {
  return {
    path: `date=${date}/f${i}.parquet`,
    partitionValues: { date },
    size: rows * 8,
    modificationTime: i,
    dataChange: true,
    stats: JSON.stringify({ numRecords: rows }),
  };
}

function snapshotOf(files: Add[]): Snapshot {
  return {
    version: 7,
    timestampMs: 0,
    files,
    protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    metadata: { id: "t", partitionColumns: ["date"], configuration: {} },
    schema: { type: "struct", fields: [] },
  } as unknown as Snapshot;
}

Deno.test("inspect: files per partition by tier, bytes, and what compaction would do next", () => {
  const files = [
    ...Array.from({ length: 52 }, (_, i) => file(i, "d1", 400)), // tier 2 of 5, due
    file(100, "d1", 100_000), // full
    ...Array.from({ length: 3 }, (_, i) => file(200 + i, "d2", 400)),
  ];
  const s = summarize("memory://t", snapshotOf(files), []);
  const [d1, d2] = s.tiers.partitions;
  deepEqual(d1!.partitionValues, { date: "d1" });
  deepEqual(d1!.tiers.map((t) => [t.tier, t.files, t.bytes]), [[2, 52, 52 * 3200], [
    5,
    1,
    800_000,
  ]]);
  // 400 rows × 3 reach the 1,000 rows of tier 3: 17 bins of three files.
  equal(d1!.binsPlanned, 17);
  equal(d1!.filesPlanned, 51);
  ok(d1!.due);
  equal(d2!.binsPlanned, 1);
  ok(!d2!.due, "3 small files are below the trigger");
  const text = formatSummary(s);
  ok(text.includes("date=d1: 53 files, 943.8 KiB; next: 17 bins of 51 files, due now"), text);
  ok(text.includes("→ 17 bins (51 files) to tier 3"), text);
  ok(text.includes("full"), text);
  // A partition at its tiers: nothing next.
  const settled = summarize("memory://t", snapshotOf(files.slice(52)), []);
  ok(formatSummary(settled).includes("date=d1: 1 files, 781.3 KiB; next: nothing (at its tiers)"));
});

Deno.test("inspect: the health summary gives the small-file share, files per partition, versions since the checkpoint and what to do", () => {
  const files = [
    ...Array.from({ length: 52 }, (_, i) => file(i, "d1", 400)),
    file(100, "d1", 100_000), // full: not small
    ...Array.from({ length: 3 }, (_, i) => file(200 + i, "d2", 400)),
  ];
  const s = summarize("memory://t", snapshotOf(files), [], { checkpointVersion: 5 });
  equal(s.health.smallFiles, 55);
  equal(s.health.smallFileShare, 55 / 56);
  equal(s.health.filesPerPartitionMax, 53);
  equal(s.health.filesPerPartitionMean, 28);
  equal(s.health.versionsSinceCheckpoint, 2);
  equal(s.health.action, "compact");
  const text = formatSummary(s);
  ok(
    text.includes("small files 55 of 56 (98 %); files per partition max 53, mean 28.0 over 2"),
    text,
  );
  ok(text.includes("2 versions since the last checkpoint (version 5)"), text);
  ok(text.includes("recommended compact: a partition holds 52 small files"), text);
  // Few small files and no checkpoint for far too long: checkpoint.
  const quiet = summarize("memory://t", { ...snapshotOf(files.slice(52)), version: 300 }, []);
  equal(quiet.health.action, "checkpoint");
  ok(formatSummary(quiet).includes("no checkpoint yet (301 versions)"), formatSummary(quiet));
});
