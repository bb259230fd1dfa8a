/**
 * The edge's reading of its configuration, from one of two sources:
 *
 * * `lakestrike.config.ts` (or `--config PATH`): {@linkcode loadEdgeConfig} imports it and
 *   {@linkcode validateEdgeConfig} checks only what the edge reads: each table's name, schema,
 *   partition columns and unknown-field policy, the client tokens, the `edge` settings and how to
 *   reach the runner (`runner.port`, `hostname`, `token`, `tokenEnv`). The checks are the runner's
 *   own (`config/shared_sections.ts`), so both refuse a section alike; the runner's sections
 *   (locations, protocols, maintenance, limits, plugins) are left to the runner, and nothing of
 *   `batch/`, `plugins/` or AWS is loaded here. The plugins the config file itself imports are
 *   loaded with it: that is the config author's choice.
 * * the older JSON tables file (`--schema-file`), read by {@linkcode validateEdgeTablesFile}
 *   with the same checks:
 *
 * ```json
 * {
 *   "tables": { "events": { "schema": { "type": "struct", "fields": [...] }, "unknownFields": "drop" } },
 *   "tokens": { "client-token": ["events"], "admin-token": "*" }
 * }
 * ```
 *
 * where `schema` is a Delta schema in its PROTOCOL.md JSON form.
 *
 * @module
 */
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
  type RunnerAccess,
  show,
  TABLE_KEYS,
  tableNamesOf,
} from "../config/shared_sections.ts";
import type { StructType } from "../core/schema/types.ts";
import type { EdgeDeps, EdgeTableConfig } from "./app.ts";

/** A table as the edge reads it from the config. */
export interface EdgeConfigTable {
  /** Name clients use in `/v1/tables/{name}/events`. */
  name: string;
  /** The table's Delta schema. */
  schema: StructType;
  /** Partition columns: their values must make directory names the runner accepts. */
  partitionColumns: string[];
  /** Unknown event fields are rejected or dropped. */
  unknownFields: "reject" | "drop";
  /** Acknowledgement SLA in ms (default 250): what the edge measures answers against (ADR 0040). */
  ackSlaMs: number;
}

/** What the edge reads of a config, validated, defaults filled in. */
export interface EdgeConfig {
  /** Tables in config order. */
  tables: EdgeConfigTable[];
  /** Client bearer token to tables, `"*"` for all. */
  tokens: Record<string, string[] | "*">;
  /** Edge settings. */
  edge: EdgeSettings;
  /** How the runner is reached (its URL default) and where its token is. */
  runner: RunnerAccess;
}

function checkEdgeTable(v: unknown, at: string, issues: string[]): EdgeConfigTable | undefined {
  if (!isRecord(v)) {
    issues.push(`${at}: expected a table object, got ${show(v)}`);
    return undefined;
  }
  for (const key of Object.keys(v)) {
    if (!TABLE_KEYS.includes(key)) issues.push(`${at}.${key}: unknown setting`);
  }
  const before = issues.length;
  const name = checkTableName(v.name, `${at}.name`, issues);
  const schema = checkSchema(v.schema, `${at}.schema`, issues);
  const partitionColumns = checkPartitionColumns(
    v.partitionColumns,
    schema,
    `${at}.partitionColumns`,
    issues,
  );
  const unknownFields = checkUnknownFields(v.unknownFields, `${at}.unknownFields`, issues);
  const ackSlaMs = checkAckSlaMs(v.ackSlaMs, `${at}.ackSlaMs`, issues);
  if (
    name === undefined || schema === undefined || unknownFields === undefined ||
    ackSlaMs === undefined || issues.length > before
  ) {
    return undefined;
  }
  return { name, schema, partitionColumns, unknownFields, ackSlaMs };
}

/**
 * Checks what the edge reads of a config object (see the module doc) and fills in the defaults.
 * A config the runner accepts is accepted here; the runner's own sections are not looked into.
 *
 * @throws {ConfigError} naming every problem by its path in the config.
 *
 * @example
 * ```ts
 * import { validateEdgeConfig } from "./config.ts";
 * const config = validateEdgeConfig({
 *   tables: [{ name: "events", uri: "s3://lake/events", schema: { id: "long not null" } }],
 *   tokens: { "client-token": ["events"] },
 *   runner: { port: 9000, limits: { queueBatchesMax: 8 } },
 * });
 * if (config.edge.runnerUrl !== "http://127.0.0.1:9000") throw new Error("runner URL default");
 * if (config.tables[0]?.schema.fields[0]?.nullable !== false) throw new Error("schema");
 * ```
 */
