/**
 * The batch runner as a library: load and validate a config, then serve the runner in this process
 * ({@linkcode startRunner}), or build the runner yourself ({@linkcode createRunner}) around tables
 * you opened. `deno task runner` is {@linkcode startRunner} behind a command line
 * (`batch/runner_main.ts`); the table tools (`compact`, `vacuum`, `inspect`, `scan`) are commands
 * only.
 *
 * Importing it registers the AWS module (`registerAws()` of `aws/mod.ts`), since configured tables
 * may live on `s3://`.
 *
 * @example
 * ```ts
 * import { startRunner, validateConfig } from "./mod.ts";
 * const config = validateConfig({
 *   tables: [{ name: "events", uri: "memory://runner-example", schema: { id: "long not null" } }],
 * });
 * const running = await startRunner(config, {
 *   runnerToken: "runner-token-0123456789",
 *   port: 0,
 *   hostname: "127.0.0.1",
 * });
 * try {
 *   if (running.created[0] !== "events") throw new Error("the table was not created");
 * } finally {
 *   await running.shutdown();
 * }
 * ```
 *
 * @module
 */
export {
  ConfigError,
  type LakestrikeConfig,
  loadConfig,
  loadPluginRegistry,
  type RunnerSettings,
  type TableConfig,
  validateConfig,
  type ValidateConfigOptions,
} from "./config.ts";
export {
  checkRunnerToken,
  createConfiguredRegistry,
  createConsoleLogger,
  openConfiguredTable,
  type OpenedTable,
  RUNNER_TOKEN_BYTES_MIN,
  type RunningRunner,
  startRunner,
  type StartRunnerOptions,
} from "./runner_main.ts";
export {
  createRunner,
  type Runner,
  RUNNER_LIMITS_DEFAULT,
  type RunnerDeps,
  type RunnerLimits,
  type RunnerTable,
  type RunnerTableStats,
} from "./runner/mod.ts";
