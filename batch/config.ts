/**
 * The configuration of a lakestrike deployment: `lakestrike.config.ts`, a TypeScript module that
 * exports `config`. The runner, the edge and `deno task dev` load it with {@linkcode loadConfig}.
 *
 * ```ts ignore
 * import { defineConfig } from "./batch/config.ts";
 * import { partitionTtlPlugin } from "./plugins/retention/mod.ts";
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
 * {@linkcode validateConfig} checks everything and reports every problem at once, each named by
 * its path in the config (`tables[1].partitionColumns[0]: 'day' is not a column`), then fills in
 * the defaults (DESIGN section 7). The decisions behind the format are in
 * `docs/adr/0012-ingest-configuration.md`.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LakestrikeError } from "../core/errors.ts";
import {
  COMMIT_PROTOCOL_NAMES,
  type CommitProtocolName,
  defaultCommitProtocolName,
} from "../core/log/commit_protocol.ts";
import { parseDataType } from "../core/schema/parse_schema.ts";
import { dynamodbTablePath, dynamodbTablePathVariants } from "../core/storage/s3.ts";
import type { DataType, StructField, StructType } from "../core/schema/types.ts";
import { validateTableProperties } from "../core/write/table_properties.ts";
import { createPluginRegistry, type PluginRegistry } from "../plugins/registry.ts";
import { RUNNER_LIMITS_DEFAULT } from "./runner/runner.ts";
import type { Plugin } from "../plugins/types.ts";

/** File name {@linkcode loadConfig} looks for in the working directory. */
export const DEFAULT_CONFIG_PATH = "lakestrike.config.ts";

/** Environment variable that holds the runner token unless `runner.tokenEnv` names another. */
export const DEFAULT_RUNNER_TOKEN_ENV = "LAKESTRIKE_RUNNER_TOKEN";

/** Valid table names (the edge's rule): no slashes, no leading dot, at most 128 characters. */
export const CONFIG_TABLE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Valid bearer tokens (RFC 6750 `b64token`), at most 512 characters. */
export const BEARER_TOKEN_RE = /^[A-Za-z0-9\-._~+/]{1,512}=*$/;

/** Defaults of the edge settings (DESIGN section 7 and `edge/app.ts`). */
export const EDGE_CONFIG_DEFAULTS = {
  port: 8080,
  hostname: "0.0.0.0",
  flushIntervalMs: 50,
  flushRowsMax: 10_000,
  flushBytesMax: 4 * 1024 * 1024,
  bufferBytesMax: 64 * 1024 * 1024,
  requestBodyBytesMax: 8 * 1024 * 1024,
  requestTimeoutMs: 5_000,
} as const;

/** Defaults of the runner settings. */
export const RUNNER_CONFIG_DEFAULTS = {
  port: 8081,
  hostname: "127.0.0.1",
} as const;

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
}

/**
 * The runner's maintenance schedule of a table (`batch/runner/maintenance_scheduler.ts`). Compaction
 * runs every `compactIntervalMs` (300,000) when the table has enough small files; vacuum deletes
 * files, so it runs (every `vacuumIntervalMs`, 3,600,000) only when `vacuumEnabled` is true.
 */
export interface MaintenanceInput {
  compactEnabled?: boolean;
  compactIntervalMs?: number;
  compactTargetSizeBytes?: number;
  compactMinFiles?: number;
  vacuumEnabled?: boolean;
  vacuumIntervalMs?: number;
  vacuumRetentionHours?: number;
  vacuumApplyDataRetention?: boolean;
}

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

/** Edge settings as written in the config; every field is optional. */
export interface EdgeInput {
  /** Port the edge listens on (default 8080; 0 picks a free one). */
  port?: number;
  /** Interface the edge listens on (default `0.0.0.0`). */
  hostname?: string;
  /** Flush a table's buffer when its oldest request is this old (default 50). */
  flushIntervalMs?: number;
  /** Flush at this many waiting rows (default 10,000). */
  flushRowsMax?: number;
  /** Flush at this many waiting bytes (default 4 MiB). */
  flushBytesMax?: number;
  /** Bytes a table buffers before answering 429 (default 64 MiB). */
  bufferBytesMax?: number;
  /** Largest request body (default 8 MiB). */
  requestBodyBytesMax?: number;
  /** Deadline of a request from arrival to answer (default 5,000). */
  requestTimeoutMs?: number;
  /** Base URL of the runner (default `http://127.0.0.1:{runner.port}`). */
  runnerUrl?: string;
  /**
   * Name of this edge (default `edge-{hostname}-{port}`). The producer id of its commits (the `txn`
   * appId) is this name plus a random incarnation taken at every start (ADR 0022), so edges may
   * share a name.
   */
  producerId?: string;
}

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
  /** Plugins registered in the runner after the built-ins, in this order. */
  plugins?: Plugin[];
}

