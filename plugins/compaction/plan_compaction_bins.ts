/**
 * The default compaction planner: per partition, bin-pack the active files smaller than the target
 * size into bins of at least `minFiles` files, keeping files that were written together together.
 *
 * It is pure: it reads only the snapshot, never storage.
 *
 * @module
 */
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { HIVE_DEFAULT_PARTITION } from "../../core/write/partition_path.ts";
import type { CompactionBin } from "../types.ts";

/** Default target size of a compacted file: 128 MiB (docs/design.md section 7). */
export const TARGET_SIZE_BYTES_DEFAULT = 128 * 1024 * 1024;
/** Default least number of small files a bin must hold to be worth rewriting. */
export const MIN_FILES_DEFAULT = 5;
/** The table property that overrides the default target size (as Spark and delta-rs read it). */
export const TARGET_FILE_SIZE_PROPERTY = "delta.targetFileSize";

/** Options of {@linkcode planCompactionBins}. */
export interface PlanCompactionOptions {
  /** Target file size in bytes; default `delta.targetFileSize`, else {@linkcode TARGET_SIZE_BYTES_DEFAULT}. */
  targetSizeBytes?: number;
  /** Least number of files in a bin; default {@linkcode MIN_FILES_DEFAULT}. */
  minFiles?: number;
  /**
   * Only partitions whose values equal all of these (`{date: "2024-01-02"}`); `null` or
   * `__HIVE_DEFAULT_PARTITION__` matches the null partition.
   */
  partitionFilter?: Readonly<Record<string, string | null>>;
}

/**
 * The target size of a table: `override`, else the table property `delta.targetFileSize`, else
 * 128 MiB.
 *
 * @throws {InvalidArgumentError} when the property or the override is not a positive integer
 *
 * @example
 * ```ts
 * import { targetSizeOf } from "./plan_compaction_bins.ts";
 * if (targetSizeOf({ "delta.targetFileSize": "1048576" }) !== 1048576) throw new Error("property");
 * if (targetSizeOf({ "delta.targetFileSize": "1048576" }, 10) !== 10) throw new Error("override");
 * ```
 */
export function targetSizeOf(
  configuration: Readonly<Record<string, string>>,
  override?: number,
): number {
  if (override !== undefined) {
    if (!Number.isSafeInteger(override) || override < 1) {
      throw new InvalidArgumentError(
        `Cannot compact: targetSizeBytes must be a positive integer, got ${override}`,
      );
    }
    return override;
  }
  const text = configuration[TARGET_FILE_SIZE_PROPERTY];
  if (text === undefined) return TARGET_SIZE_BYTES_DEFAULT;
  const n = parseByteSize(text, TARGET_FILE_SIZE_PROPERTY);
  if (n < 1) {
    throw new InvalidArgumentError(`Cannot compact: ${TARGET_FILE_SIZE_PROPERTY} must be positive`);
  }
  return n;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parse a byte size such as `134217728`, `128MiB`, `100mb`, `1.5g` (k/m/g/t alone are binary, as
 * Spark's byte strings; `kb`/`mb`/`gb` decimal, `kib`/`mib`/`gib` binary).
 *
 * @param what names the flag or property in the error message
 * @throws {InvalidArgumentError} naming `what` when the text is not a size
 *
 * @example
 * ```ts
 * import { parseByteSize } from "./plan_compaction_bins.ts";
 * if (parseByteSize("128MiB") !== 134217728) throw new Error("MiB");
 * if (parseByteSize("2kb") !== 2000) throw new Error("kb");
 * ```
 */
export function parseByteSize(text: string, what = "size"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new InvalidArgumentError(
      `Invalid value for ${what}: expected a size such as 134217728, 128MiB or 100MB, got '${text}'`,
    );
  }
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`Invalid value for ${what}: '${text}' is too large`);
  }
  return n;
}

/**
 * Parse `k=v` partition filters (`--partition date=2024-01-02`) into an object.
 *
 * @throws {InvalidArgumentError} when an entry has no `=` or a column repeats
 *
 * @example
 * ```ts
 * import { parsePartitionFilter } from "./plan_compaction_bins.ts";
 * const f = parsePartitionFilter(["date=2024-01-02", "region=eu"]);
 * if (f.date !== "2024-01-02" || f.region !== "eu") throw new Error("bad filter");
 * ```
 */
