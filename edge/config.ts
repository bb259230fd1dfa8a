/**
 * Reads the edge's table file until the config loader exists: a JSON document
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
import { PRIMITIVE_TYPE_NAMES } from "../core/schema/parse_schema.ts";
import type { DataType, StructType } from "../core/schema/types.ts";
import { decimalTypeParams } from "./arrow_schema.ts";
import type { EdgeTableConfig } from "./app.ts";

/** The tables and tokens of an edge. */
export interface EdgeTablesFile {
  /** Tables by name. */
  tables: Record<string, EdgeTableConfig>;
  /** Bearer token to tables, `"*"` for all. */
  tokens: Record<string, string[] | "*">;
}

const PRIMITIVES: ReadonlySet<string> = new Set(PRIMITIVE_TYPE_NAMES);

function fail(where: string, what: string): never {
  throw new TypeError(`Cannot read the tables file: ${where}: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkType(v: unknown, where: string): DataType {
  if (typeof v === "string") {
    if (PRIMITIVES.has(v) || decimalTypeParams(v) !== undefined) return v as DataType;
    return fail(where, `unknown type "${v}"`);
  }
  if (!isRecord(v)) return fail(where, "expected a type");
  if (v.type === "struct") return checkStruct(v, where);
  if (v.type === "array") {
    if (typeof v.containsNull !== "boolean") fail(where, "containsNull must be a boolean");
    return {
      type: "array",
      elementType: checkType(v.elementType, `${where}[]`),
      containsNull: v.containsNull as boolean,
    };
  }
  if (v.type === "map") {
    if (typeof v.valueContainsNull !== "boolean") {
      fail(where, "valueContainsNull must be a boolean");
    }
    return {
      type: "map",
      keyType: checkType(v.keyType, `${where}.key`),
      valueType: checkType(v.valueType, `${where}.value`),
      valueContainsNull: v.valueContainsNull as boolean,
    };
  }
  return fail(where, `unknown type ${JSON.stringify(v.type)}`);
}

function checkStruct(v: unknown, where: string): StructType {
  if (!isRecord(v) || v.type !== "struct" || !Array.isArray(v.fields)) {
    return fail(where, "expected a struct type");
  }
  const names = new Set<string>();
  const fields = v.fields.map((f: unknown, k: number) => {
    if (!isRecord(f) || typeof f.name !== "string" || typeof f.nullable !== "boolean") {
      return fail(`${where}.fields[${k}]`, "expected {name, type, nullable, metadata}");
    }
    if (names.has(f.name)) fail(`${where}.${f.name}`, "duplicate field name");
    names.add(f.name);
    return {
      name: f.name,
      type: checkType(f.type, where === "" ? f.name : `${where}.${f.name}`),
      nullable: f.nullable,
      metadata: isRecord(f.metadata) ? f.metadata : {},
    };
  });
  return { type: "struct", fields };
}

/**
 * Checks and reads a parsed tables file.
 *
 * @throws {TypeError} naming the first problem.
 *
 * @example
 * ```ts
 * import { parseEdgeTablesFile } from "./config.ts";
 * const file = parseEdgeTablesFile({
 *   tables: { events: { schema: { type: "struct", fields: [{ name: "id", type: "long", nullable: false, metadata: {} }] } } },
 *   tokens: { t: ["events"] },
 * });
 * if (file.tables.events?.schema.fields[0]?.type !== "long") throw new Error("unexpected");
 * ```
 */
export function parseEdgeTablesFile(json: unknown): EdgeTablesFile {
  if (!isRecord(json) || !isRecord(json.tables)) return fail("tables", "expected an object");
  const tables: Record<string, EdgeTableConfig> = {};
  for (const [name, t] of Object.entries(json.tables)) {
    if (!isRecord(t)) fail(`tables.${name}`, "expected an object");
    const config: EdgeTableConfig = { schema: checkStruct(t.schema, "") };
    if (t.unknownFields !== undefined) {
      if (t.unknownFields !== "reject" && t.unknownFields !== "drop") {
        fail(`tables.${name}.unknownFields`, 'expected "reject" or "drop"');
      }
      config.unknownFields = t.unknownFields;
    }
    tables[name] = config;
  }
  const tokens: Record<string, string[] | "*"> = {};
  for (const [token, grant] of Object.entries(isRecord(json.tokens) ? json.tokens : {})) {
    if (grant === "*") tokens[token] = "*";
    else if (Array.isArray(grant) && grant.every((g) => typeof g === "string")) {
      tokens[token] = grant as string[];
    } else fail(`tokens`, 'expected a list of table names or "*"');
  }
  return { tables, tokens };
}