/** A table after validation. */
export interface TableConfig {
  /** Table name. */
  name: string;
  /** Absolute local path, or the `s3://` or `memory://` URI as given. */
  uri: string;
  /** The schema as a Delta struct. */
  schema: StructType;
  /** Partition columns. */
  partitionColumns: string[];
  /** Table properties. */
  properties: Record<string, string>;
  /** Unknown-field policy of the edge. */
  unknownFields: "reject" | "drop";
  /** Create the table when it does not exist. */
  createIfMissing: boolean;
  /** The commit protocol (the URI's default when the config names none). */
  commitProtocol: CommitProtocolName;
  /**
   * False when `commitProtocol` is the URI's default, not named in the config: an existing table
   * on S3 that records no protocol is then refused. `undefined` counts as named.
   */
  commitProtocolConfigured?: boolean;
  /** DynamoDB settings, for `s3-dynamodb` (and the check of `s3`). */
  dynamodb?: DynamoDbInput;
  /** The runner's maintenance schedule of the table (validated; defaults are the scheduler's). */
  maintenance?: MaintenanceInput;
}

/** Edge settings after validation, defaults filled in. */
export type EdgeSettings =
  & {
    -readonly [K in keyof typeof EDGE_CONFIG_DEFAULTS]: (typeof EDGE_CONFIG_DEFAULTS)[K] extends
      string ? string : number;
  }
  & {
    /** Base URL of the runner. */
    runnerUrl: string;
    /** Stable producer id, when the config names one. */
    producerId?: string;
  };

/** Runner settings after validation, defaults filled in. */
export interface RunnerSettings {
  /** Port. */
  port: number;
  /** Interface. */
  hostname: string;
  /** Literal token, when the config gives one. */
  token?: string;
  /** Environment variable holding the token. */
  tokenEnv: string;
  /** Named limits. */
  limits: Record<string, number>;
  /** Run the per-table maintenance schedule (compaction, and vacuum where enabled). */
  maintenance: boolean;
}

/** A validated config with defaults filled in. */
export interface LakestrikeConfig {
  /** Tables in config order. */
  tables: TableConfig[];
  /** Edge settings. */
  edge: EdgeSettings;
  /** Runner settings. */
  runner: RunnerSettings;
  /** Client bearer token to tables. */
  tokens: Record<string, string[] | "*">;
  /** Plugins to register after the built-ins. */
  plugins: Plugin[];
}

