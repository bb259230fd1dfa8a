import { deepEqual, equal, throws } from "node:assert/strict";
import type { Add } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { checkCompactionPlan, checkPartitionFilter, fileKey } from "./check_compaction_plan.ts";

const file = (path: string, region: string | null, extra: Partial<Add> = {}): Add => ({
  path,
  partitionValues: { region },
  size: 10,
  modificationTime: 0,
  dataChange: true,
  ...extra,
});

const files = [file("a", "eu"), file("b", "eu"), file("c", "us"), file("d", null)];
const snapshot = {
  files,
  metadata: { partitionColumns: ["region"], configuration: {} },
} as unknown as Snapshot;
const bin = (region: string | null, fs: Add[]) => ({ partitionValues: { region }, files: fs });

Deno.test("checkCompactionPlan: keeps every valid bin, and only those inside the filter", () => {
  const plan = [bin("eu", files.slice(0, 2)), bin("us", [files[2]!]), bin(null, [files[3]!])];
  deepEqual(checkCompactionPlan(snapshot, plan), plan);
  deepEqual(checkCompactionPlan(snapshot, plan, { region: "us" }), [plan[1]]);
  deepEqual(checkCompactionPlan(snapshot, plan, { region: null }), [plan[2]]);
  deepEqual(checkCompactionPlan(snapshot, []), []);
});

Deno.test("checkCompactionPlan: refuses bins that would lose, move or duplicate rows", () => {
  throws(
    () => checkCompactionPlan(snapshot, [bin("eu", [file("ghost", "eu")])]),
    /planned file ghost is not active/,
  );
  // Same path, another deletion vector: not the active logical file.
  const dv = { storageType: "u", pathOrInlineDv: "ab", sizeInBytes: 1, cardinality: 1 } as const;
  throws(
    () => checkCompactionPlan(snapshot, [bin("eu", [{ ...files[0]!, deletionVector: dv }])]),
    /planned file a is not active/,
  );
  throws(
    () => checkCompactionPlan(snapshot, [bin("eu", [files[0]!]), bin("eu", [files[0]!])]),
    /file a is in more than one bin/,
  );
  throws(
    () => checkCompactionPlan(snapshot, [bin("eu", [files[2]!])]),
    /file c is not in the partition of its bin \(region\)/,
  );
  throws(
    () => checkCompactionPlan(snapshot, [], { nope: "x" }),
    /'nope' is not a partition column \(region\)/,
  );
});

Deno.test("checkPartitionFilter and fileKey", () => {
  checkPartitionFilter(snapshot, undefined);
  checkPartitionFilter(snapshot, { region: "eu" });
  const unpartitioned = { metadata: { partitionColumns: [] } } as unknown as Snapshot;
  throws(() => checkPartitionFilter(unpartitioned, { a: "1" }), /the table is not partitioned/);
  equal(fileKey(files[0]!), fileKey({ path: "a" }));
  const dv = { storageType: "u", pathOrInlineDv: "ab", sizeInBytes: 1, cardinality: 1 } as const;
  equal(fileKey(files[0]!) === fileKey({ path: "a", deletionVector: dv }), false);
});