export function validateEdgeConfig(obj: unknown, options: { source?: string } = {}): EdgeConfig {
  if (!isRecord(obj)) {
    throw new ConfigError([`expected a config object, got ${show(obj)}`], options.source);
  }
  const issues: string[] = [];
  checkUnknownKeys(obj, CONFIG_KEYS, "config", issues);
  const tables: EdgeConfigTable[] = [];
  if (!Array.isArray(obj.tables) || obj.tables.length === 0) {
    issues.push(`tables: expected a non-empty list of tables, got ${show(obj.tables)}`);
  } else {
    const names = new Map<string, number>();
    obj.tables.forEach((t: unknown, i) => {
      const table = checkEdgeTable(t, `tables[${i}]`, issues);
      if (table === undefined) return;
      const sameName = names.get(table.name);
      if (sameName !== undefined) {
        issues.push(`tables[${i}].name: '${table.name}' is also the name of tables[${sameName}]`);
      }
      names.set(table.name, i);
      tables.push(table);
    });
  }
  const runner = checkRunnerAccess(obj.runner, issues);
  const edge = checkEdge(obj.edge, runner, issues);
  const tokens = checkTokens(obj.tokens, tableNamesOf(obj.tables), issues);
  if (issues.length > 0) throw new ConfigError(issues, options.source);
  return { tables, tokens, edge, runner };
}

/**
 * Imports `lakestrike.config.ts` (or `path`) and validates what the edge reads of it.
 *
 * @throws {ConfigError} when the file is missing, does not export `config`, fails to import, or
 * its edge's part is invalid.
 */
export async function loadEdgeConfig(path: string = DEFAULT_CONFIG_PATH): Promise<EdgeConfig> {
  const { config, source } = await importConfig(path);
  return validateEdgeConfig(config, { source });
}

/**
 * Checks a parsed JSON tables file (see the module doc) as the config it stands for: its tables and
 * tokens, the edge defaults, and `runnerUrl`.
 *
 * @throws {ConfigError} naming every problem by its path in the equivalent config
 *
 * @example
 * ```ts
 * import { validateEdgeTablesFile } from "./config.ts";
 * const config = validateEdgeTablesFile({
 *   tables: { events: { schema: { type: "struct", fields: [{ name: "id", type: "long", nullable: false, metadata: {} }] } } },
 *   tokens: { t: ["events"] },
 * }, { runnerUrl: "http://runner:8081" });
 * if (config.tables[0]?.schema.fields[0]?.type !== "long") throw new Error("unexpected");
 * ```
 */
export function validateEdgeTablesFile(
  json: unknown,
  options: { runnerUrl: string; source?: string },
): EdgeConfig {
  if (!isRecord(json) || !isRecord(json.tables)) {
    throw new ConfigError([`tables: expected an object of table name -> table`], options.source);
  }
  const tables = Object.entries(json.tables).map(([name, t]) => {
    if (!isRecord(t)) return t;
    // The file's table keys are a config table's; a stray one is reported as unknown.
    const { schema, unknownFields, ...rest } = t;
    return { name, schema, unknownFields, ...rest };
  });
  return validateEdgeConfig(
    { tables, tokens: json.tokens, edge: { runnerUrl: options.runnerUrl } },
    options,
  );
}

/**
 * The dependencies of `createEdgeApp` that a config describes: its tables, tokens and edge settings,
 * plus the edge's name and how it reaches the runner.
 *
 * @example
 * ```ts
 * import { createEdgeApp } from "./app.ts";
 * import { edgeDepsFromConfig, validateEdgeConfig } from "./config.ts";
 * const config = validateEdgeConfig({
 *   tables: [{ name: "events", uri: "./data/events", schema: { id: "long not null" } }],
 *   tokens: { "client-token": ["events"] },
 * });
 * const app = createEdgeApp(edgeDepsFromConfig(config, {
 *   producerId: "edge-1",
 *   runnerUrl: config.edge.runnerUrl,
 *   runnerToken: "runner-token-0123456789",
 * }));
 * if ((await app.request("/healthz")).status !== 200) throw new Error("not healthy");
 * app.close();
 * ```
 */
export function edgeDepsFromConfig(
  config: Pick<EdgeConfig, "tables" | "tokens" | "edge">,
  runner: { producerId: string; runnerUrl: string; runnerToken: string },
): EdgeDeps {
  const tables: Record<string, EdgeTableConfig> = {};
  for (const t of config.tables) {
    tables[t.name] = {
      schema: t.schema,
      unknownFields: t.unknownFields,
      partitionColumns: t.partitionColumns,
      ackSlaMs: t.ackSlaMs,
    };
  }
  const edge = config.edge;
  return {
    tables,
    tokens: config.tokens,
    producerId: runner.producerId,
    runner: { runnerUrl: runner.runnerUrl, runnerToken: runner.runnerToken },
    flushIntervalMs: edge.flushIntervalMs,
    flushRowsMax: edge.flushRowsMax,
    flushBytesMax: edge.flushBytesMax,
    bufferBytesMax: edge.bufferBytesMax,
    requestBodyBytesMax: edge.requestBodyBytesMax,
    requestTimeoutMs: edge.requestTimeoutMs,
  };
}