/** The config is invalid; `issues` names every problem by its path. */
export class ConfigError extends LakestrikeError {
  /** Every problem found, e.g. `tables[1].partitionColumns[0]: 'day' is not a column`. */
  readonly issues: readonly string[];
  /** Create the error; `source` names the file when there is one. */
  constructor(issues: readonly string[], source?: string) {
    const where = source === undefined ? "" : ` ${source}`;
    const list = issues.length === 1 ? issues[0] : issues.map((i) => `\n  ${i}`).join("");
    super("INVALID_ARGUMENT", `Invalid config${where}: ${list}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * Types a config object for `lakestrike.config.ts`; returns it unchanged (validation happens in
 * {@linkcode loadConfig}, which can name the file).
 *
 * @example
 * ```ts
 * import { defineConfig, validateConfig } from "./config.ts";
 * const config = defineConfig({
 *   tables: [{ name: "t", uri: "/tmp/t", schema: { id: "long not null" } }],
 * });
 * if (validateConfig(config).tables[0]?.schema.fields[0]?.nullable !== false) throw new Error();
 * ```
 */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (typeof v === "string") return `'${v}'`;
  if (v === undefined) return "undefined";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

const SHORT_TYPE_RE = /^\s*(.+?)(\s+not\s+null)?\s*$/i;

/** Reads a schema in either form; pushes issues under `at`. */
function readSchema(v: unknown, at: string, issues: string[]): StructType | undefined {
  if (isRecord(v) && v.type === "struct" && Array.isArray(v.fields)) {
    try {
      const struct = parseDataType(v, at) as StructType;
      return struct;
    } catch (e) {
      issues.push(`${at}: ${(e as Error).message.replace(/^Cannot parse schema at [^:]*: /, "")}`);
      return undefined;
    }
  }
  if (!isRecord(v)) {
    issues.push(`${at}: expected a Delta struct type or an object of column types, got ${show(v)}`);
    return undefined;
  }
  const fields: StructField[] = [];
  let ok = true;
  for (const [name, column] of Object.entries(v)) {
    const where = `${at}.${name}`;
    let type: unknown;
    let nullable = true;
    let metadata: Record<string, unknown> = {};
    if (typeof column === "string") {
      const m = SHORT_TYPE_RE.exec(column);
      // Type names are case-insensitive here, as in SQL DDL; Delta spells them in lower case.
      type = m?.[1]?.toLowerCase();
      nullable = m?.[2] === undefined;
    } else if (isRecord(column)) {
      type = column.type;
      if (column.nullable !== undefined && typeof column.nullable !== "boolean") {
        issues.push(`${where}.nullable: expected a boolean, got ${show(column.nullable)}`);
        ok = false;
      } else if (column.nullable === false) nullable = false;
      if (column.metadata !== undefined && !isRecord(column.metadata)) {
        issues.push(`${where}.metadata: expected an object, got ${show(column.metadata)}`);
        ok = false;
      } else if (isRecord(column.metadata)) metadata = column.metadata;
    } else {
      issues.push(`${where}: expected a type name or {type, nullable?}, got ${show(column)}`);
      ok = false;
      continue;
    }
    try {
      fields.push({ name, type: parseDataType(type, where), nullable, metadata });
    } catch (e) {
      const why = (e as Error).message.replace(/^Cannot parse schema at [^:]*: /, "");
      issues.push(`${where}: ${why}`);
      ok = false;
    }
  }
  return ok ? { type: "struct", fields } : undefined;
}

function checkSchemaColumns(schema: StructType, at: string, issues: string[]): void {
  if (schema.fields.length === 0) issues.push(`${at}: the schema has no columns`);
  const seen = new Set<string>();
  for (const f of schema.fields) {
    if (f.name === "") issues.push(`${at}: a column has an empty name`);
    // Delta column names are case-insensitive (Spark resolves them so).
    const lower = f.name.toLowerCase();
    if (seen.has(lower)) issues.push(`${at}.${f.name}: duplicate column (names ignore case)`);
    seen.add(lower);
  }
}

function checkPartitionColumns(
  v: unknown,
  schema: StructType | undefined,
  at: string,
  issues: string[],
): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    issues.push(`${at}: expected a list of column names, got ${show(v)}`);
    return [];
  }
  const out: string[] = [];
  let columns = 0;
  v.forEach((c: unknown, i) => {
    const where = `${at}[${i}]`;
    if (typeof c !== "string") {
      return issues.push(`${where}: expected a column name, got ${show(c)}`);
    }
    if (out.includes(c)) return issues.push(`${where}: '${c}' is listed twice`);
    out.push(c);
    if (schema === undefined) return;
    const field = schema.fields.find((f) => f.name === c);
    if (field === undefined) return issues.push(`${where}: '${c}' is not a column`);
    columns++;
    if (typeof field.type !== "string") {
      issues.push(
        `${where}: '${c}' has nested type ${field.type.type}; partition columns must be primitive`,
      );
    }
  });
  if (schema !== undefined && columns > 0 && columns >= schema.fields.length) {
    issues.push(`${at}: every column is a partition column; data files need one data column`);
  }
  return out;
}

function checkProperties(v: unknown, at: string, issues: string[]): Record<string, string> {
  if (v === undefined) return {};
  if (!isRecord(v)) {
    issues.push(`${at}: expected an object of string values, got ${show(v)}`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== "string") {
      issues.push(`${at}["${key}"]: expected a string, got ${show(value)}`);
      continue;
    }
    try {
      validateTableProperties({ [key]: value });
      out[key] = value;
    } catch (e) {
      const why = (e as Error).message.replace(/^Cannot create table: /, "");
      issues.push(`${at}["${key}"]: ${why}`);
    }
  }
  return out;
}

function resolveUri(v: unknown, baseDir: string, at: string, issues: string[]): string {
  if (typeof v !== "string" || v.trim() === "") {
    issues.push(`${at}: expected a path or URI, got ${show(v)}`);
    return "";
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(v)?.[1]?.toLowerCase();
  if (scheme === undefined) return isAbsolute(v) ? resolve(v) : resolve(baseDir, v);
  if (scheme === "file") {
    try {
      return fileURLToPath(v);
    } catch {
      issues.push(`${at}: ${show(v)} is not a valid file URL`);
      return "";
    }
  }
  if (scheme === "s3") {
    if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v)) {
      issues.push(`${at}: ${show(v)} is not a valid s3://bucket/prefix URI`);
    }
    return v.replace(/\/+$/, "");
  }
  // memory:// tables live as long as the process: for tests and throwaway demos.
  if (scheme === "memory") return v.replace(/\/+$/, "");
  issues.push(
    `${at}: unsupported scheme '${scheme}://' (use a local path, file://, s3:// or memory://)`,
  );
  return "";
}

