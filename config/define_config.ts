/**
 * The format of `lakestrike.config.ts`, as its author writes it: {@linkcode defineConfig} and the
 * types of every section. A config file imports only this module (and the plugins it chooses), so
 * the edge loads a config without loading the runner, the plugin registry or AWS.
 *
 * ```ts ignore
 * import { defineConfig } from "@lakestrike/lakestrike/config";
 * import { partitionTtlPlugin } from "@lakestrike/lakestrike/plugins";
 *
 * export const config = defineConfig({
 *   tables: [{
 *     name: "events",
 *     uri: "./data/events",
 *     schema: { ts: "timestamp not null", device_id: "string not null", date: "date not null" },
 *     partitionColumns: ["date"],
 *   }],
 *   tokens: { [Deno.env.get("EVENTS_TOKEN")!]: ["events"] },
 *   runner: { tokenEnv: "LAKESTRIKE_RUNNER_TOKEN" },
 *   plugins: [partitionTtlPlugin({ column: "date", days: 30 })],
 * });
 * ```
 *
 * Validation is the reader's: the runner checks the whole config (`batch/config.ts`), the edge the
 * sections it reads (`edge/config.ts`), both with the checks of `./shared_sections.ts`. The decisions
 * behind the format are in `docs/adr/0012-ingest-configuration.md`.
 *
 * @module
 */
import type { CommitProtocolName } from "../core/log/commit_protocol.ts";
import type { DataType, StructType } from "../core/schema/types.ts";
import type { EdgeInput } from "../edge/edge_settings.ts";
import type { MaintenanceSettings } from "../ops/maintenance_options.ts";

/**
 * A plugin as the config sees it: an object with a name. The full type is `Plugin` in
 * `plugins/types.ts`; it is not imported here so that reading a config loads no plugin code.
 */
export interface ConfigPlugin {
  /** The plugin's unique name. */
  readonly name: string;
}

/**
 * One column in the short schema form: a type name (`"timestamp"`, `"decimal(10,2)"`), nullable
 * unless it ends in ` not null`; or an object with a Delta data type (nested types included).
 */
export type ShortColumn = string | {
  /** A Delta data type: a type name or a struct/array/map type object. */
  type: DataType;
  /** Default true, as in Delta and SQL DDL. */
  nullable?: boolean;
  /** Column metadata (comments and the like). */
  metadata?: Record<string, unknown>;
};

/** A table schema: a Delta `StructType` (PROTOCOL.md JSON form) or `{ column: ShortColumn }`. */
export type SchemaInput = StructType | Record<string, ShortColumn>;

/** A table as written in the config. */
export interface TableInput {
  /** Name clients use in `/v1/tables/{name}/events`. */
  name: string;
  /**
   * Where the table lives: a local path (relative to the config file), `file://`, `s3://` or
   * `memory://` (tests).
   */
  uri: string;
  /** The table schema. */
  schema: SchemaInput;
  /** Partition columns: top-level primitive columns of the schema. Default none. */
  partitionColumns?: string[];
  /** Table properties (`delta.checkpointInterval`, ...) written when the table is created. */
  properties?: Record<string, string>;
  /** What the edge does with event fields that are not columns: `reject` (default) or `drop`. */
  unknownFields?: "reject" | "drop";
  /** Create the table when it does not exist (default true). */
  createIfMissing?: boolean;
  /**
   * How commits are made atomic: `local` (default for paths), `s3` (default for `s3://`:
   * conditional PUT) or `s3-dynamodb` (the S3DynamoDBLogStore protocol, for Spark writers on the
   * same table). Recorded in the table; a runner with another protocol refuses the table. An
   * existing `s3://` table that records none (created by Spark or delta-rs) needs it set here.
   */
  commitProtocol?: CommitProtocolName;
  /**
   * DynamoDB settings: those of `s3-dynamodb`; with `s3`, the DynamoDB table checked for entries of
   * this table at start (a table Spark commits through DynamoDB is then refused).
   */
  dynamodb?: DynamoDbInput;
  /** The runner's maintenance schedule for this table (compaction on, vacuum off by default). */
  maintenance?: MaintenanceInput;
  /**
   * Ceiling on the table's commits per second, an integer from 1 to 1,000 (default 25): the runner
   * commits at once when idle and groups what arrives during a commit; at the ceiling, batches
   * wait (at most `1000 / commitsPerSecondMax` ms) and join the next commit, never refused. Every
   * commit is a log version readers list and replay: see ADR 0031 before raising it.
   */
  commitsPerSecondMax?: number;
  /**
   * The acknowledgement SLA in ms, 1 to 600,000 (default 250): the latency a client should see from
   * its request to the `200`. The edge and the runner count answers within and over it, the runner
   * warns when the table's rolling p99 crosses it, and the dashboard draws it (ADR 0040).
   */
  ackSlaMs?: number;
}

