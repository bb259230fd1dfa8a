/**
 * `deno task runner [--config PATH] [--port P] [--hostname H]`: the batch runner as its own process.
 * The token edges present comes from the environment (`LAKESTRIKE_RUNNER_TOKEN`, or the variable
 * `runner.tokenEnv` names) or the config's `runner.token`; there is no flag for it, since `ps` shows
 * a command line to every user of the host. A token of fewer than 16 bytes is refused.
 *
 * Loads `lakestrike.config.ts`, opens (and, when `createIfMissing`, creates) every table, registers
 * the built-in writer and checkpoint plugins followed by the config's plugins, and serves
 * `createRunner(...)` with `Deno.serve`. Several edges may point at one runner.
 *
 * Importing this module registers the AWS module (`registerAws()` of `aws/mod.ts`): configured tables
 * may live on `s3://` and commit through `s3-dynamodb`.
 *
 * On SIGINT or SIGTERM it stops accepting batches, commits the queued ones and exits. A SIGKILL
 * loses nothing that was acknowledged: an answer is only sent after its commit file is durable,
 * and edges retry unanswered batches with the same sequence number.
 *
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { LakestrikeError } from "../core/errors.ts";
import { registerAws } from "../aws/register_aws.ts";
import { serializeSchema } from "../core/schema/parse_schema.ts";
import type { StructType } from "../core/schema/types.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { checkpointPlugin } from "../plugins/checkpoint/mod.ts";
import { noopLogger } from "../plugins/logger.ts";
import { createPluginRegistry, type PluginRegistry } from "../plugins/registry.ts";
import type { LogFields, Logger, Plugin, PluginContext } from "../plugins/types.ts";
import { writerPlugin } from "../plugins/writer/mod.ts";
import { openTable } from "../ops/open_table.ts";
import { createHealthSampler } from "./ui/health_sampler.ts";
import { mountDashboard } from "./ui/dashboard.ts";
import { createWorkerCheckpointEncoder } from "./runner/checkpoint_encoder.ts";
import { loopProbeThresholdMs, startLoopProbe } from "./runner/loop_probe.ts";
import { parseFlags, parseNonNegativeInt, runCli, UsageError } from "./cli.ts";
import {
  ConfigError,
  DEFAULT_RUNNER_TOKEN_ENV,
  type LakestrikeConfig,
  loadConfig,
  resolveRunnerToken,
  type TableConfig,
} from "./config.ts";
import {
  createRunner,
  type Runner,
  RUNNER_LIMITS_DEFAULT,
  type RunnerLimits,
  type RunnerTable,
} from "./runner/mod.ts";
import {
  createMaintenanceScheduler,
  type MaintenanceScheduler,
  registerMaintenanceMetrics,
} from "./runner/maintenance_scheduler.ts";

registerAws();

/** Environment variable with operator tokens (comma-separated) that open the dashboard. */
export const OPERATOR_TOKEN_ENV = "LAKESTRIKE_OPERATOR_TOKEN";

/** A table the runner opened: its runner entry and the snapshot it was opened at. */
export interface OpenedTable {
  /** The entry for `createRunner`. */
  table: RunnerTable;
  /** Snapshot at opening. */
  snapshot: Snapshot;
  /** True when this call created the table. */
  created: boolean;
}

function schemaKey(schema: StructType): string {
  // Metadata (comments) may differ; names, types and nullability may not.
  return serializeSchema({
    type: "struct",
    fields: schema.fields.map((f) => ({ ...f, metadata: {} })),
  });
}

/** Checks that an existing table is the one the config describes. */
function checkTableMatches(t: TableConfig, snapshot: Snapshot, location: string): void {
  if (schemaKey(snapshot.schema) !== schemaKey(t.schema)) {
    throw new LakestrikeError(
      "SCHEMA_MISMATCH",
      `Cannot open table '${t.name}' at ${location}: its schema ${
        schemaKey(snapshot.schema)
      } differs from the config's ${schemaKey(t.schema)}`,
    );
  }
  const have = snapshot.metadata.partitionColumns.join(",");
  if (have !== t.partitionColumns.join(",")) {
    throw new LakestrikeError(
      "SCHEMA_MISMATCH",
      `Cannot open table '${t.name}' at ${location}: it is partitioned by [${have}], the config says [${
        t.partitionColumns.join(",")
      }]`,
    );
  }
}

