/**
 * Parquet data files: building Arrow tables from rows, encoding them as Parquet (flat tables by
 * the TypeScript writer of ADR 0044, anything else by parquet-wasm), decoding them back, and the
 * Delta per-file statistics of what is written.
 *
 * @example
 * ```ts
 * import { computeStats, createArrowTable, readParquetFile, statsToJson, writeParquetFile } from "./mod.ts";
 * const schema = {
 *   type: "struct" as const,
 *   fields: [
 *     { name: "ts", type: "timestamp" as const, nullable: false, metadata: {} },
 *     { name: "device", type: "string" as const, nullable: true, metadata: {} },
 *   ],
 * };
 * const table = createArrowTable(schema, [
 *   { ts: new Date("2024-01-02T03:04:05.123Z"), device: "a" },
 *   { ts: 1704164645123456n, device: null },
 * ]);
 * const bytes = writeParquetFile(table, { compression: "zstd" });
 * const stats = computeStats(table, schema);
 * if (readParquetFile(bytes).numRows !== 2) throw new Error("lost rows");
 * if (!statsToJson(stats).includes('"ts":"2024-01-02T03:04:05.124Z"')) throw new Error(statsToJson(stats));
 * ```
 *
 * @module
 */
export {
  createArrowData,
  createArrowTable,
  type CreateArrowTableOptions,
} from "./create_arrow_table.ts";
export { canEncodeFlat, type EncodeFlatOptions, encodeFlatParquet } from "./encode_flat.ts";
export {
  type ParquetCompression,
  readParquetFile,
  type ReadParquetOptions,
  writeParquetFile,
  type WriteParquetOptions,
} from "./write_parquet_file.ts";
export {
  type ColumnBounds,
  compareBytes,
  computeStats,
  type ComputeStatsOptions,
  DEFAULT_NUM_INDEXED_COLS,
  DEFAULT_STRING_PREFIX_LENGTH,
  type FileStats,
  formatDecimal,
  JsonNumber,
  type NullCounts,
  statsFromBounds,
  statsToJson,
  type StatsValue,
  type StatsValues,
  truncateMax,
  truncateMin,
} from "./compute_stats.ts";
export { boundsFromFooter, type FooterBounds, parquetFooterLength } from "./footer_bounds.ts";
