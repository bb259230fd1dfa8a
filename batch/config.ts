/**
 * The runner's reading of `lakestrike.config.ts`: {@linkcode loadConfig} imports the file and
 * {@linkcode validateConfig} checks the whole config, reporting every problem at once, each named by
 * its path (`tables[1].partitionColumns[0]: 'day' is not a column`), then fills in the defaults.
 *
 * The format itself (`defineConfig` and the types of every section) lives in `config/mod.ts`, which
 * is all a config file imports; it is re-exported here so that config files importing
 * `batch/config.ts` keep working. The sections the edge reads too (tables' schemas and partition
 * columns, tokens, edge settings, the runner's address and token) are checked by
 * `config/shared_sections.ts`, the same checks the edge runs (`edge/config.ts`); this module adds
 * the runner's own: table locations, properties, commit protocols, DynamoDB, maintenance, runner
 * limits and plugins. The decisions behind the format are in `docs/adr/0012-ingest-configuration.md`.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  COMMIT_PROTOCOL_NAMES,
  type CommitProtocolName,
  defaultCommitProtocolName,
} from "../core/log/commit_protocol.ts";
import { dynamodbTablePath, dynamodbTablePathVariants } from "../aws/s3_uri.ts";
import type { StructType } from "../core/schema/types.ts";
import { validateTableProperties } from "../core/write/table_properties.ts";
import type { DynamoDbInput, MaintenanceInput } from "../config/define_config.ts";
import { bool, checkSection, matching, section, z } from "../config/section_schema.ts";
import { checkMaintenance } from "../ops/maintenance_options.ts";
import { AWS_REGION_RE, DYNAMODB_TABLE_NAME_RE } from "./cli.ts";
import { importConfig } from "../config/import_config.ts";
import {
  checkAckSlaMs,
  checkEdge,
  checkPartitionColumns,
  checkRunnerAccess,
  checkSchema,
  checkTableName,
  checkTokens,
  checkUnknownFields,
  checkUnknownKeys,
  CONFIG_KEYS,
  ConfigError,
  DEFAULT_CONFIG_PATH,
  type EdgeSettings,
  isRecord,
  RUNNER_ACCESS_SHAPE,
  type RunnerAccess,
  show,
  TABLE_KEYS,
  tableNamesOf,
} from "../config/shared_sections.ts";
import { createPluginRegistry, type PluginRegistry } from "../plugins/registry.ts";
import { COMMITS_PER_SECOND_MAX_SCHEMA } from "./runner/commit_ceiling.ts";
import { RUNNER_LIMITS_SECTION } from "./runner/runner.ts";
import type { Plugin } from "../plugins/types.ts";

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
} from "../config/define_config.ts";
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
} from "../config/shared_sections.ts";

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
  /** Ceiling on the table's commits per second, when the config sets one (default the runner's). */
  commitsPerSecondMax?: number;
  /** Acknowledgement SLA in ms (default `ACK_SLA_MS_DEFAULT`, 250; ADR 0040). */
  ackSlaMs: number;
}

