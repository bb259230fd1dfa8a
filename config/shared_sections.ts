/**
 * The config sections that both the runner and the edge read, and their checks: a table's name,
 * schema, partition columns and unknown-field policy, the client tokens, the edge settings and how
 * to reach the runner (address and token). `batch/config.ts` validates the whole config with these
 * and its own checks; `edge/config.ts` validates with these alone, so an edge never loads the
 * runner's code to read its config.
 *
 * Every check pushes its problems onto `issues`, each named by its path in the config
 * (`tables[1].partitionColumns[0]: 'day' is not a column`), so that one {@linkcode ConfigError}
 * names every problem at once. Sections of settings are zod schemas (`./section_schema.ts`, ADR
 * 0028), each declared by its owner (the edge's in `edge/edge_settings.ts`); what parses rather
 * than checks a shape (schemas, partition columns, tokens against tables) stays code.
 *
 * @module
 */
import { LakestrikeError } from "../core/errors.ts";
import { parseDataType } from "../core/schema/parse_schema.ts";
import type { StructField, StructType } from "../core/schema/types.ts";
import { hostnameSchema } from "../edge/edge_settings.ts";
import { checkSection, intIn, matching, section, show, z } from "./section_schema.ts";

export {
  checkEdge,
  EDGE_CONFIG_DEFAULTS,
  type EdgeInput,
  type EdgeSettings,
} from "../edge/edge_settings.ts";
export { show } from "./section_schema.ts";

/** File name the runner and the edge look for in the working directory. */
export const DEFAULT_CONFIG_PATH = "lakestrike.config.ts";

/** Environment variable that holds the runner token unless `runner.tokenEnv` names another. */
export const DEFAULT_RUNNER_TOKEN_ENV = "LAKESTRIKE_RUNNER_TOKEN";

/** Valid table names (the edge's rule): no slashes, no leading dot, at most 128 characters. */
export const CONFIG_TABLE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Valid bearer tokens (RFC 6750 `b64token`), at most 512 characters. */
export const BEARER_TOKEN_RE = /^[A-Za-z0-9\-._~+/]{1,512}=*$/;

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
  "commitsPerSecondMax",
  "ackSlaMs",
];

/** A table's acknowledgement SLA unless its config sets `ackSlaMs` (ADR 0040). */
export const ACK_SLA_MS_DEFAULT = 250;

/** `tables[].ackSlaMs`: whole milliseconds, 1 ms to 10 minutes. */
const ACK_SLA_MS_SCHEMA: z.ZodInt = intIn(1, 600_000);

/**
 * A table's acknowledgement SLA in ms (`tables[].ackSlaMs`, default {@linkcode ACK_SLA_MS_DEFAULT}):
 * the latency a client should see from its request to the `200`. Both the runner and the edge
 * read it; `undefined` when it is reported.
 *
 * @example
 * ```ts
 * import { checkAckSlaMs } from "./shared_sections.ts";
 * const issues: string[] = [];
 * if (checkAckSlaMs(undefined, "tables[0].ackSlaMs", issues) !== 250) throw new Error("default");
 * checkAckSlaMs(0, "tables[0].ackSlaMs", issues);
 * if (issues.length !== 1) throw new Error("0 ms is refused");
 * ```
 */
export function checkAckSlaMs(v: unknown, at: string, issues: string[]): number | undefined {
  if (v === undefined) return ACK_SLA_MS_DEFAULT;
  return checkSection(ACK_SLA_MS_SCHEMA, v, at, issues);
}

/** The keys of the `runner` section. */
export const RUNNER_KEYS: readonly string[] = [
  "port",
  "hostname",
  "token",
  "tokenEnv",
  "limits",
  "maintenance",
];

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

const NOT_A_TOKEN = {
  error: () => "expected a bearer token (letters, digits, - . _ ~ + /, trailing =)",
};

/**
 * The `runner` section's keys the edge reads too: how the runner is reached. The runner's reader
 * extends it with `limits` and `maintenance` (`batch/config.ts`).
 */
export const RUNNER_ACCESS_SHAPE = {
  port: intIn(0, 65535).optional(),
  hostname: hostnameSchema().optional(),
  // Never echo a token into a message.
  token: z.string(NOT_A_TOKEN).regex(BEARER_TOKEN_RE, NOT_A_TOKEN).optional(),
  tokenEnv: matching(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name").optional(),
};

/** The `runner` section as the edge reads it: the runner's own keys are known, not looked into. */
const RUNNER_ACCESS_SECTION = section({
  ...RUNNER_ACCESS_SHAPE,
  limits: z.unknown().optional(),
  maintenance: z.unknown().optional(),
});

/**
 * How the runner is reached: `runner.port`, `hostname`, `token` and `tokenEnv`. The runner's own
 * keys (`limits`, `maintenance`) are known here and left to the runner's reader.
 */
export function checkRunnerAccess(v: unknown, issues: string[]): RunnerAccess {
  const out: RunnerAccess = { ...RUNNER_CONFIG_DEFAULTS, tokenEnv: DEFAULT_RUNNER_TOKEN_ENV };
  if (v === undefined) return out;
  const runner = checkSection(RUNNER_ACCESS_SECTION, v, "runner", issues);
  if (runner === undefined) return out;
  if (runner.port !== undefined) out.port = runner.port;
  if (runner.hostname !== undefined) out.hostname = runner.hostname;
  if (runner.token !== undefined) out.token = runner.token;
  if (runner.tokenEnv !== undefined) out.tokenEnv = runner.tokenEnv;
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
