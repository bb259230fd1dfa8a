/**
 * The built-in writer plugin: a `writeFiles` hook that writes a batch as zstd Parquet files, one per
 * partition (split further past `fileRowsMax` rows), under Hive-style directories, with Delta
 * statistics, and answers the `add` actions. It registers like any custom plugin; a custom writer
 * registered with `order: "pre"` answers first and so replaces it.
 *
 * @module
 */
import type { ParquetCompression } from "../../core/parquet/write_parquet_file.ts";
import { InvalidArgumentError } from "../../core/errors.ts";
import { type Plugin, PLUGIN_API_VERSION } from "../types.ts";
import { writeDataFiles, type WriteDataFilesOptions } from "../../core/write/write_data_files.ts";

/** Name the writer plugin registers under. */
export const WRITER_PLUGIN_NAME = "lakestrike:writer";

/** Options of {@linkcode writerPlugin}. */
export interface WriterPluginOptions {
  /** Parquet codec; default `zstd`. */
  compression?: ParquetCompression;
  /**
   * Rows per data file at most; default `FILE_ROWS_MAX` (100,000; parquet-wasm memory,
   * docs/design.md toolchain note 5).
   */
  fileRowsMax?: number;
  /** Files encoded and put at once at most; default 8. */
  writeConcurrencyMax?: number;
}

/**
 * Create the writer plugin. The hook needs `ctx.snapshot` (the table state the batch is written
 * against) and writes to `ctx.storage`; with `ctx.dryRun` it computes the actions but puts nothing.
 *
 * @throws {InvalidArgumentError} from the hook when the context carries no snapshot
 *
 * @example
 * ```ts
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createTable } from "../../core/write/create_table.ts";
 * import { systemClock } from "../../core/clock.ts";
 * import { createPluginRegistry } from "../registry.ts";
 * import { noopLogger } from "../logger.ts";
 * import { writerPlugin } from "./writer_plugin.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "n", type: "long" as const, nullable: true, metadata: {} }],
 * };
 * const snapshot = await createTable(storage, { schema });
 * const registry = createPluginRegistry([writerPlugin()]).freeze();
 * const adds = await registry.runWriteFiles(createArrowTable(schema, [{ n: 1 }]), {
 *   table: { name: "t", uri: "memory://t" }, snapshot, storage, clock: systemClock,
 *   signal: new AbortController().signal, logger: noopLogger, operation: "write", dryRun: false,
 *   limits: { groupRowsMax: 200_000, groupBytesMax: 64 << 20, writeBatchesConcurrencyMax: 16 },
 * });
 * if (adds?.length !== 1 || !adds[0]!.path.endsWith(".zstd.parquet")) throw new Error("no file");
 * ```
 */
export function writerPlugin(options: WriterPluginOptions = {}): Plugin {
  return {
    name: WRITER_PLUGIN_NAME,
    apiVersion: PLUGIN_API_VERSION,
    hooks: {
      async writeFiles(batch, ctx) {
        if (ctx.snapshot === undefined) {
          throw new InvalidArgumentError(
            `Cannot write files of table ${ctx.table.name}: the context has no snapshot`,
          );
        }
        const write: WriteDataFilesOptions = {
          clock: ctx.clock,
          dryRun: ctx.dryRun,
          signal: ctx.signal,
        };
        if (options.compression !== undefined) write.compression = options.compression;
        if (options.fileRowsMax !== undefined) write.fileRowsMax = options.fileRowsMax;
        if (options.writeConcurrencyMax !== undefined) {
          write.writeConcurrencyMax = options.writeConcurrencyMax;
        }
        const adds = await writeDataFiles(ctx.storage, ctx.snapshot, batch, write);
        ctx.logger.debug("data files written", { files: adds.length, rows: batch.numRows });
        return adds;
      },
    },
  };
}
