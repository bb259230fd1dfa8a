/**
 * Where a data file of an `add` lies in the table's storage: a leaf module, so that a caller that
 * needs only the path (the DuckDB compaction engine) does not load the Parquet reader of
 * `scan_snapshot.ts`.
 *
 * @module
 */
import { UnsupportedFeatureError } from "../errors.ts";

/**
 * The storage path of a data file: `add.path` is relative to the table root, or an absolute URI
 * (shallow clones) that must lie under the storage root.
 *
 * @throws {UnsupportedFeatureError} for an absolute URI outside the table root
 *
 * @example
 * ```ts
 * import { dataFileStoragePath } from "./data_file_path.ts";
 * if (dataFileStoragePath("file:///t/a=1/f.parquet", "file:///t") !== "a=1/f.parquet") {
 *   throw new Error("not under the root");
 * }
 * ```
 */
export function dataFileStoragePath(path: string, storageLocation: string): string {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(path)) return path;
  const root = storageLocation.replace(/\/+$/, "") + "/";
  if (path.startsWith(root)) return path.slice(root.length);
  throw new UnsupportedFeatureError(
    `Cannot read data file ${path}: absolute path outside the table root ${storageLocation}`,
  );
}
