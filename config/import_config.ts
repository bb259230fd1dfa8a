/**
 * Reads a config file: a TypeScript module that exports `config`, imported with a dynamic
 * `import()`. What the file imports is loaded with it (the plugins a runner's config chooses, for
 * one); what it exports is checked by the reader (`batch/config.ts`, `edge/config.ts`).
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, DEFAULT_CONFIG_PATH } from "./shared_sections.ts";

/** What {@linkcode importConfig} read. */
export interface ImportedConfig {
  /** The module's `config` export, unchecked. */
  config: unknown;
  /** The directory of the file: relative table paths are resolved against it. */
  baseDir: string;
  /** The path as given, to name the file in errors. */
  source: string;
}

/**
 * Imports `lakestrike.config.ts` (or `path`, relative to the working directory) and returns its
 * `config` export, unchecked.
 *
 * @throws {ConfigError} when the file is missing, fails to import or does not export `config`.
 *
 * @example
 * ```ts
 * import { importConfig } from "./import_config.ts";
 * import { ConfigError } from "./shared_sections.ts";
 * try {
 *   await importConfig("no/such/lakestrike.config.ts");
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof ConfigError)) throw e;
 * }
 * ```
 */
export async function importConfig(path: string = DEFAULT_CONFIG_PATH): Promise<ImportedConfig> {
  const absolute = resolve(Deno.cwd(), path);
  try {
    const info = await Deno.stat(absolute);
    if (!info.isFile) throw new ConfigError(["not a file"], path);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError([`cannot read ${absolute}: ${(e as Error).message}`], path);
  }
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(absolute).href);
  } catch (e) {
    throw new ConfigError([`cannot import it: ${(e as Error).message.split("\n")[0]}`], path);
  }
  if (!("config" in module)) {
    const hint = "default" in module ? " (default exports are not read)" : "";
    throw new ConfigError(
      [`it must export \`config\`: export const config = defineConfig({...})${hint}`],
      path,
    );
  }
  return { config: module.config, baseDir: resolve(absolute, ".."), source: path };
}
