/**
 * The rewrite phase of a compaction: one bin's files become a few new data files, by one of two
 * engines that write the same rows and the same statistics (ADR 0043):
 *
 * * DuckDB (`rewrite_bin_duckdb.ts`), native and on every core, for the bins it rewrites exactly;
 * * parquet-wasm (`rewrite_bin_wasm.ts`), the exact reader of `core/scan` and Arrow JS, for the
 *   others (deletion vectors, nested columns, column mapping) and when DuckDB fails.
 *
 * Each engine is loaded with a dynamic import when a bin needs it: the DuckDB path never loads
 * apache-arrow or parquet-wasm, the parquet-wasm path never loads DuckDB (ADR 0046).
 *
 * It commits nothing (`commitRewrittenBins` does) and changes no table state. When it fails or is
 * aborted, the engine deletes the files it wrote before rethrowing: none of them was committed.
 *
 * ```
 * check options ▸ engine auto|duckdb ▸ DuckDB ── DuckDBRewriteError (auto) ──▸ parquet-wasm
 *               ▸ engine wasm ───────────────────────────────────────────────▸ parquet-wasm
 * ```
 *
 * @module
 */
import type { Clock } from "../../core/clock.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import type { Add } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import type { CompactionBin } from "../types.ts";
import { deleteUncommittedFiles } from "./put_rewritten_file.ts";

export { deleteUncommittedFiles };
import {
  duckdbCanRewrite,
  DuckDBRewriteError,
  rewriteBinWithDuckDB,
} from "./rewrite_bin_duckdb.ts";

/** Rows per output file at most (parquet-wasm's memory grows with its input and never shrinks). */
export const OUTPUT_FILE_ROWS_MAX = 100_000;
/** Default number of storage reads and writes in flight. */
export const MAX_CONCURRENT_IO_DEFAULT = 8;

/** Options of {@linkcode rewriteBin}. */
export interface RewriteBinOptions {
  /** Cut an output file once this many input bytes went into it (the table's target size). */
  targetSizeBytes: number;
  /** Storage reads and writes in flight; default {@linkcode MAX_CONCURRENT_IO_DEFAULT}. */
  maxConcurrentIo?: number | undefined;
  /** Rows per output file at most; default {@linkcode OUTPUT_FILE_ROWS_MAX}. */
  outputFileRowsMax?: number | undefined;
  /** Source of the new files' `modificationTime`; default the system clock. */
  clock?: Clock;
  /** Checked before every input file; the files written so far are deleted. */
  signal?: AbortSignal | undefined;
  /** Called after every input file is read. */
  onFileRead?: (add: Add) => void;
  /** Called after every output file is written, with its row count. */
  onFileWritten?: (add: Add, rows: number) => void;
  /**
   * The rewrite engine: `"auto"` (default) takes DuckDB for the bins it rewrites exactly and
   * parquet-wasm for the others and when DuckDB fails; `"duckdb"` fails instead of falling back;
   * `"wasm"` never loads DuckDB (ADR 0043).
   */
  engine?: RewriteEngine | undefined;
  /** DuckDB worker threads; default all cores. */
  threads?: number | undefined;
  /** DuckDB `memory_limit` (e.g. `"512MB"`); default 512 MB (`rewrite_bin_duckdb.ts`). */
  memoryLimit?: string | undefined;
}

/** The engines that rewrite a bin. */
export type RewriteEngine = "auto" | "duckdb" | "wasm";

/** A bin rewritten into new files that are not committed yet. */
export interface RewrittenBin {
  /** The bin: its files are what the commit removes. */
  bin: CompactionBin;
  /** The new files (`dataChange: false`), in row order. */
  adds: Add[];
  /** Rows read (deletion-vector rows excluded) and written: always equal. */
  rowsRead: number;
  rowsWritten: number;
  /** Sum of the input files' `size`. */
  bytesRead: number;
}

/** Throw unless `value` is a positive safe integer (or `Infinity` when `infinite` allows it). */
export function checkPositiveInt(name: string, value: number, infinite = false): void {
  if (infinite && value === Infinity) return;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      `Cannot compact: ${name} must be a positive integer, got ${value}`,
    );
  }
}
/**
 * Rewrite the files of `bin` (files of `snapshot`) into new data files and return their `add`s
 * (see the module documentation). Nothing is committed.
 *
 * @throws the storage's error, or the signal's reason, after deleting the files written so far
 *
 * @example
 * ```ts
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { appendBatch, createTable } from "../../core/write/mod.ts";
 * import { rewriteBin } from "./rewrite_bin.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
 * };
 * let snapshot = await createTable(storage, { schema });
 * for (let i = 0; i < 3; i++) {
 *   const r = await appendBatch(storage, snapshot, createArrowTable(schema, [{ id: i }]));
 *   if (!r.ok) throw new Error(r.reason);
 *   snapshot = r.snapshot;
 * }
 * const bin = { partitionValues: {}, files: [...snapshot.files] };
 * const out = await rewriteBin(storage, snapshot, bin, { targetSizeBytes: 1 << 20 });
 * if (out.adds.length !== 1 || out.rowsWritten !== 3) throw new Error("not rewritten");
 * ```
 */
export async function rewriteBin(
  storage: ObjectStorage,
  snapshot: Snapshot,
  bin: CompactionBin,
  options: RewriteBinOptions,
): Promise<RewrittenBin> {
  const ioLimit = options.maxConcurrentIo ?? MAX_CONCURRENT_IO_DEFAULT;
  const rowsMax = options.outputFileRowsMax ?? OUTPUT_FILE_ROWS_MAX;
  checkPositiveInt("targetSizeBytes", options.targetSizeBytes);
  checkPositiveInt("maxConcurrentIo", ioLimit);
  checkPositiveInt("outputFileRowsMax", rowsMax);
  const engine = options.engine ?? "auto";
  if (engine !== "auto" && engine !== "duckdb" && engine !== "wasm") {
    throw new InvalidArgumentError(
      `Cannot compact: engine must be auto, duckdb or wasm, got ${JSON.stringify(engine)}`,
    );
  }
  if (options.threads !== undefined) checkPositiveInt("threads", options.threads);
  if (engine !== "wasm") {
    const why = duckdbCanRewrite(snapshot, bin);
    if (why === undefined || engine === "duckdb") {
      try {
        return await rewriteBinWithDuckDB(storage, snapshot, bin, options, ioLimit);
      } catch (e) {
        if (engine === "duckdb" || !(e instanceof DuckDBRewriteError)) throw e;
        // DuckDB could not read or cast these files: the exact reader does.
      }
    }
  }
  const { rewriteBinWithWasm } = await import("./rewrite_bin_wasm.ts");
  return await rewriteBinWithWasm(storage, snapshot, bin, options, ioLimit, rowsMax);
}
