/**
 * The config of a lakestrike deployment, `lakestrike.config.ts`: {@linkcode defineConfig} and the
 * types of its sections, the file's defaults and its error. This is all a config file imports; the
 * runner (`batch/config.ts`) and the edge (`edge/config.ts`) each validate what they read.
 *
 * @example
 * ```ts
 * import { defineConfig, EDGE_CONFIG_DEFAULTS } from "./mod.ts";
 * const config = defineConfig({
 *   tables: [{ name: "events", uri: "./data/events", schema: { ts: "timestamp not null" } }],
 *   edge: { port: EDGE_CONFIG_DEFAULTS.port },
 * });
 * if (config.tables.length !== 1) throw new Error("unexpected");
 * ```
 *
 * @module
 */
export {
  type ConfigInput,
  type ConfigPlugin,
  defineConfig,
  type DynamoDbInput,
  type EdgeInput,
  type MaintenanceInput,
  type RunnerInput,
  type SchemaInput,
  type ShortColumn,
  type TableInput,
} from "./define_config.ts";
export {
  BEARER_TOKEN_RE,
  CONFIG_TABLE_NAME_RE,
  ConfigError,
  DEFAULT_CONFIG_PATH,
  DEFAULT_RUNNER_TOKEN_ENV,
  EDGE_CONFIG_DEFAULTS,
  type EdgeSettings,
  resolveRunnerToken,
  RUNNER_CONFIG_DEFAULTS,
  type RunnerAccess,
} from "./shared_sections.ts";