/**
 * Opens one configured table through the one opener (`ops/open_table.ts`): loads it, or creates it
 * when it is missing and `createIfMissing` allows; with the commit protocol the config names (or
 * the location's default, `recorded: "check"`: a table recorded with another is refused, and so is
 * an `s3://` table that records none unless the config names `commitProtocol`), loaded through the
 * protocol when it repairs (`s3-dynamodb`), so a commit that a crashed writer decided is seen
 * before the first write. Then checks that the table is the one the config describes.
 *
 * A `STORAGE` error is tried again after each of `retryDelaysMs` (default
 * {@linkcode OPEN_RETRY_DELAYS_MS}); other errors are final at once.
 *
 * @throws {LakestrikeError} `TABLE_NOT_FOUND` when missing and not to be created, `SCHEMA_MISMATCH`
 * when the table differs from the config, `INVALID_ARGUMENT` when the protocol is refused,
 * `STORAGE` when storage still fails after the last retry.
 */
export async function openConfiguredTable(
  t: TableConfig,
  options: { clock?: Clock; retryDelaysMs?: readonly number[] } = {},
): Promise<OpenedTable> {
  // A storage call that fails at start (a lost answer, a 5xx, a timeout) is tried again before the
  // runner gives up: a process that exits on one transient read would depend on a supervisor.
  const delays = options.retryDelaysMs ?? OPEN_RETRY_DELAYS_MS;
  for (let attempt = 0;; attempt++) {
    try {
      return await openConfiguredTableOnce(t, options);
    } catch (e) {
      const transient = e instanceof LakestrikeError && e.code === "STORAGE";
      if (!transient || attempt >= delays.length) throw e;
      await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
    }
  }
}

/** Waits between attempts to open a table at start when storage fails: about 8 s in all. */
export const OPEN_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1_000, 2_000, 4_000];

async function openConfiguredTableOnce(
  t: TableConfig,
  options: { clock?: Clock },
): Promise<OpenedTable> {
  const opened = await openTable(t.uri, {
    ...(t.commitProtocolConfigured === false ? {} : { protocol: t.commitProtocol }),
    recorded: "check",
    ...(t.dynamodb === undefined ? {} : { dynamodb: t.dynamodb }),
    ...(t.createIfMissing
      ? {
        createIfMissing: {
          schema: t.schema,
          partitionColumns: t.partitionColumns,
          configuration: t.properties,
          name: t.name,
          ...(options.clock === undefined ? {} : { clock: options.clock }),
        },
      }
      : {}),
  });
  checkTableMatches(t, opened.snapshot, opened.storage.location);
  return {
    table: { storage: opened.storage, uri: t.uri, commitOptions: { protocol: opened.protocol } },
    snapshot: opened.snapshot,
    created: opened.created,
  };
}

/**
 * The plugin registry of a config, frozen: the built-in `writerPlugin()` and `checkpointPlugin()`,
 * then the config's plugins in order. A config plugin with a built-in's name replaces the built-in
 * (that is how a team configures the writer: `plugins: [writerPlugin({ compression: "snappy" })]`).
 * The built-in checkpoint plugin encodes checkpoints in a worker thread, off the thread that
 * commits and acknowledges, and writes them in the background, one per table at a time (ADR 0048).
 */
export function createConfiguredRegistry(plugins: readonly Plugin[]): PluginRegistry {
  const names = new Set(plugins.map((p) => p.name));
  const builtins = [
    writerPlugin(),
    checkpointPlugin({ createEncoder: createWorkerCheckpointEncoder, background: true }),
  ].filter((p) => !names.has(p.name));
  return createPluginRegistry([...builtins, ...plugins]).freeze();
}

