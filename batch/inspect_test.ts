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