/** Runner settings after validation, defaults filled in. */
export interface RunnerSettings extends RunnerAccess {
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
  for (const key of Object.keys(v)) {
    if (!TABLE_KEYS.includes(key)) issues.push(`${at}.${key}: unknown setting`);
  }
  const name = checkTableName(v.name, `${at}.name`, issues);
  const uri = resolveUri(v.uri, baseDir, `${at}.uri`, issues);
  const before = issues.length;
  const schema = checkSchema(v.schema, `${at}.schema`, issues);
  const partitionColumns = checkPartitionColumns(
    v.partitionColumns,
    schema,
    `${at}.partitionColumns`,
    issues,
  );
  const properties = checkProperties(v.properties, `${at}.properties`, issues);
  const unknownFields = checkUnknownFields(v.unknownFields, `${at}.unknownFields`, issues);
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
  const commitsPerSecondMax = v.commitsPerSecondMax === undefined ? undefined : checkSection(
    COMMITS_PER_SECOND_MAX_SCHEMA,
    v.commitsPerSecondMax,
    `${at}.commitsPerSecondMax`,
    issues,
  );
  const ackSlaMs = checkAckSlaMs(v.ackSlaMs, `${at}.ackSlaMs`, issues);
  if (
    schema === undefined || unknownFields === undefined || ackSlaMs === undefined ||
    issues.length > before
  ) {
    return undefined;
  }
  return {
    // A refused name is reported already; the table still takes part in the duplicate checks.
    name: name ?? String(v.name),
    uri,
    schema,
    partitionColumns,
    properties,
    unknownFields,
    createIfMissing: createIfMissing as boolean,
    commitProtocol: commitProtocol as CommitProtocolName,
    commitProtocolConfigured: v.commitProtocol !== undefined,
    ...(dynamodb === undefined ? {} : { dynamodb }),
    maintenance,
    ...(commitsPerSecondMax === undefined ? {} : { commitsPerSecondMax }),
    ackSlaMs,
  };
}

/** The `tables[].dynamodb` section's schema (`tablePath` is checked against the table's uri). */
const S3A_URI = {
  error: (issue: { input?: unknown }) =>
    `expected an s3a://bucket/path URI, got ${show(issue.input)}`,
};

const DYNAMODB_SECTION = section({
  tableName: matching(DYNAMODB_TABLE_NAME_RE, "a DynamoDB table name").optional(),
  endpoint: matching(/^https?:\/\/\S+$/, "an http(s) URL").optional(),
  region: matching(AWS_REGION_RE, "an AWS region").optional(),
  tablePath: z.string(S3A_URI).transform((v, ctx) => {
    try {
      return dynamodbTablePath(v);
    } catch {
      ctx.addIssue({
        code: "custom",
        message: `expected an s3a://bucket/path URI, got ${show(v)}`,
      });
      return z.NEVER;
    }
  }).optional(),
});

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
  const parsed = checkSection(DYNAMODB_SECTION, v, at, issues);
  if (parsed === undefined) return undefined;
  const out: DynamoDbInput = {};
  if (parsed.tableName !== undefined) out.tableName = parsed.tableName;
  if (parsed.endpoint !== undefined) out.endpoint = parsed.endpoint;
  if (parsed.region !== undefined) out.region = parsed.region;
  if (parsed.tablePath !== undefined) {
    if (uri.startsWith("s3://") && !dynamodbTablePathVariants(uri).includes(parsed.tablePath)) {
      issues.push(
        `${at}.tablePath: ${
          show((v as { tablePath: unknown }).tablePath)
        } names another table than uri ${uri}`,
      );
      return undefined;
    }
    out.tablePath = parsed.tablePath;
  }
  return out;
}

/** The whole `runner` section: how it is reached (shared with the edge) and the runner's own. */
const RUNNER_SECTION = section({
  ...RUNNER_ACCESS_SHAPE,
  limits: RUNNER_LIMITS_SECTION.optional(),
  maintenance: bool().optional(),
});

function checkRunner(v: unknown, issues: string[]): RunnerSettings {
  const access = checkRunnerAccess(v, []);
  const out: RunnerSettings = { ...access, limits: {}, maintenance: true };
  if (v === undefined) return out;
  const runner = checkSection(RUNNER_SECTION, v, "runner", issues);
  if (runner === undefined) return out;
  if (runner.maintenance !== undefined) out.maintenance = runner.maintenance;
  for (const [key, value] of Object.entries(runner.limits ?? {})) {
    if (value !== undefined) out.limits[key] = value;
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
  checkUnknownKeys(obj, CONFIG_KEYS, "config", issues);
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
  const runner = checkRunner(obj.runner, issues);
  const edge = checkEdge(obj.edge, runner, issues);
  const tokens = checkTokens(obj.tokens, tableNamesOf(obj.tables), issues);
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
  const { config, baseDir, source } = await importConfig(path);
  return validateConfig(config, { baseDir, source });
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
