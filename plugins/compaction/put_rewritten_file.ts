/**
 * The last step of a bin's rewrite, shared by both engines (`rewrite_bin.ts`,
 * `rewrite_bin_duckdb.ts`): a new file is put if absent at a fresh name in the bin's partition, and
 * its `add` is made; the new files of a rewrite that failed are deleted.
 *
 * @module
 */
import type { Clock } from "../../core/clock.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { partitionPath } from "../../core/write/partition_path.ts";
import type { CompactionBin } from "../types.ts";

/**
 * Put the `index`-th new file of `bin` (if absent, at a fresh name in the bin's partition) and
 * return its `add` (`dataChange: false`); `onPath` learns the path before the put starts, so a
 * failure can delete it. Shared by both rewrite engines.
 */
export async function putRewrittenFile(
  storage: ObjectStorage,
  partitionColumns: readonly string[],
  bin: CompactionBin,
  index: number,
  bytes: Uint8Array,
  stats: string,
  clock: Clock,
  onPath: (path: string) => void,
): Promise<Add> {
  const path = partitionPath(partitionColumns, bin.partitionValues) +
    `part-${String(index).padStart(5, "0")}-${crypto.randomUUID()}-c000.zstd.parquet`;
  onPath(path);
  // No commit names the file yet: a crash may leave it partly written, unreferenced, for vacuum.
  const put = await storage.put(path, bytes, { ifAbsent: true, atomic: false });
  if (!put.ok) {
    throw new InvalidArgumentError(`Cannot write data file ${path}: it already exists`);
  }
  return {
    path,
    partitionValues: { ...bin.partitionValues },
    size: bytes.length,
    modificationTime: clock.nowMs(),
    dataChange: false,
    stats,
  };
}

/** Delete new files that were certainly not committed; best effort (vacuum removes orphans). */
export async function deleteUncommittedFiles(
  storage: ObjectStorage,
  paths: readonly string[],
): Promise<void> {
  if (paths.length === 0) return;
  await storage.delete([...paths]).catch(() => {});
}
