/**
 * The parquet-wasm rewrite engine of compaction: the exact engine, for every bin, and the only one
 * for bins DuckDB does not rewrite exactly (nested columns, column mapping, deletion vectors) or
 * fails on (ADR 0043). `rewriteBin` (`rewrite_bin.ts`) loads it with a dynamic import when a bin
 * needs it, so the DuckDB path never loads apache-arrow or parquet-wasm.
 *
 * It reads the files of the bin in order (row order and locality survive), drops the rows their
 * deletion vectors name, and writes new zstd Parquet files with fresh statistics that hold the data
 * columns only (partition values stay in the path and in `partitionValues`). A file whose Arrow
 * columns are already exactly the table's types is passed through as Arrow batches; any other file
 * (deletion vector, widened types, INT96, nested types, missing columns) goes through the exact
 * logical reader of `core/scan`, so decimals, timestamps and nested values keep their values.
 *
 * It streams: at most one output file of rows (cut at the target size, counted in input bytes, and
 * at `OUTPUT_FILE_ROWS_MAX` rows because parquet-wasm's memory grows with what it encodes) plus
 * `maxConcurrentIo` prefetched input files are held in memory at a time.
 *
 * It commits nothing and changes no table state. When it fails or is aborted, it deletes the files
 * it wrote before rethrowing: none of them was committed.
 *
 * ```
 * prefetch ▸ read file i (pass through | logical reader − DV rows) ▸ append ▸ cut at target/rows ▸ put
 * ```
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { systemClock } from "../../core/clock.ts";
import { LakestrikeError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import { computeStats, statsToJson } from "../../core/parquet/compute_stats.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import { readParquetFile, writeParquetFile } from "../../core/parquet/write_parquet_file.ts";
import { deltaSchemaToArrow } from "../../core/schema/delta_schema_to_arrow.ts";
import { decimalParams } from "../../core/schema/parse_schema.ts";
import type { DataType, StructField, StructType } from "../../core/schema/types.ts";
import { loadDeletionVector } from "../../core/scan/deletion_vector.ts";
import { isDecimal, type LogicalValue, rescaleDecimal } from "../../core/scan/logical_row.ts";
import { readDataFile } from "../../core/scan/read_data_file.ts";
import { dataFileStoragePath } from "../../core/scan/scan_snapshot.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { numIndexedColsOf } from "../../core/write/table_properties.ts";
import type { CompactionBin } from "../types.ts";
import { deleteUncommittedFiles, putRewrittenFile } from "./put_rewritten_file.ts";
import type { RewriteBinOptions, RewrittenBin } from "./rewrite_bin.ts";

/** Bounded parallelism: run `fn` with at most `limit` calls in flight. */
function createLimiter(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** A plain value `createArrowTable` accepts, from a logical value of `core/scan`. */
function toPlain(value: LogicalValue, type: DataType): unknown {
  if (value === null) return null;
  if (typeof type === "string") {
    if (isDecimal(value)) {
      const params = decimalParams(type);
      const scale = params?.scale ?? value.scale;
      const d = value.scale === scale ? value : rescaleDecimal(value, scale);
      if (d === undefined) {
        throw new LakestrikeError("SCHEMA_MISMATCH", `Cannot rescale a decimal to ${type}`);
      }
      return d.unscaled;
    }
    return value;
  }
  const list = value as LogicalValue[];
  switch (type.type) {
    case "struct": {
      const obj: Record<string, unknown> = {};
      type.fields.forEach((f, i) => {
        obj[f.name] = toPlain(list[i] ?? null, f.type);
      });
      return obj;
    }
    case "array":
      return list.map((v) => toPlain(v, type.elementType));
    case "map":
      return (value as [LogicalValue, LogicalValue][]).map((
        [k, v],
      ) => [toPlain(k, type.keyType), toPlain(v, type.valueType)]);
  }
}

/**
 * The file's rows as a table of `arrowSchema`, without copying, when every column is primitive and
 * already has exactly the target Arrow type; `undefined` otherwise.
 */
function passThrough(
  bytes: Uint8Array,
  dataSchema: StructType,
  arrowSchema: arrow.Schema,
): arrow.Table | undefined {
  if (!dataSchema.fields.every((f) => typeof f.type === "string")) return undefined;
  let table: arrow.Table;
  try {
    table = readParquetFile(bytes);
  } catch {
    return undefined; // e.g. a codec parquet-wasm lacks (Hadoop LZ4): the exact reader decodes it
  }
  const columns: number[] = [];
  for (const f of arrowSchema.fields) {
    const i = table.schema.fields.findIndex((x) => x.name === f.name);
    if (i < 0 || String(table.schema.fields[i]!.type) !== String(f.type)) return undefined;
    if (!f.nullable && table.getChildAt(i)!.nullCount > 0) return undefined;
    columns.push(i);
  }
  const batches = table.batches.map((b) =>
    new arrow.RecordBatch(
      arrowSchema,
      arrow.makeData({
        type: new arrow.Struct(arrowSchema.fields),
        length: b.numRows,
        nullCount: 0,
        children: columns.map((i) => b.getChildAt(i)!.data[0]!),
      }),
    )
  );
  return new arrow.Table(arrowSchema, batches);
}

/** Read one logical file (minus its deletion vector) as a table of the data schema. */
async function readLogicalFile(
  storage: ObjectStorage,
  snapshot: Snapshot,
  add: Add,
  bytes: Uint8Array,
  dataSchema: StructType,
  arrowSchema: arrow.Schema,
): Promise<arrow.Table> {
  if (!add.deletionVector) {
    const fast = passThrough(bytes, dataSchema, arrowSchema);
    if (fast !== undefined) return fast;
  }
  const rows = await readDataFile(bytes, dataSchema.fields, {
    columnMappingMode: snapshot.columnMappingMode,
    path: add.path,
  });
  const deleted = add.deletionVector
    ? new Set(await loadDeletionVector(storage, add.deletionVector))
    : undefined;
  const records: Record<string, unknown>[] = [];
  for (let r = 0; r < rows.length; r++) {
    if (deleted?.has(r)) continue;
    const row = rows[r]!;
    const rec: Record<string, unknown> = {};
    dataSchema.fields.forEach((f: StructField, i) => {
      rec[f.name] = toPlain(row[i] ?? null, f.type);
    });
    records.push(rec);
  }
  return createArrowTable(dataSchema, records);
}
/**
 * Rewrite the files of `bin` (files of `snapshot`) with parquet-wasm (see the module
 * documentation), `ioLimit` storage reads and writes at a time and at most `rowsMax` rows per new
 * file. The options are checked by the caller (`rewriteBin`). Nothing is committed.
 *
 * @throws the storage's error, or the signal's reason, after deleting the files written so far
 */
export async function rewriteBinWithWasm(
  storage: ObjectStorage,
  snapshot: Snapshot,
  bin: CompactionBin,
  options: RewriteBinOptions,
  ioLimit: number,
  rowsMax: number,
): Promise<RewrittenBin> {
  const target = options.targetSizeBytes;
  const clock = options.clock ?? systemClock;
  const partitionColumns = snapshot.metadata.partitionColumns;
  const dataSchema: StructType = {
    type: "struct",
    fields: snapshot.schema.fields.filter((f) => !partitionColumns.includes(f.name)),
  };
  const arrowSchema = deltaSchemaToArrow(dataSchema);
  const numIndexedCols = numIndexedColsOf(snapshot.metadata.configuration);
  const limit = createLimiter(ioLimit);
  const written: string[] = []; // every path a put was started for: deleted on failure

  const writeOutput = async (pending: arrow.Table[], index: number): Promise<Add> => {
    const table = new arrow.Table(arrowSchema, pending.flatMap((t) => t.batches));
    const bytes = writeParquetFile(table, { compression: "zstd", createdBy: "lakestrike/0.1.0" });
    const stats = statsToJson(computeStats(table, dataSchema, { numIndexedCols }));
    const add = await limit(() =>
      putRewrittenFile(
        storage,
        partitionColumns,
        bin,
        index,
        bytes,
        stats,
        clock,
        (path) => written.push(path),
      )
    );
    options.onFileWritten?.(add, table.numRows);
    return add;
  };

  // Prefetch up to `ioLimit` files ahead; decode strictly in order.
  const reads = new Map<number, Promise<Uint8Array>>();
  let next = 0;
  const fill = () => {
    while (next < bin.files.length && reads.size < ioLimit) {
      const f = bin.files[next]!;
      const read = limit(() => storage.get(dataFileStoragePath(f.path, storage.location)));
      // Awaited in order below; a read ahead that fails first must not be an unhandled rejection
      // (it took the whole runner process down, ingest included).
      read.catch(() => {});
      reads.set(next++, read);
    }
  };
  const out: RewrittenBin = { bin, adds: [], rowsRead: 0, rowsWritten: 0, bytesRead: 0 };
  const puts: Promise<Add>[] = [];
  let pending: arrow.Table[] = [];
  let pendingRows = 0;
  let pendingBytes = 0;
  const flush = () => {
    if (pendingRows === 0) return;
    const put = writeOutput(pending, puts.length);
    put.catch(() => {}); // awaited with the others (or settled on failure) below
    puts.push(put);
    out.rowsWritten += pendingRows;
    pending = [];
    pendingRows = 0;
    pendingBytes = 0;
  };
  try {
    for (let i = 0; i < bin.files.length; i++) {
      options.signal?.throwIfAborted();
      fill();
      const add = bin.files[i]!;
      const bytes = await reads.get(i)!;
      reads.delete(i);
      const table = await readLogicalFile(storage, snapshot, add, bytes, dataSchema, arrowSchema);
      out.rowsRead += table.numRows;
      out.bytesRead += add.size;
      // Split a file that alone exceeds the row cap; otherwise flush before overflowing.
      for (let start = 0; start < table.numRows;) {
        const take = Math.min(rowsMax - pendingRows, table.numRows - start);
        pending.push(
          start === 0 && take === table.numRows ? table : table.slice(start, start + take),
        );
        pendingRows += take;
        start += take;
        if (pendingRows >= rowsMax) flush();
      }
      pendingBytes += add.size;
      if (pendingBytes >= target) flush();
      options.onFileRead?.(add);
    }
    flush();
    out.adds = await Promise.all(puts);
  } catch (e) {
    await Promise.allSettled([...puts, ...reads.values()]);
    await deleteUncommittedFiles(storage, written);
    throw e;
  }
  return out;
}
