/**
 * The last step of a bin's rewrite, shared by both engines (`rewrite_bin_wasm.ts`,
 * `rewrite_bin_duckdb.ts`): a new file is put if absent at a fresh name in the bin's partition, and
 * its `add` is made; the new files of a rewrite that failed are deleted.
 *
 * @module
 */
import type { Clock } from "../../core/clock.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import { TEMP_FILE_PREFIX } from "../../core/storage/local.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { partitionPath } from "../../core/write/partition_path.ts";
import type { CompactionBin } from "../types.ts";

/**
 * A new file an engine wrote itself into a `.tmp-` name of the partition's directory on local disk
 * ({@linkcode localOutputFile}), moved into place by `storage.putLocalFile` instead of being read
 * back and put.
 */
export interface LocalOutput {
  file: string;
  size: number;
}

/**
 * Where an engine writing files itself should write the next new file of `bin`, when `storage` is
 * on local disk and can move it into place (`putLocalFile`); `undefined` otherwise. The directory
 * is created; a crash leaves the `.tmp-` file to vacuum.
 */
export async function localOutputFile(
  storage: ObjectStorage,
  partitionColumns: readonly string[],
  bin: CompactionBin,
): Promise<string | undefined> {
  if (storage.localFilePath === undefined || storage.putLocalFile === undefined) return undefined;
  const sample = storage.localFilePath(
    `${partitionPath(partitionColumns, bin.partitionValues)}part-00000.parquet`,
  );
  const dir = sample.slice(0, sample.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true });
  return `${dir}/${TEMP_FILE_PREFIX}${crypto.randomUUID()}.parquet`;
}

/**
 * Put the `index`-th new file of `bin` (if absent, at a fresh name in the bin's partition) and
 * return its `add` (`dataChange: false`); `onPath` learns the path before the put starts, so a
 * failure can delete it. The content is bytes, or a {@linkcode LocalOutput} to move into place.
 * Shared by both rewrite engines.
 */
export async function putRewrittenFile(
  storage: ObjectStorage,
  partitionColumns: readonly string[],
  bin: CompactionBin,
  index: number,
  content: Uint8Array | LocalOutput,
  stats: string,
  clock: Clock,
  onPath: (path: string) => void,
): Promise<Add> {
  const path = partitionPath(partitionColumns, bin.partitionValues) +
    `part-${String(index).padStart(5, "0")}-${crypto.randomUUID()}-c000.zstd.parquet`;
  onPath(path);
  // No commit names the file yet: a crash may leave it partly written, unreferenced, for vacuum.
  const put = content instanceof Uint8Array
    ? await storage.put(path, content, { ifAbsent: true, atomic: false })
    : await storage.putLocalFile!(path, content.file, { ifAbsent: true });
  if (!put.ok) {
    throw new InvalidArgumentError(`Cannot write data file ${path}: it already exists`);
  }
  return {
    path,
    partitionValues: { ...bin.partitionValues },
    size: content instanceof Uint8Array ? content.length : content.size,
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
