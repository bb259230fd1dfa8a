/**
 * Hive-style partition directories (`col=value/`), escaped the way Spark and Hive escape them
 * (Spark `ExternalCatalogUtils.escapePathName`), so that every Delta reader finds the same layout it
 * would have written itself.
 *
 * Directory names have limits that every storage enforces by failing the write: a path segment of
 * at most 255 bytes (`NAME_MAX` of Linux and macOS file systems; ENAMETOOLONG), and an object key of
 * at most 1,024 bytes of UTF-8 (S3). {@linkcode partitionPath} refuses a directory over either
 * limit, so the refusal comes before any file is written and says which column is too long.
 *
 * The key budget: 1,024 bytes = the table root's key prefix (up to
 * {@linkcode TABLE_ROOT_BYTES_RESERVED}) + the partition directories (up to
 * {@linkcode PARTITION_PATH_BYTES_MAX}) + the data file name (up to
 * {@linkcode DATA_FILE_NAME_BYTES_RESERVED}; `part-00000-<uuid>.c000.zstd.parquet` is 65). ADR 0016.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";

/** Longest directory name (`col=value`, escaped) in UTF-8 bytes: `NAME_MAX` of local file systems. */
export const PARTITION_SEGMENT_BYTES_MAX = 255;
/** Longest object key in UTF-8 bytes (S3). */
export const OBJECT_KEY_BYTES_MAX = 1024;
/** Key bytes kept for the table root's prefix (`warehouse/events/`). */
export const TABLE_ROOT_BYTES_RESERVED = 256;
/** Key bytes kept for a data file's name (and a deletion vector's or a temporary file's). */
export const DATA_FILE_NAME_BYTES_RESERVED = 128;
/** Longest partition directory (`a=1/b=2/`) in UTF-8 bytes: what the key budget leaves. */
export const PARTITION_PATH_BYTES_MAX = OBJECT_KEY_BYTES_MAX - TABLE_ROOT_BYTES_RESERVED -
  DATA_FILE_NAME_BYTES_RESERVED;

/** A partition directory name that no storage would accept. */
export class PartitionPathError extends InvalidArgumentError {
  /** The partition column whose directory name is refused. */
  readonly column: string;
  /** What is wrong, without the "Cannot". */
  readonly reason: string;
  /** Create the error for a column and a reason. */
  constructor(column: string, reason: string) {
    super(`Cannot name the partition directory of column ${JSON.stringify(column)}: ${reason}`);
    this.name = "PartitionPathError";
    this.column = column;
    this.reason = reason;
  }
}

/** UTF-8 length of a well-formed string, without encoding it. */
function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4; // a surrogate pair: one code point above U+FFFF
      i++;
    } else n += 3;
  }
  return n;
}

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
 * @throws {PartitionPathError} (an `InvalidArgumentError`) when a `col=value` segment is over
 * {@linkcode PARTITION_SEGMENT_BYTES_MAX} bytes, the whole directory over
 * {@linkcode PARTITION_PATH_BYTES_MAX}, or a name or value is not well-formed UTF-16 (a lone
 * surrogate has no UTF-8 form).
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
  let bytes = 0;
  for (const column of partitionColumns) {
    const value = values[column] ?? null;
    if (!column.isWellFormed() || (value !== null && !value.isWellFormed())) {
      throw new PartitionPathError(column, "a lone surrogate has no UTF-8 form");
    }
    const segment = `${escapePartitionValue(column)}=${escapePartitionValue(value)}`;
    const segmentBytes = utf8Bytes(segment);
    if (segmentBytes > PARTITION_SEGMENT_BYTES_MAX) {
      throw new PartitionPathError(
        column,
        `directory name of ${segmentBytes} bytes, over the ${PARTITION_SEGMENT_BYTES_MAX} a file name may have`,
      );
    }
    dir += segment + "/";
    bytes += segmentBytes + 1;
  }
  if (bytes > PARTITION_PATH_BYTES_MAX) {
    throw new PartitionPathError(
      partitionColumns[partitionColumns.length - 1]!,
      `partition directories of ${bytes} bytes, over the ${PARTITION_PATH_BYTES_MAX} left for them in a ${OBJECT_KEY_BYTES_MAX}-byte object key`,
    );
  }
  return dir;
}