/**
 * The runner's maintenance schedule of a table, as its owner declares it
 * (`ops/maintenance_options.ts`, read by `batch/runner/maintenance_scheduler.ts`).
 */
export type MaintenanceInput = MaintenanceSettings;

/**
 * DynamoDB settings of the `s3-dynamodb` commit protocol; each must equal the one of Delta Spark's
 * `S3DynamoDBLogStore` on the same table (`spark.io.delta.storage.S3DynamoDBLogStore.ddb.*`).
 */
export interface DynamoDbInput {
  /** DynamoDB table name (default `delta_log`, Spark's `ddb.tableName` default). */
  tableName?: string;
  /** Endpoint URL (DynamoDB Local); default the AWS SDK's. */
  endpoint?: string;
  /**
   * AWS region of the DynamoDB table (Spark's `ddb.region`). Default `us-east-1`, as Spark's, which
   * ignores `AWS_REGION`; without it the runner refuses to start when `AWS_REGION` names another.
   */
  region?: string;
  /**
   * The table's DynamoDB key: the path Spark opens the table with, `s3a://bucket/path` on S3A
   * (`s3a://bucket/` at a bucket root). Default the table's `s3://` uri. Same bucket and prefix as
   * `uri`; stored in Hadoop's form (no trailing slash except at a bucket root).
   */
  tablePath?: string;
}

/** Edge settings as written in the config, as the edge declares them (`edge/edge_settings.ts`). */
export type { EdgeInput };

/** Runner settings as written in the config; every field is optional. */
export interface RunnerInput {
  /** Port the runner listens on (default 8081; 0 picks a free one). */
  port?: number;
  /** Interface the runner listens on (default `127.0.0.1`). */
  hostname?: string;
  /** The token edges present to the runner. Prefer `tokenEnv` outside development. */
  token?: string;
  /** Environment variable holding the token (default `LAKESTRIKE_RUNNER_TOKEN`). */
  tokenEnv?: string;
  /**
   * Overrides of the runner's limits (`RUNNER_LIMITS_DEFAULT` in `batch/runner/runner.ts`:
   * `queueBatchesMax`, `groupBatchesMax`, `requestTimeoutMs`, ...); integers, units last.
   */
  limits?: Record<string, number>;
  /** Run the per-table maintenance schedule (default true; see `tables[].maintenance`). */
  maintenance?: boolean;
}

/** The config as a `lakestrike.config.ts` writes it. */
export interface ConfigInput {
  /** The tables; names are unique. */
  tables: TableInput[];
  /** Edge settings. */
  edge?: EdgeInput;
  /** Runner settings. */
  runner?: RunnerInput;
  /** Client bearer token to the tables it may write, `"*"` for all. */
  tokens?: Record<string, string[] | "*">;
  /**
   * Plugins registered in the runner after the built-ins, in this order (`Plugin` of
   * `plugins/types.ts`; the runner's registry checks each one when it loads the config).
   */
  plugins?: readonly ConfigPlugin[];
}

/**
 * Types a config object for `lakestrike.config.ts`; returns it unchanged (validation happens when
 * the runner or the edge loads the file, and names it).
 *
 * @example
 * ```ts
 * import { defineConfig } from "./define_config.ts";
 * const config = defineConfig({
 *   tables: [{ name: "t", uri: "/tmp/t", schema: { id: "long not null" } }],
 * });
 * if (config.tables[0]?.name !== "t") throw new Error("defineConfig returns its argument");
 * ```
 */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}