function checkTable(
  v: unknown,
  i: number,
  baseDir: string,
  issues: string[],
): TableConfig | undefined {
  const at = `tables[${i}]`;
  if (!isRecord(v)) {
    issues.push(`${at}: expected a table object, got ${show(v)}`);
    return undefined;
  }
  const known = new Set([
    "name",
    "uri",
    "schema",
    "partitionColumns",
    "properties",
    "unknownFields",
    "createIfMissing",
    "commitProtocol",
    "dynamodb",
    "maintenance",
  ]);
  for (const key of Object.keys(v)) {
    if (!known.has(key)) issues.push(`${at}.${key}: unknown setting`);
  }
  const name = v.name;
  if (typeof name !== "string" || !CONFIG_TABLE_NAME_RE.test(name)) {
    issues.push(
      `${at}.name: expected a name of letters, digits, '_', '.', '-' (not starting with '.' or '-', at most 128), got ${
        show(name)
      }`,
    );
  }
  const uri = resolveUri(v.uri, baseDir, `${at}.uri`, issues);
  const before = issues.length;
  const schema = readSchema(v.schema, `${at}.schema`, issues);
  if (schema !== undefined) checkSchemaColumns(schema, `${at}.schema`, issues);
  const partitionColumns = checkPartitionColumns(
    v.partitionColumns,
    schema,
    `${at}.partitionColumns`,
    issues,
  );
  const properties = checkProperties(v.properties, `${at}.properties`, issues);
  const unknownFields = v.unknownFields ?? "reject";
  if (unknownFields !== "reject" && unknownFields !== "drop") {
    issues.push(`${at}.unknownFields: expected 'reject' or 'drop', got ${show(unknownFields)}`);
  }
  const createIfMissing = v.createIfMissing ?? true;
  if (typeof createIfMissing !== "boolean") {
    issues.push(`${at}.createIfMissing: expected a boolean, got ${show(createIfMissing)}`);
  }
  const commitProtocol = v.commitProtocol ?? defaultCommitProtocolName(uri);
  if (!(COMMIT_PROTOCOL_NAMES as readonly unknown[]).includes(commitProtocol)) {
    issues.push(
      `${at}.commitProtocol: expected one of ${COMMIT_PROTOCOL_NAMES.join(", ")}, got ${
        show(commitProtocol)
      }`,
    );
  } else if (commitProtocol !== "local" && !uri.startsWith("s3://")) {
    issues.push(`${at}.commitProtocol: '${commitProtocol}' needs an s3:// uri`);
  }
  const dynamodb = checkDynamoDb(v.dynamodb, commitProtocol, uri, `${at}.dynamodb`, issues);
  const maintenance = checkMaintenance(v.maintenance, `${at}.maintenance`, issues);
  if (schema === undefined || issues.length > before) return undefined;
  return {
    name: name as string,
    uri,
    schema,
    partitionColumns,
    properties,
    unknownFields: unknownFields as "reject" | "drop",
    createIfMissing: createIfMissing as boolean,
    commitProtocol: commitProtocol as CommitProtocolName,
    commitProtocolConfigured: v.commitProtocol !== undefined,
    ...(dynamodb === undefined ? {} : { dynamodb }),
    maintenance,
  };
}