/** A logger writing one JSON line per record to stderr, from `level` up. */
export function createConsoleLogger(level: "debug" | "info" | "warn" | "error" = "info"): Logger {
  const order = ["debug", "info", "warn", "error"];
  const min = order.indexOf(level);
  const log = (lvl: string) => (message: string, fields?: LogFields) => {
    if (order.indexOf(lvl) < min) return;
    const record = { time: new Date().toISOString(), level: lvl, message, ...fields };
    console.error(JSON.stringify(record, (_, v) => (typeof v === "bigint" ? String(v) : v)));
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/** Options of {@linkcode startRunner}; each overrides the config's `runner` setting. */
export interface StartRunnerOptions {
  /** The token edges must present (see `resolveRunnerToken`). */
  runnerToken: string;
  /** Port; 0 picks a free one. */
  port?: number;
  /** Interface. */
  hostname?: string;
  /** Where the runner and plugins log (default: nothing). */
  logger?: Logger;
  /** Clock of commits and plugins. */
  clock?: Clock;
  /** Tokens besides the runner's that open the dashboard (`GET /ui`, ADR 0040). */
  operatorTokens?: readonly string[];
}

/** A running runner. */
export interface RunningRunner {
  /** Base URL, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  /** Port it listens on. */
  readonly port: number;
  /** The runner (stats, metrics). */
  readonly runner: Runner;
  /** Tables created by this start. */
  readonly created: readonly string[];
  /** Commit what is queued, dispose the plugins and close the server. */
  shutdown(): Promise<void>;
}

/**
 * Opens the config's tables, sets up its plugins and serves the runner; resolves once it listens.
 *
 * @example
 * ```ts ignore
 * const config = await loadConfig();
 * const running = await startRunner(config, { runnerToken: resolveRunnerToken(config), port: 0 });
 * console.log(running.url);
 * await running.shutdown();
 * ```
 */
export async function startRunner(
  config: LakestrikeConfig,
  options: StartRunnerOptions,
): Promise<RunningRunner> {
  const logger = options.logger ?? noopLogger;
  const tables: Record<string, RunnerTable> = {};
  const created: string[] = [];
  let first: PluginContext | undefined;
  for (const t of config.tables) {
    const opened = await openConfiguredTable(
      t,
      options.clock === undefined ? {} : { clock: options.clock },
    );
    tables[t.name] = {
      ...opened.table,
      // The committer starts from this load: no second load at start for a fault to end it.
      snapshot: opened.snapshot,
      ...(t.commitsPerSecondMax === undefined
        ? {}
        : { commitsPerSecondMax: t.commitsPerSecondMax }),
      ...(t.ackSlaMs === undefined ? {} : { ackSlaMs: t.ackSlaMs }),
    };
    if (opened.created) created.push(t.name);
    first ??= {
      table: { name: t.name, uri: t.uri },
      snapshot: opened.snapshot,
      storage: opened.table.storage,
      clock: options.clock ?? { nowMs: () => Date.now() },
      signal: new AbortController().signal,
      // Every limit the runner runs with, the config's overrides over the defaults.
      limits: { ...RUNNER_LIMITS_DEFAULT, ...config.runner.limits },
      logger,
      operation: "write",
      dryRun: false,
    };
  }
  const registry = createConfiguredRegistry(config.plugins);
  // `setup` runs once per runner; it sees the first table's context (plugins that need every
  // table get them from their own options).
  await registry.runSetup(first!);
  let runner: Runner;
  // The scheduler is created once the runner is; commits before that have nothing to trigger.
  const maintenance: { scheduler?: MaintenanceScheduler | undefined } = {};
  try {
    runner = createRunner({
      onCommitted: (table, commit) => maintenance.scheduler?.notifyCommitted(table, commit),
      tables,
      registry,
      runnerToken: options.runnerToken,
      limits: config.runner.limits as Partial<RunnerLimits>,
      logger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    await runner.ready();
  } catch (e) {
    await registry.dispose();
    throw e;
  }
  // Compaction (and vacuum where a table enables it) on a schedule, one job at a time, under the
  // table's maintenance lock; never on the ingest commit path. Commits tell the scheduler, which
  // compacts a partition once it holds enough small files (ADR 0036).
  const scheduler = config.runner.maintenance
    ? createMaintenanceScheduler({
      tables: Object.fromEntries(
        config.tables.map((
          t,
        ) => [t.name, { ...tables[t.name]!, maintenance: t.maintenance ?? {} }]),
      ),
      registry,
      logger,
      onOutcome: registerMaintenanceMetrics(runner.metrics.registry),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    })
    : undefined;
  maintenance.scheduler = scheduler;
  scheduler?.start();
  // LAKESTRIKE_LOOP_PROBE_MS: log the runner's event-loop stalls with what it was doing (ADR 0048).
  const probeMs = loopProbeThresholdMs((name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: the probe stays off
    }
  });
  const probe = probeMs === undefined ? undefined : startLoopProbe(logger, {
    thresholdMs: probeMs,
    context: () => {
      const running = scheduler?.stats().running;
      return {
        tables: Object.fromEntries(
          Object.keys(tables).map((name) => {
            const s = runner.tableStats(name);
            return [name, { version: s?.version, afterCommitPending: s?.afterCommitPending }];
          }),
        ),
        ...(running ? { maintenance: `${running.kind} ${running.table}` } : {}),
      };
    },
  });
  // The dashboard and its JSON beside /metrics; the sampler's tick also runs the SLA warnings.
  const sampler = createHealthSampler({
    runner,
    tables,
    ...(scheduler === undefined ? {} : { maintenance: () => scheduler.stats() }),
  });
  mountDashboard(runner.app, {
    sampler,
    tokens: [options.runnerToken, ...(options.operatorTokens ?? [])],
  });
  sampler.start();
  const hostname = options.hostname ?? config.runner.hostname;
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: options.port ?? config.runner.port,
    hostname,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, runner.app.fetch);
  const addr = await listening.promise;
  const host = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`,
    port: addr.port,
    runner,
    created,
    shutdown() {
      stopped ??= (async () => {
        probe?.stop();
        sampler.stop();
        await scheduler?.stop();
        await runner.close();
        await server.shutdown();
        await registry.dispose();
      })();
      return stopped;
    },
  };
}

const USAGE =
  "usage: deno task runner [--config PATH] [--port P] [--hostname H] [--log-level debug|info|warn|error]";

/** Fewest bytes of a runner token `deno task runner` accepts (128 bits when random). */
export const RUNNER_TOKEN_BYTES_MIN = 16;

/**
 * Refuse a runner token shorter than {@linkcode RUNNER_TOKEN_BYTES_MIN} bytes: it guards every
 * table's commits, and edges on other hosts present it. `source` names where it came from.
 *
 * @throws {ConfigError} naming the source and the length, never the token
 *
 * @example
 * ```ts
 * import { checkRunnerToken } from "./runner_main.ts";
 * checkRunnerToken("3f9c1e7a5b2d4f608e1a7c3b5d9f2e4a", "LAKESTRIKE_RUNNER_TOKEN");
 * let refused = false;
 * try {
 *   checkRunnerToken("secret", "LAKESTRIKE_RUNNER_TOKEN");
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("a 6-byte token must be refused");
 * ```
 */
export function checkRunnerToken(token: string, source: string): void {
  const bytes = new TextEncoder().encode(token).length;
  if (bytes < RUNNER_TOKEN_BYTES_MIN) {
    throw new ConfigError([
      `${source}: the runner token has ${bytes} bytes, fewer than ${RUNNER_TOKEN_BYTES_MIN}; use a random one, e.g. export ${DEFAULT_RUNNER_TOKEN_ENV}=$(openssl rand -hex 24)`,
    ]);
  }
}

/** Entry point of `deno task runner`. */
export async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    config: { type: "string" },
    port: { type: "string" },
    hostname: { type: "string" },
    "log-level": { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`Unexpected argument '${positionals[0]}'`);
  const port = parseNonNegativeInt("port", values.port);
  if (port !== undefined && port > 65535) throw new UsageError(`Invalid value for --port: ${port}`);
  const level = values["log-level"] ?? "info";
  if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error") {
    throw new UsageError(`Invalid value for --log-level: '${level}'`);
  }
  const config = await loadConfig(typeof values.config === "string" ? values.config : undefined);
  const runnerToken = resolveRunnerToken(config);
  checkRunnerToken(
    runnerToken,
    config.runner.token === undefined ? config.runner.tokenEnv : "runner.token",
  );
  const operatorTokens = (Deno.env.get(OPERATOR_TOKEN_ENV) ?? "").split(",").filter((t) => t);
  for (const t of operatorTokens) checkRunnerToken(t, OPERATOR_TOKEN_ENV);
  const options: StartRunnerOptions = {
    runnerToken,
    logger: createConsoleLogger(level),
    operatorTokens,
  };
  if (port !== undefined) options.port = port;
  if (typeof values.hostname === "string") options.hostname = values.hostname;
  const running = await startRunner(config, options);
  const stopped = Promise.withResolvers<void>();
  const stop = () => void running.shutdown().then(stopped.resolve, stopped.reject);
  // Before the line that says it is ready: a SIGTERM sent on reading it must find the listener
  // (the write that wakes the reader may run it before this thread's next statement).
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  for (const name of running.created) console.log(`created table ${name}`);
  console.log(
    `lakestrike runner listening on ${running.url}, tables ${
      config.tables.map((t) => t.name).join(", ")
    }; dashboard ${running.url}/ui (runner or operator token)`,
  );
  await stopped.promise;
}

if (import.meta.main) await runCli(USAGE, () => main(Deno.args));