export function parsePartitionFilter(entries: readonly string[]): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const e of entries) {
    const i = e.indexOf("=");
    if (i <= 0) {
      throw new InvalidArgumentError(
        `Invalid value for --partition: expected column=value, got '${e}'`,
      );
    }
    const k = e.slice(0, i);
    if (k in filter) throw new InvalidArgumentError(`Invalid value for --partition: '${k}' twice`);
    filter[k] = e.slice(i + 1);
  }
  return filter;
}

/** True when `add` lies in the partition `filter` names (`undefined`: every partition). */
export function matchesFilter(
  add: Add,
  partitionColumns: readonly string[],
  filter: Readonly<Record<string, string | null>> | undefined,
): boolean {
  if (filter === undefined) return true;
  for (const [column, wanted] of Object.entries(filter)) {
    if (!partitionColumns.includes(column)) {
      throw new InvalidArgumentError(
        `Cannot compact: '${column}' is not a partition column (${
          partitionColumns.join(", ") || "the table is not partitioned"
        })`,
      );
    }
    const actual = add.partitionValues[column] ?? null;
    const wantNull = wanted === null || wanted === HIVE_DEFAULT_PARTITION;
    if (wantNull ? actual !== null && actual !== "" : actual !== wanted) return false;
  }
  return true;
}

/**
 * Plan a compaction of `snapshot` (see the module documentation). Within a partition, small files
 * are ordered by `modificationTime` (log order breaks ties) and packed consecutively, so a bin
 * holds files written together and the rewrite keeps their row order; a bin is closed before a file
 * that would take it over the target size. Bins with fewer than `minFiles` files are dropped; files
 * at or above the target are never planned.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "../../core/snapshot/snapshot.ts";
 * import { planCompactionBins } from "./plan_compaction_bins.ts";
 * const files = [1, 2, 3].map((i) => ({
 *   path: `f${i}.parquet`, partitionValues: {}, size: 10, modificationTime: i, dataChange: true,
 * }));
 * const snapshot = { files, metadata: { partitionColumns: [], configuration: {} } } as unknown as Snapshot;
 * const bins = planCompactionBins(snapshot, { minFiles: 2, targetSizeBytes: 25 });
 * // 10 + 10 fits 25, the third file would overflow and stays alone (fewer than minFiles).
 * if (bins.length !== 1 || bins[0]!.files.length !== 2) throw new Error("unexpected plan");
 * ```
 */
export function planCompactionBins(
  snapshot: Pick<Snapshot, "files" | "metadata">,
  options: PlanCompactionOptions = {},
): CompactionBin[] {
  const target = targetSizeOf(snapshot.metadata.configuration, options.targetSizeBytes);
  const minFiles = options.minFiles ?? MIN_FILES_DEFAULT;
  if (!Number.isSafeInteger(minFiles) || minFiles < 1) {
    throw new InvalidArgumentError(`Cannot compact: minFiles must be >= 1, got ${minFiles}`);
  }
  const partitionColumns = snapshot.metadata.partitionColumns;
  const partitions = new Map<string, { values: Record<string, string | null>; files: Add[] }>();
  for (const add of snapshot.files) {
    if (add.size >= target) continue;
    if (!matchesFilter(add, partitionColumns, options.partitionFilter)) continue;
    const values: Record<string, string | null> = {};
    for (const c of partitionColumns) values[c] = add.partitionValues[c] ?? null;
    const key = JSON.stringify(partitionColumns.map((c) => values[c]));
    let p = partitions.get(key);
    if (p === undefined) partitions.set(key, p = { values, files: [] });
    p.files.push(add);
  }
  const bins: CompactionBin[] = [];
  for (const { values, files } of partitions.values()) {
    // Array.prototype.sort is stable: equal modification times keep log order.
    const ordered = [...files].sort((a, b) => a.modificationTime - b.modificationTime);
    let current: Add[] = [];
    let bytes = 0;
    const close = () => {
      if (current.length >= minFiles) bins.push({ partitionValues: values, files: current });
      current = [];
      bytes = 0;
    };
    for (const add of ordered) {
      if (current.length > 0 && bytes + add.size > target) close();
      current.push(add);
      bytes += add.size;
    }
    close();
  }
  return bins;
}