const MAINTENANCE_BOOLEANS = [
  "compactEnabled",
  "vacuumEnabled",
  "vacuumApplyDataRetention",
] as const;
const MAINTENANCE_INTEGERS: Record<string, [number, number]> = {
  compactIntervalMs: [1_000, 7 * 86_400_000],
  compactTargetSizeBytes: [1, 2 ** 40],
  compactMinFiles: [1, 100_000],
  vacuumIntervalMs: [1_000, 30 * 86_400_000],
};

function checkMaintenance(v: unknown, at: string, issues: string[]): MaintenanceInput {
  if (v === undefined) return {};
  if (!isRecord(v)) {
    issues.push(`${at}: expected an object, got ${show(v)}`);
    return {};
  }
  const out: Record<string, number | boolean> = {};
  for (const [key, value] of Object.entries(v)) {
    if ((MAINTENANCE_BOOLEANS as readonly string[]).includes(key)) {
      if (typeof value !== "boolean") {
        issues.push(`${at}.${key}: expected a boolean, got ${show(value)}`);
      } else out[key] = value;
    } else if (key in MAINTENANCE_INTEGERS) {
      const [min, max] = MAINTENANCE_INTEGERS[key]!;
      if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        issues.push(`${at}.${key}: expected an integer from ${min} to ${max}, got ${show(value)}`);
      } else out[key] = value;
    } else if (key === "vacuumRetentionHours") {
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        issues.push(`${at}.${key}: expected hours >= 0, got ${show(value)}`);
      } else out[key] = value;
    } else {
      issues.push(`${at}.${key}: unknown setting`);
    }
  }
  return out as MaintenanceInput;
}

function checkDynamoDb(
  v: unknown,
  commitProtocol: unknown,
  uri: string,
  at: string,
  issues: string[],
): DynamoDbInput | undefined {
  if (v === undefined) return undefined;
  if (commitProtocol !== "s3-dynamodb" && commitProtocol !== "s3") {
    issues.push(`${at}: only used with commitProtocol 's3-dynamodb' (or 's3', as a check)`);
    return undefined;
  }
  if (!isRecord(v)) {
    issues.push(`${at}: expected an object, got ${show(v)}`);
    return undefined;
  }
  checkUnknownKeys(v, ["tableName", "endpoint", "region", "tablePath"], at, issues);
  const out: DynamoDbInput = {};
  if (v.tableName !== undefined) {
    if (typeof v.tableName !== "string" || !/^[A-Za-z0-9_.-]{3,255}$/.test(v.tableName)) {
      issues.push(`${at}.tableName: expected a DynamoDB table name, got ${show(v.tableName)}`);
    } else out.tableName = v.tableName;
  }
  if (v.endpoint !== undefined) {
    if (typeof v.endpoint !== "string" || !/^https?:\/\/\S+$/.test(v.endpoint)) {
      issues.push(`${at}.endpoint: expected an http(s) URL, got ${show(v.endpoint)}`);
    } else out.endpoint = v.endpoint;
  }
  if (v.region !== undefined) {
    if (typeof v.region !== "string" || !/^[a-z0-9-]{2,32}$/.test(v.region)) {
      issues.push(`${at}.region: expected an AWS region, got ${show(v.region)}`);
    } else out.region = v.region;
  }
  if (v.tablePath !== undefined) {
    let key: string | undefined;
    try {
      if (typeof v.tablePath === "string") key = dynamodbTablePath(v.tablePath);
    } catch { /* reported below */ }
    if (key === undefined) {
      issues.push(`${at}.tablePath: expected an s3a://bucket/path URI, got ${show(v.tablePath)}`);
    } else if (uri.startsWith("s3://") && !dynamodbTablePathVariants(uri).includes(key)) {
      issues.push(`${at}.tablePath: ${show(v.tablePath)} names another table than uri ${uri}`);
    } else out.tablePath = key;
  }
  return out;
}

