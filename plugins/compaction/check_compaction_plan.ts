/**
 * The plan phase of a compaction: check the bins a planner chose against the table state they were
 * planned on, and keep those inside the partition filter. A planner may be anyone's code, and a
 * wrong bin would move rows to another partition or rewrite a file twice, so nothing is read or
 * written until the plan passes. Pure.
 *
 * @module
 */
import { InvalidArgumentError } from "../../core/errors.ts";
import { type Add, deletionVectorUniqueId } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { CompactionBin } from "../types.ts";
import { planCompactionBins } from "./plan_compaction_bins.ts";

/** A partition filter: `{column: value}`, `null` for the null partition. */
export type PartitionFilter = Readonly<Record<string, string | null>>;

/**
 * The identity of a logical file: its path and its deletion vector (Delta PROTOCOL, "Add File and
 * Remove File": the primary key of a file action is the path plus the deletion vector's unique id).
 */
export function fileKey(add: Pick<Add, "path" | "deletionVector">): string {
  return `${add.path}\u0000${deletionVectorUniqueId(add.deletionVector)}`;
}

/**
 * Throw unless every column of `filter` is a partition column of the table.
 *
 * @throws {InvalidArgumentError} naming the column and the partition columns
 */
export function checkPartitionFilter(
  snapshot: Pick<Snapshot, "metadata">,
  filter: PartitionFilter | undefined,
): void {
  const partitionColumns = snapshot.metadata.partitionColumns;
  for (const column of Object.keys(filter ?? {})) {
    if (!partitionColumns.includes(column)) {
      throw new InvalidArgumentError(
        `Cannot compact: '${column}' is not a partition column (${
          partitionColumns.join(", ") || "the table is not partitioned"
        })`,
      );
    }
  }
}

/**
 * The bins of `planned` that lie inside `partitionFilter` (a planner plugin knows nothing of the
 * filter), after checking every bin: each file is an active file of `snapshot`, in at most one bin,
 * and has the partition values of its bin.
 *
 * @throws {InvalidArgumentError} for a filter column that is not a partition column, or a bin that
 * breaks a rule above (nothing has been read or written yet)
 *
 * @example
 * ```ts
 * import type { Snapshot } from "../../core/snapshot/snapshot.ts";
 * import { checkCompactionPlan } from "./check_compaction_plan.ts";
 * const file = (path: string, date: string) => ({
 *   path, partitionValues: { date }, size: 1, modificationTime: 0, dataChange: true,
 * });
 * const files = [file("a", "d1"), file("b", "d1"), file("c", "d2"), file("d", "d2")];
 * const snapshot = { files, metadata: { partitionColumns: ["date"] } } as unknown as Snapshot;
 * const bins = [
 *   { partitionValues: { date: "d1" }, files: files.slice(0, 2) },
 *   { partitionValues: { date: "d2" }, files: files.slice(2) },
 * ];
 * const kept = checkCompactionPlan(snapshot, bins, { date: "d2" });
 * if (kept.length !== 1 || kept[0]!.files[0]!.path !== "c") throw new Error("not filtered");
 * ```
 */
export function checkCompactionPlan(
  snapshot: Pick<Snapshot, "files" | "metadata">,
  planned: readonly CompactionBin[],
  partitionFilter?: PartitionFilter,
): CompactionBin[] {
  checkPartitionFilter(snapshot, partitionFilter);
  const plan = partitionFilter === undefined
    ? [...planned]
    : planned.filter((bin) =>
      planCompactionBins({ files: bin.files, metadata: snapshot.metadata }, {
        targetSizeBytes: Number.MAX_SAFE_INTEGER,
        minFiles: 1,
        partitionFilter,
      }).flatMap((b) => b.files).length === bin.files.length
    );
  const partitionColumns = snapshot.metadata.partitionColumns;
  const active = new Set(snapshot.files.map(fileKey));
  const inPlan = new Set<string>();
  for (const bin of plan) {
    for (const f of bin.files) {
      if (!active.has(fileKey(f))) {
        throw new InvalidArgumentError(`Cannot compact: planned file ${f.path} is not active`);
      }
      if (inPlan.has(fileKey(f))) {
        throw new InvalidArgumentError(`Cannot compact: file ${f.path} is in more than one bin`);
      }
      inPlan.add(fileKey(f));
      for (const c of partitionColumns) {
        if ((f.partitionValues[c] ?? null) !== (bin.partitionValues[c] ?? null)) {
          throw new InvalidArgumentError(
            `Cannot compact: file ${f.path} is not in the partition of its bin (${c})`,
          );
        }
      }
    }
  }
  return plan;
}
