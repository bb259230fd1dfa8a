/**
 * The config sections that both the runner and the edge read, and their checks: a table's name,
 * schema, partition columns and unknown-field policy, the client tokens, the edge settings and how
 * to reach the runner (address and token). `batch/config.ts` validates the whole config with these
 * and its own checks; `edge/config.ts` validates with these alone, so an edge never loads the
 * runner's code to read its config.
 *
 * Every check pushes its problems onto `issues`, each named by its path in the config
 * (`tables[1].partitionColumns[0]: 'day' is not a column`), so that one {@linkcode ConfigError}
 * names every problem at once.
 *
 * @module
 */
import { LakestrikeError } from "../core/errors.ts";
import { parseDataType } from "../core/schema/parse_schema.ts";
import type { StructField, StructType } from "../core/schema/types.ts";

/** File name the runner and the edge look for in the working directory. */
export const DEFAULT_CONFIG_PATH = "lakestrike.config.ts";

/** Environment variable that holds the runner token unless `runner.tokenEnv` names another. */
export const DEFAULT_RUNNER_TOKEN_ENV = "LAKESTRIKE_RUNNER_TOKEN";

/** Valid table names (the edge's rule): no slashes, no leading dot, at most 128 characters. */
export const CONFIG_TABLE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Valid bearer tokens (RFC 6750 `b64token`), at most 512 characters. */
export const BEARER_TOKEN_RE = /^[A-Za-z0-9\-._~+/]{1,512}=*$/;

/** Defaults of the edge settings (those of `EDGE_DEFAULTS` in `edge/app.ts`, plus the address). */
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

/** The top-level keys of a config. */
export const CONFIG_KEYS: readonly string[] = ["tables", "edge", "runner", "tokens", "plugins"];

/** The keys of a table in the config. */
export const TABLE_KEYS: readonly string[] = [
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
];

/** The keys of the `runner` section. */
export const RUNNER_KEYS: readonly string[] = [
  "port",
  "hostname",
  "token",
  "tokenEnv",
  "limits",
  "maintenance",
];

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

/** How the runner is reached, after validation: what the edge reads of the `runner` section. */
export interface RunnerAccess {
  /** Port. */
  port: number;
  /** Interface. */
  hostname: string;
  /** Literal token, when the config gives one. */
  token?: string;
  /** Environment variable holding the token. */
  tokenEnv: string;
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

/** True for a plain object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A value as an issue shows it: strings quoted, the rest as JSON. */
export function show(v: unknown): string {
  if (typeof v === "string") return `'${v}'`;
  if (v === undefined) return "undefined";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** An integer from `min` to `max`, or `undefined` (absent, or reported). */
export function checkInt(
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

/** Reports every key of `v` that is not in `known`. */
export function checkUnknownKeys(
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

/** A table's name, or `undefined` when it is reported. */
export function checkTableName(v: unknown, at: string, issues: string[]): string | undefined {
  if (typeof v !== "string" || !CONFIG_TABLE_NAME_RE.test(v)) {
    issues.push(
      `${at}: expected a name of letters, digits, '_', '.', '-' (not starting with '.' or '-', at most 128), got ${
        show(v)
      }`,
    );
    return undefined;
  }
  return v;
}

const SHORT_TYPE_RE = /^\s*(.+?)(\s+not\s+null)?\s*$/i;

/**
 * Reads a table schema in either form (a Delta struct type or `{ column: ShortColumn }`) and
 * checks its columns (at least one, names unique ignoring case).
 *
 * @example
 * ```ts
 * import { checkSchema } from "./shared_sections.ts";
 * const issues: string[] = [];
 * const schema = checkSchema({ id: "long not null", note: "string" }, "tables[0].schema", issues);
 * if (schema?.fields[0]?.nullable !== false || issues.length > 0) throw new Error("not read");
 * ```
 */
export function checkSchema(v: unknown, at: string, issues: string[]): StructType | undefined {
  const schema = readSchema(v, at, issues);
  if (schema !== undefined) checkSchemaColumns(schema, at, issues);
  return schema;
}

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

/**
 * The partition columns of a table: top-level primitive columns of `schema`, each listed once,
 * leaving at least one data column. `schema` is `undefined` when it was refused; only the list's
 * form is checked then.
 */
export function checkPartitionColumns(
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

/** The edge's policy for event fields that are not columns (default `reject`). */
export function checkUnknownFields(
  v: unknown,
  at: string,
  issues: string[],
): "reject" | "drop" | undefined {
  const unknownFields = v ?? "reject";
  if (unknownFields !== "reject" && unknownFields !== "drop") {
    issues.push(`${at}: expected 'reject' or 'drop', got ${show(unknownFields)}`);
    return undefined;
  }
  return unknownFields;
}

/** The names of the tables of a config, as far as they are strings (for the tokens' check). */
export function tableNamesOf(tables: unknown): Set<string> {
  return new Set(
    Array.isArray(tables)
      ? tables.map((t: unknown) => (isRecord(t) ? t.name : undefined)).filter((n) =>
        typeof n === "string"
      ) as string[]
      : [],
  );
}

/** How the runner is reached: `runner.port`, `hostname`, `token` and `tokenEnv`. */
export function checkRunnerAccess(v: unknown, issues: string[]): RunnerAccess {
  const out: RunnerAccess = { ...RUNNER_CONFIG_DEFAULTS, tokenEnv: DEFAULT_RUNNER_TOKEN_ENV };
  if (v === undefined) return out;
  if (!isRecord(v)) {
    issues.push(`runner: expected an object, got ${show(v)}`);
    return out;
  }
  checkUnknownKeys(v, RUNNER_KEYS, "runner", issues);
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
  return out;
}

const INT32_MAX = 2 ** 31 - 1;

/** The edge settings, defaults filled in; the runner URL defaults to the runner's address. */
export function checkEdge(v: unknown, runner: RunnerAccess, issues: string[]): EdgeSettings {
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

/** The client tokens: bearer token to the tables (of `tableNames`) it may write, or `"*"`. */
export function checkTokens(
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

/**
 * The runner token: `runner.token` when the config gives one, else the environment variable
 * `runner.tokenEnv`.
 *
 * @throws {ConfigError} when neither holds a token, or it is no bearer token.
 *
 * @example
 * ```ts
 * import { resolveRunnerToken } from "./shared_sections.ts";
 * const runner = { tokenEnv: "MY_TOKEN" };
 * if (resolveRunnerToken({ runner }, () => "s3cret-s3cret-s3cret") !== "s3cret-s3cret-s3cret") {
 *   throw new Error("the variable holds the token");
 * }
 * ```
 */
export function resolveRunnerToken(
  config: { runner: Pick<RunnerAccess, "token" | "tokenEnv"> },
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
