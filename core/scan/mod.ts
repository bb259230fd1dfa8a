/**
 * Reading the rows of a Delta table: {@linkcode scanSnapshot} yields {@linkcode LogicalRow}s of a
 * snapshot, {@linkcode rowToJson} turns them into JSON objects.
 *
 * @module
 */
export { scanFields, type ScanOptions, scanSnapshot } from "./scan_snapshot.ts";
export { rowToJson, valueToJson } from "./row_to_json.ts";
export {
  type Decimal,
  formatDate,
  formatDecimal,
  formatTimestamp,
  isDecimal,
  type LogicalRow,
  type LogicalValue,
} from "./logical_row.ts";
export { parsePartitionValue } from "./partition_value.ts";
export {
  decodeZ85,
  loadDeletionVector,
  parseDeletionVectorBitmap,
  relativeDeletionVectorPath,
} from "./deletion_vector.ts";
export { readDataFile, type ReadDataFileOptions } from "./read_data_file.ts";
