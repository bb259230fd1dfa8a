/**
 * Arrow tables to and from Parquet bytes, through parquet-wasm.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import * as pq from "parquet-wasm";
import { InvalidArgumentError } from "../errors.ts";

/** Parquet compression codecs the writer offers. */
export type ParquetCompression = "zstd" | "snappy" | "lz4_raw" | "gzip" | "uncompressed";

/** Options of {@linkcode writeParquetFile}. */
export interface WriteParquetOptions {
  /** Compression codec of every column; default `"zstd"`. */
  compression?: ParquetCompression;
  /** Maximum rows per row group; default the parquet-wasm default (1,048,576). */
  rowGroupRows?: number;
  /** The `created_by` string of the footer. */
  createdBy?: string;
}

const CODECS: Record<ParquetCompression, pq.Compression> = {
  zstd: pq.Compression.ZSTD,
  snappy: pq.Compression.SNAPPY,
  lz4_raw: pq.Compression.LZ4_RAW,
  gzip: pq.Compression.GZIP,
  uncompressed: pq.Compression.UNCOMPRESSED,
};

/**
 * Encodes an Arrow table as one Parquet file. Types map as Arrow to Parquet does in arrow-rs:
 * `Timestamp(MICROSECOND, "UTC")` becomes `TIMESTAMP(MICROS, isAdjustedToUTC=true)`, a timestamp
 * without zone `isAdjustedToUTC=false`; footer statistics are written. parquet-wasm's memory grows
 * with the input and never shrinks (docs/design.md, toolchain note 5): callers should keep each
 * table to about 100k rows.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { writeParquetFile } from "./write_parquet_file.ts";
 * const table = arrow.tableFromArrays({ n: new Int32Array([1, 2, 3]) });
 * const bytes = writeParquetFile(table);
 * if (new TextDecoder().decode(bytes.subarray(0, 4)) !== "PAR1") throw new Error("not Parquet");
 * ```
 */
export function writeParquetFile(
  table: arrow.Table,
  options: WriteParquetOptions = {},
): Uint8Array {
  const codec = CODECS[options.compression ?? "zstd"];
  if (codec === undefined) {
    throw new InvalidArgumentError(
      `Cannot write Parquet: unknown compression "${options.compression}"`,
    );
  }
  // writeParquet consumes its arguments; a reused WriterProperties silently writes an uncompressed
  // file. Build new properties for every write (docs/design.md, toolchain note 1).
  let builder = new pq.WriterPropertiesBuilder().setCompression(codec);
  if (options.rowGroupRows !== undefined) {
    if (!Number.isInteger(options.rowGroupRows) || options.rowGroupRows < 1) {
      throw new InvalidArgumentError(
        `Cannot write Parquet: rowGroupRows must be a positive integer, got ${options.rowGroupRows}`,
      );
    }
    builder = builder.setMaxRowGroupSize(options.rowGroupRows);
  }
  if (options.createdBy !== undefined) builder = builder.setCreatedBy(options.createdBy);
  const props = builder.build();
  const wasmTable = pq.Table.fromIPCStream(arrow.tableToIPC(table, "stream"));
  return pq.writeParquet(wasmTable, props);
}

/** Options of {@linkcode readParquetFile}. */
export interface ReadParquetOptions {
  /** Only these top-level columns, in this order (an unknown name is an error). */
  columns?: string[];
  /** Rows per record batch. */
  batchSize?: number;
}

/**
 * Decodes a whole Parquet file into an Arrow table (through parquet-wasm and Arrow IPC).
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { readParquetFile, writeParquetFile } from "./write_parquet_file.ts";
 * const bytes = writeParquetFile(arrow.tableFromArrays({ n: new Int32Array([7, 8]) }));
 * const table = readParquetFile(bytes);
 * if (table.getChild("n")?.get(1) !== 8) throw new Error("unexpected");
 * ```
 */
export function readParquetFile(bytes: Uint8Array, options: ReadParquetOptions = {}): arrow.Table {
  const readerOptions: pq.ReaderOptions = {};
  if (options.batchSize !== undefined) readerOptions.batchSize = options.batchSize;
  const wasmTable = pq.readParquet(bytes, readerOptions);
  const table = arrow.tableFromIPC(wasmTable.intoIPCStream());
  if (options.columns === undefined) return table;
  // parquet-wasm 0.8's synchronous reader ignores `columns`: project after decoding.
  const names = new Set(table.schema.fields.map((f) => f.name));
  for (const c of options.columns) {
    if (!names.has(c)) {
      throw new InvalidArgumentError(`Cannot read Parquet column "${c}": not in the file`);
    }
  }
  return table.select(options.columns);
}
