/**
 * Hive-style partition directories (`col=value/`), escaped the way Spark and Hive escape them
 * (Spark `ExternalCatalogUtils.escapePathName`), so that every Delta reader finds the same layout it
 * would have written itself.
 *
 * @module
 */

/** Directory value of a null (or empty) partition value, as Hive and Spark write it. */
export const HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__";

function mustEscape(code: number): boolean {
  // Spark `ExternalCatalogUtils.charToEscape`: control characters 0x01-0x1F, 0x7F and
  // `"#%'*/:=?\{[]^`.
  if (code < 0x20 || code === 0x7f) return true;
  switch (code) {
    case 0x22: // "
    case 0x23: // #
    case 0x25: // %
    case 0x27: // '
    case 0x2a: // *
    case 0x2f: // /
    case 0x3a: // :
    case 0x3d: // =
    case 0x3f: // ?
    case 0x5c: // \
    case 0x7b: // {
    case 0x5b: // [
    case 0x5d: // ]
    case 0x5e: // ^
      return true;
    default:
      return false;
  }
}

/**
 * Escape one partition column name or value for a directory name: every character Spark escapes
 * becomes `%XX` (upper-case hex); everything else, including spaces and non-ASCII, stays as is.
 * A null or empty value becomes {@linkcode HIVE_DEFAULT_PARTITION}.
 *
 * @example
 * ```ts
 * import { escapePartitionValue } from "./partition_path.ts";
 * if (escapePartitionValue("a/b:c") !== "a%2Fb%3Ac") throw new Error("not escaped");
 * if (escapePartitionValue(null) !== "__HIVE_DEFAULT_PARTITION__") throw new Error("null");
 * ```
 */
export function escapePartitionValue(value: string | null): string {
  if (value === null || value === "") return HIVE_DEFAULT_PARTITION;
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (mustEscape(code)) out += "%" + code.toString(16).toUpperCase().padStart(2, "0");
    else out += value[i];
  }
  return out;
}

/**
 * The relative directory of one partition, `col1=v1/col2=v2/`, in partition column order; an empty
 * string for an unpartitioned table.
 *
 * @example
 * ```ts
 * import { partitionPath } from "./partition_path.ts";
 * const dir = partitionPath(["date", "region"], { date: "2024-01-02", region: null });
 * if (dir !== "date=2024-01-02/region=__HIVE_DEFAULT_PARTITION__/") throw new Error(dir);
 * ```
 */
export function partitionPath(
  partitionColumns: readonly string[],
  values: Readonly<Record<string, string | null>>,
): string {
  let dir = "";
  for (const column of partitionColumns) {
    const value = values[column] ?? null;
    dir += `${escapePartitionValue(column)}=${escapePartitionValue(value)}/`;
  }
  return dir;
}