function checkInt(
  v: unknown,
  at: string,
  min: number,
  max: number,
  issues: string[],
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    issues.push(`${at}: expected an integer from ${min} to ${max}, got ${show(v)}`);
    return undefined;
  }
  return v;
}

function checkUnknownKeys(
  v: Record<string, unknown>,
  known: readonly string[],
  at: string,
  issues: string[],
): void {
  for (const key of Object.keys(v)) {
    if (!known.includes(key)) {
      issues.push(`${at}.${key}: unknown setting (known: ${known.join(", ")})`);
    }
  }
}

function checkHostname(v: unknown, at: string, issues: string[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^[A-Za-z0-9.:\-\[\]]{1,253}$/.test(v)) {
    issues.push(`${at}: expected a host name or IP address, got ${show(v)}`);
    return undefined;
  }
  return v;
}

const INT32_MAX = 2 ** 31 - 1;

function checkRunner(v: unknown, issues: string[]): RunnerSettings {
  const out: RunnerSettings = {
    ...RUNNER_CONFIG_DEFAULTS,
    tokenEnv: DEFAULT_RUNNER_TOKEN_ENV,
    limits: {},
    maintenance: true,
  };
  if (v === undefined) return out;
  if (!isRecord(v)) {
    issues.push(`runner: expected an object, got ${show(v)}`);
    return out;
  }
  checkUnknownKeys(
    v,
    ["port", "hostname", "token", "tokenEnv", "limits", "maintenance"],
    "runner",
    issues,
  );
  if (v.maintenance !== undefined) {
    if (typeof v.maintenance !== "boolean") {
      issues.push(`runner.maintenance: expected a boolean, got ${show(v.maintenance)}`);
    } else out.maintenance = v.maintenance;
  }
  out.port = checkInt(v.port, "runner.port", 0, 65535, issues) ?? out.port;
  out.hostname = checkHostname(v.hostname, "runner.hostname", issues) ?? out.hostname;
  if (v.token !== undefined) {
    if (typeof v.token !== "string" || !BEARER_TOKEN_RE.test(v.token)) {
      issues.push(
        "runner.token: expected a bearer token (letters, digits, - . _ ~ + /, trailing =)",
      );
    } else out.token = v.token;
  }
  if (v.tokenEnv !== undefined) {
    if (typeof v.tokenEnv !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v.tokenEnv)) {
      issues.push(
        `runner.tokenEnv: expected an environment variable name, got ${show(v.tokenEnv)}`,
      );
    } else out.tokenEnv = v.tokenEnv;
  }
  if (v.limits !== undefined) {
    if (!isRecord(v.limits)) {
      issues.push(`runner.limits: expected an object, got ${show(v.limits)}`);
    } else {
      const known = Object.keys(RUNNER_LIMITS_DEFAULT);
      for (const [key, value] of Object.entries(v.limits)) {
        const min = key === "conflictRetriesMax" ? 0 : 1;
        if (!known.includes(key)) {
          issues.push(`runner.limits.${key}: unknown limit (known: ${known.join(", ")})`);
        } else if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
          issues.push(`runner.limits.${key}: expected an integer >= ${min}, got ${show(value)}`);
        } else out.limits[key] = value;
      }
    }
  }
  return out;
}

