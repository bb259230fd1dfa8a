/**
 * Write one Arrow batch as Delta data files: validate it against the table schema, split it by
 * partition values, cut each partition into files of at most `fileRowsMax` rows, encode each file as
 * Parquet (zstd by default) with Delta statistics, and put them under Hive-style partition
 * directories, several at once (at most `writeConcurrencyMax`). Returns the `add` actions.
 *
 * The one data-file writer: `appendBatch` and the writer plugin (`plugins/writer`) both call it, so
 * a file the plugin writes is indistinguishable from one `appendBatch` writes.
 *
 * What it does not do: it never commits (the caller does) and never deletes what it wrote; files of
 * a batch whose commit fails stay behind as orphans for vacuum.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import { type Clock, systemClock } from "../clock.ts";
import { mapBounded } from "../concurrency.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { Add } from "../log/actions.ts";
import { computeStats, statsToJson } from "../parquet/compute_stats.ts";
import { encodeFlatParquet } from "../parquet/encode_flat.ts";
import { type ParquetCompression, writeParquetFile } from "../parquet/write_parquet_file.ts";
import type { StructType } from "../schema/types.ts";
import { assertWriteSupported } from "../snapshot/protocol.ts";
import type { Snapshot } from "../snapshot/snapshot.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { partitionPath } from "./partition_path.ts";
import { splitByPartition } from "./split_by_partition.ts";
import { numIndexedColsOf } from "./table_properties.ts";
import { validateBatch } from "./validate_batch.ts";

/**
 * Rows per data file at most: parquet-wasm memory grows with the input (docs/design.md, toolchain
 * note 5).
 */
export const FILE_ROWS_MAX = 100_000;

/** The `created_by` of the data files' footers. */
const CREATED_BY = "lakestrike/0.1.0";

/** Files written at once by default. */
export const WRITE_CONCURRENCY_MAX_DEFAULT = 8;

/** File name extension per codec (the names delta-rs and Spark use). */
export const PARQUET_EXTENSIONS: Readonly<Record<ParquetCompression, string>> = Object.freeze({
  zstd: ".zstd.parquet",
  snappy: ".snappy.parquet",
  lz4_raw: ".lz4raw.parquet",
  gzip: ".gz.parquet",
  uncompressed: ".parquet",
});

/** Options of {@linkcode writeDataFiles}. */
export interface WriteDataFilesOptions {
  /** Parquet codec; default `zstd`. */
  compression?: ParquetCompression;
  /** Rows per data file at most; default {@linkcode FILE_ROWS_MAX} (100,000). */
  fileRowsMax?: number;
  /** Files encoded and put at once at most; default {@linkcode WRITE_CONCURRENCY_MAX_DEFAULT}. */
  writeConcurrencyMax?: number;
  /** Source of `modificationTime`; default the system clock. */
  clock?: Clock;
  /** When true, encode and compute the `add` actions but put nothing. */
  dryRun?: boolean;
  /** Stops starting new files when it aborts (files already put stay, as orphans). */
  signal?: AbortSignal;
}

function dataSchemaOf(schema: StructType, partitionColumns: readonly string[]): StructType {
  return {
    type: "struct",
    fields: schema.fields.filter((f) => !partitionColumns.includes(f.name)),
  };
}

function positiveInteger(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidArgumentError(`Cannot write data files: ${name} must be a positive integer`);
  }
  return v;
}

/**
 * Write `batch` as data files of the table whose state is `snapshot` and return their `add`
 * actions (`dataChange: true`, with statistics). An empty batch writes nothing and returns `[]`.
 *
 * @throws {LakestrikeError} `SCHEMA_MISMATCH` naming the column when the batch does not fit the schema
 * @throws {UnsupportedFeatureError} when the table needs a writer feature lakestrike lacks
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { createArrowTable } from "../parquet/create_arrow_table.ts";
 * import { createTable } from "./create_table.ts";
 * import { writeDataFiles } from "./write_data_files.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [
 *     { name: "id", type: "long" as const, nullable: false, metadata: {} },
 *     { name: "region", type: "string" as const, nullable: true, metadata: {} },
 *   ],
 * };
 * const snapshot = await createTable(storage, { schema, partitionColumns: ["region"] });
 * const batch = createArrowTable(schema, [{ id: 1, region: "eu" }, { id: 2, region: "us" }]);
 * const adds = await writeDataFiles(storage, snapshot, batch);
 * if (adds.length !== 2 || !adds[0]!.path.startsWith("region=eu/")) throw new Error("bad files");
 * ```
 */
export async function writeDataFiles(
  storage: ObjectStorage,
  snapshot: Snapshot,
  batch: arrow.Table,
  options: WriteDataFilesOptions = {},
): Promise<Add[]> {
  assertWriteSupported(snapshot.protocol, snapshot.metadata);
  const clock = options.clock ?? systemClock;
  const compression = options.compression ?? "zstd";
  const fileRowsMax = positiveInteger("fileRowsMax", options.fileRowsMax, FILE_ROWS_MAX);
  const concurrency = positiveInteger(
    "writeConcurrencyMax",
    options.writeConcurrencyMax,
    WRITE_CONCURRENCY_MAX_DEFAULT,
  );
  const partitionColumns = snapshot.metadata.partitionColumns;
  const table = validateBatch(batch, snapshot.schema);
  if (table.numRows === 0) return [];

  const dataSchema = dataSchemaOf(snapshot.schema, partitionColumns);
  const numIndexedCols = numIndexedColsOf(snapshot.metadata.configuration);
  const pieces: { partitionValues: Record<string, string | null>; table: arrow.Table }[] = [];
  for (const s of splitByPartition(table, partitionColumns, snapshot.schema)) {
    for (let start = 0; start < s.table.numRows; start += fileRowsMax) {
      const end = Math.min(start + fileRowsMax, s.table.numRows);
      const rows = start === 0 && end === s.table.numRows ? s.table : s.table.slice(start, end);
      pieces.push({ partitionValues: s.partitionValues, table: rows });
    }
  }
  return await mapBounded(pieces, concurrency, async (piece, i): Promise<Add> => {
    options.signal?.throwIfAborted();
    // Flat tables in zstd or uncompressed go through the TypeScript writer (ADR 0044); anything
    // else through parquet-wasm, with fresh options per write: it consumes its writer properties
    // (docs/design.md, toolchain note 1).
    const bytes = encodeFlatParquet(piece.table, { compression, createdBy: CREATED_BY }) ??
      writeParquetFile(piece.table, { compression, createdBy: CREATED_BY });
    const stats = statsToJson(computeStats(piece.table, dataSchema, { numIndexedCols }));
    const name = `part-${String(i).padStart(5, "0")}-${crypto.randomUUID()}.c000${
      PARQUET_EXTENSIONS[compression]
    }`;
    const path = partitionPath(partitionColumns, piece.partitionValues) + name;
    if (!options.dryRun) {
      // No commit names the file yet: atomic visibility is not needed (a crash leaves an
      // unreferenced file for vacuum), and the local disk then writes it in place.
      const put = await storage.put(path, bytes, { ifAbsent: true, atomic: false });
      if (!put.ok) {
        // A random uuid collided: never overwrite someone else's data file.
        throw new InvalidArgumentError(`Cannot write data file ${path}: it already exists`);
      }
    }
    return {
      path,
      partitionValues: piece.partitionValues,
      size: bytes.length,
      modificationTime: clock.nowMs(),
      dataChange: true,
      stats,
    };
  });
}
