/**
 * The built-in writer plugin, and the `core/write` function it is made of (re-exported).
 *
 * @example
 * ```ts
 * import { createPluginRegistry } from "../registry.ts";
 * import { WRITER_PLUGIN_NAME, writerPlugin } from "./mod.ts";
 * const registry = createPluginRegistry([writerPlugin({ compression: "zstd" })]).freeze();
 * if (registry.hookOrder("writeFiles")[0] !== WRITER_PLUGIN_NAME) throw new Error("not registered");
 * ```
 *
 * @module
 */
export {
  PARQUET_EXTENSIONS,
  WRITE_CONCURRENCY_MAX_DEFAULT,
  writeDataFiles,
  type WriteDataFilesOptions,
} from "../../core/write/write_data_files.ts";
export { WRITER_PLUGIN_NAME, writerPlugin, type WriterPluginOptions } from "./writer_plugin.ts";