function checkEdge(v: unknown, runner: RunnerSettings, issues: string[]): EdgeSettings {
  const out: EdgeSettings = {
    ...EDGE_CONFIG_DEFAULTS,
    runnerUrl: `http://${
      runner.hostname === "0.0.0.0" ? "127.0.0.1" : runner.hostname
    }:${runner.port}`,
  };
  if (v === undefined) return out;
  if (!isRecord(v)) {
    issues.push(`edge: expected an object, got ${show(v)}`);
    return out;
  }
  checkUnknownKeys(
    v,
    [...Object.keys(EDGE_CONFIG_DEFAULTS), "runnerUrl", "producerId"],
    "edge",
    issues,
  );
  out.port = checkInt(v.port, "edge.port", 0, 65535, issues) ?? out.port;
  out.hostname = checkHostname(v.hostname, "edge.hostname", issues) ?? out.hostname;
  out.flushIntervalMs = checkInt(v.flushIntervalMs, "edge.flushIntervalMs", 1, 60_000, issues) ??
    out.flushIntervalMs;
  out.flushRowsMax = checkInt(v.flushRowsMax, "edge.flushRowsMax", 1, 1_000_000, issues) ??
    out.flushRowsMax;
  out.flushBytesMax = checkInt(v.flushBytesMax, "edge.flushBytesMax", 1024, 1 << 30, issues) ??
    out.flushBytesMax;
  out.bufferBytesMax = checkInt(v.bufferBytesMax, "edge.bufferBytesMax", 1024, 2 ** 40, issues) ??
    out.bufferBytesMax;
  out.requestBodyBytesMax =
    checkInt(v.requestBodyBytesMax, "edge.requestBodyBytesMax", 1, 1 << 30, issues) ??
      out.requestBodyBytesMax;
  out.requestTimeoutMs =
    checkInt(v.requestTimeoutMs, "edge.requestTimeoutMs", 1, INT32_MAX, issues) ??
      out.requestTimeoutMs;
  if (out.flushBytesMax > out.bufferBytesMax) {
    issues.push(
      `edge.flushBytesMax: ${out.flushBytesMax} is larger than edge.bufferBytesMax ${out.bufferBytesMax}`,
    );
  }
  if (v.runnerUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = typeof v.runnerUrl === "string" ? new URL(v.runnerUrl) : undefined;
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      issues.push(`edge.runnerUrl: expected an http:// or https:// URL, got ${show(v.runnerUrl)}`);
    } else out.runnerUrl = (v.runnerUrl as string).replace(/\/+$/, "");
  }
  if (v.producerId !== undefined) {
    if (typeof v.producerId !== "string" || !/^[\x21-\x7e]{1,200}$/.test(v.producerId)) {
      issues.push(
        `edge.producerId: expected 1 to 200 visible ASCII characters, got ${show(v.producerId)}`,
      );
    } else out.producerId = v.producerId;
  }
  return out;
}

function checkTokens(
  v: unknown,
  tableNames: ReadonlySet<string>,
  issues: string[],
): Record<string, string[] | "*"> {
  const out: Record<string, string[] | "*"> = {};
  if (v === undefined) return out;
  if (!isRecord(v)) {
    issues.push(`tokens: expected an object of token -> table names, got ${show(v)}`);
    return out;
  }
  for (const [token, grant] of Object.entries(v)) {
    // Never echo a token into a message: name it by its first characters only.
    const label = `tokens["${token.slice(0, 4)}…"]`;
    if (!BEARER_TOKEN_RE.test(token)) {
      issues.push(`${label}: not a valid bearer token (letters, digits, - . _ ~ + /, trailing =)`);
      continue;
    }
    if (grant === "*") {
      out[token] = "*";
      continue;
    }
    if (!Array.isArray(grant)) {
      issues.push(`${label}: expected a list of table names or "*", got ${show(grant)}`);
      continue;
    }
    const names: string[] = [];
    grant.forEach((t: unknown, k) => {
      if (typeof t !== "string") {
        issues.push(`${label}[${k}]: expected a table name, got ${show(t)}`);
      } else if (!tableNames.has(t)) issues.push(`${label}[${k}]: '${t}' is not a table`);
      else names.push(t);
    });
    if (grant.length === 0) issues.push(`${label}: grants no table (give table names or "*")`);
    out[token] = names;
  }
  return out;
}

function checkPlugins(v: unknown, issues: string[]): Plugin[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    issues.push(`plugins: expected a list of plugins, got ${show(v)}`);
    return [];
  }
  // Registration checks (shape, name, api version, hooks, duplicates) are the registry's own;
  // dependencies are checked when the runner freezes its registry with the built-ins.
  const registry = createPluginRegistry();
  v.forEach((p: unknown, i) => {
    try {
      registry.register(p as Plugin);
    } catch (e) {
      issues.push(`plugins[${i}]: ${(e as Error).message}`);
    }
  });
  return v as Plugin[];
}

