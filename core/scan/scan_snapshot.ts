/**
 * Read the rows of a table at one snapshot, as Spark, delta-rs and delta-kernel-rs read them.
 *
 * For every active `add` of the snapshot: read its Parquet data file, drop the rows its deletion
 * vector names (Delta PROTOCOL, "Deletion Vectors"), and fill partition columns from the
 * `partitionValues` of the `add` (keyed by physical name under column mapping). The rows of one
 * data file form one batch.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import type { Add } from "../log/actions.ts";
import type { StructField } from "../schema/types.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { dataFileStoragePath } from "./data_file_path.ts";
import { loadDeletionVector } from "./deletion_vector.ts";
import type { LogicalRow, LogicalValue } from "./logical_row.ts";
import { parsePartitionValue } from "./partition_value.ts";
import { readDataFile } from "./read_data_file.ts";

export { dataFileStoragePath };

/** Options of {@linkcode scanSnapshot}. */
export interface ScanOptions {
  /** Stop after this many rows in total. */
  limit?: number;
  /**
   * Top-level logical column names to read, in the order the rows hold them. All columns of the
   * schema, in schema order, when omitted.
   */
  columns?: string[];
}

const PHYSICAL_NAME_KEY = "delta.columnMapping.physicalName";

/** The key of a partition column in `add.partitionValues`. */
function partitionKey(field: StructField, snapshot: Snapshot): string {
  if (snapshot.columnMappingMode === "none") return field.name;
  const physical = field.metadata[PHYSICAL_NAME_KEY];
  return typeof physical === "string" ? physical : field.name;
}

/** The top-level fields a scan returns, in row order. */
export function scanFields(snapshot: Snapshot, columns?: readonly string[]): StructField[] {
  const all = snapshot.schema.fields;
  if (columns === undefined) return [...all];
  return columns.map((name) => {
    const field = all.find((f) => f.name === name) ??
      all.find((f) => f.name.toLowerCase() === name.toLowerCase());
    if (!field) {
      throw new InvalidArgumentError(
        `Cannot scan column ${JSON.stringify(name)}: not in the table schema (${
          all.map((f) => f.name).join(", ")
        })`,
      );
    }
    return field;
  });
}

/** Read one logical file (data file minus its deletion vector) into rows of `fields`. */
export async function readAdd(
  storage: ObjectStorage,
  snapshot: Snapshot,
  add: Add,
  fields: readonly StructField[],
): Promise<LogicalRow[]> {
  const partitionColumns = new Set(
    snapshot.metadata.partitionColumns.map((c) => c.toLowerCase()),
  );
  const isPartition = fields.map((f) => partitionColumns.has(f.name.toLowerCase()));
  const dataFields = fields.filter((_, i) => !isPartition[i]);
  const bytes = await storage.get(dataFileStoragePath(add.path, storage.location));
  const dataRows = await readDataFile(bytes, dataFields, {
    columnMappingMode: snapshot.columnMappingMode,
    path: add.path,
  });
  const partitionValues: LogicalValue[] = fields.map((f, i) =>
    isPartition[i]
      ? parsePartitionValue(add.partitionValues[partitionKey(f, snapshot)], f.type)
      : null
  );
  let deleted: Set<number> | undefined;
  if (add.deletionVector) {
    deleted = new Set(await loadDeletionVector(storage, add.deletionVector));
  }
  const rows: LogicalRow[] = [];
  for (let r = 0; r < dataRows.length; r++) {
    if (deleted?.has(r)) continue;
    const dataRow = dataRows[r]!;
    let d = 0;
    rows.push(fields.map((_, i) => (isPartition[i] ? partitionValues[i]! : dataRow[d++]!)));
  }
  return rows;
}

/**
 * Yield the rows of the table at `snapshot`, one batch per data file. Each row is a
 * {@linkcode LogicalRow}: one value per selected top-level column (all columns of
 * `snapshot.schema` in schema order by default; see `logical_row.ts` for the representation).
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { writeParquetFile } from "../parquet/write_parquet_file.ts";
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import type { Snapshot } from "../snapshot/snapshot.ts";
 * import type { StructType } from "../schema/types.ts";
 * import { scanSnapshot } from "./scan_snapshot.ts";
 *
 * const storage = createMemoryStorage();
 * const data = arrow.tableFromArrays({ id: new Int32Array([1, 2]), name: ["a", "b"] });
 * await storage.put("day=2024-01-02/part-0.parquet", writeParquetFile(data));
 * const schema: StructType = {
 *   type: "struct",
 *   fields: [
 *     { name: "id", type: "long", nullable: false, metadata: {} },
 *     { name: "name", type: "string", nullable: true, metadata: {} },
 *     { name: "day", type: "date", nullable: true, metadata: {} },
 *   ],
 * };
 * const snapshot: Snapshot = {
 *   version: 0,
 *   protocol: { minReaderVersion: 1, minWriterVersion: 2 },
 *   metadata: {
 *     id: "example",
 *     format: { provider: "parquet" },
 *     schemaString: JSON.stringify(schema),
 *     partitionColumns: ["day"],
 *     configuration: {},
 *   },
 *   schema,
 *   columnMappingMode: "none",
 *   files: [{
 *     path: "day=2024-01-02/part-0.parquet",
 *     partitionValues: { day: "2024-01-02" },
 *     size: 1,
 *     modificationTime: 0,
 *     dataChange: true,
 *   }],
 *   tombstones: [],
 *   txns: new Map(),
 *   domainMetadata: new Map(),
 *   timestampMs: 0,
 * };
 * const rows = [];
 * for await (const batch of scanSnapshot(storage, snapshot)) rows.push(...batch);
 * // long -> bigint, string -> string, date -> days since 1970-01-01
 * if (JSON.stringify(rows, (_, v) => typeof v === "bigint" ? `${v}n` : v) !==
 *   '[["1n","a",19724],["2n","b",19724]]') throw new Error("unexpected rows");
 * ```
 */
export async function* scanSnapshot(
  storage: ObjectStorage,
  snapshot: Snapshot,
  options: ScanOptions = {},
): AsyncGenerator<LogicalRow[]> {
  const fields = scanFields(snapshot, options.columns);
  let remaining = options.limit ?? Infinity;
  if (remaining < 0 || Number.isNaN(remaining)) {
    throw new InvalidArgumentError(`Cannot scan with limit ${options.limit}: must be >= 0`);
  }
  for (const add of snapshot.files) {
    if (remaining <= 0) return;
    let rows = await readAdd(storage, snapshot, add, fields);
    if (rows.length > remaining) rows = rows.slice(0, remaining);
    remaining -= rows.length;
    if (rows.length > 0) yield rows;
  }
}