/** Options of {@linkcode validateConfig}. */
export interface ValidateConfigOptions {
  /** Directory relative table paths are resolved against (default the working directory). */
  baseDir?: string;
  /** Names the config in error messages (usually its path). */
  source?: string;
}

/**
 * Checks a config object and fills in the defaults.
 *
 * @throws {ConfigError} naming every problem by its path in the config.
 *
 * @example
 * ```ts
 * import { ConfigError, validateConfig } from "./config.ts";
 * try {
 *   validateConfig({
 *     tables: [{ name: "e", uri: "/tmp/e", schema: { ts: "timestamp" }, partitionColumns: ["day"] }],
 *   });
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof ConfigError)) throw e;
 *   if (e.issues[0] !== "tables[0].partitionColumns[0]: 'day' is not a column") throw e;
 * }
 * ```
 */
export function validateConfig(
  obj: unknown,
  options: ValidateConfigOptions = {},
): LakestrikeConfig {
  const issues: string[] = [];
  const baseDir = options.baseDir ?? Deno.cwd();
  if (!isRecord(obj)) {
    throw new ConfigError([`expected a config object, got ${show(obj)}`], options.source);
  }
  checkUnknownKeys(obj, ["tables", "edge", "runner", "tokens", "plugins"], "config", issues);
  const tables: TableConfig[] = [];
  if (!Array.isArray(obj.tables) || obj.tables.length === 0) {
    issues.push(`tables: expected a non-empty list of tables, got ${show(obj.tables)}`);
  } else {
    const names = new Map<string, number>();
    const uris = new Map<string, number>();
    obj.tables.forEach((t: unknown, i) => {
      const table = checkTable(t, i, baseDir, issues);
      if (table === undefined) return;
      const sameName = names.get(table.name);
      if (sameName !== undefined) {
        issues.push(`tables[${i}].name: '${table.name}' is also the name of tables[${sameName}]`);
      }
      const sameUri = uris.get(table.uri);
      if (sameUri !== undefined) {
        issues.push(`tables[${i}].uri: '${table.uri}' is also the uri of tables[${sameUri}]`);
      }
      names.set(table.name, i);
      uris.set(table.uri, i);
      tables.push(table);
    });
  }
  const tableNames = new Set(
    Array.isArray(obj.tables)
      ? obj.tables.map((t: unknown) => (isRecord(t) ? t.name : undefined)).filter((n) =>
        typeof n === "string"
      ) as string[]
      : [],
  );
  const runner = checkRunner(obj.runner, issues);
  const edge = checkEdge(obj.edge, runner, issues);
  const tokens = checkTokens(obj.tokens, tableNames, issues);
  const plugins = checkPlugins(obj.plugins, issues);
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  return { tables, edge, runner, tokens, plugins };
}

/**
 * Loads `lakestrike.config.ts` (or `path`) with a dynamic import and validates its `config`
 * export. Relative table paths are resolved against the config file's directory.
 *
 * @throws {ConfigError} when the file is missing, does not export `config`, fails to import, or
 * holds an invalid config.
 */
export async function loadConfig(path: string = DEFAULT_CONFIG_PATH): Promise<LakestrikeConfig> {
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
  return validateConfig(module.config, { baseDir: resolve(absolute, ".."), source: path });
}

/**
 * The runner token: `runner.token` when the config gives one, else the environment variable
 * `runner.tokenEnv`.
 *
 * @throws {ConfigError} when neither holds a token.
 */
export function resolveRunnerToken(
  config: LakestrikeConfig,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  const token = config.runner.token ?? env(config.runner.tokenEnv);
  if (token === undefined || token === "") {
    throw new ConfigError([
      `runner.token: no runner token; set runner.token in the config or the environment variable ${config.runner.tokenEnv}`,
    ]);
  }
  if (!BEARER_TOKEN_RE.test(token)) {
    throw new ConfigError([`${config.runner.tokenEnv}: not a valid bearer token`]);
  }
  return token;
}

/**
 * The config's own plugins (no built-ins) in a frozen registry: what `compact` and `vacuum` run
 * with `--config PATH`.
 *
 * @throws {ConfigError} as {@linkcode loadConfig}
 */
export async function loadPluginRegistry(path: string): Promise<PluginRegistry> {
  return createPluginRegistry((await loadConfig(path)).plugins).freeze();
}
