/**
 * Canonical rows and checksum of the conformance suite (shared/conformance/README.md, "Canonical
 * rows and checksum"): every value becomes a JSON string (or array, or null), and the checksum is
 * the sha256 of the sorted sha256 of every compact row JSON, joined by newlines.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { DataType, StructType } from "../core/schema/types.ts";
import {
  type Decimal,
  formatDecimal,
  type LogicalRow,
  type LogicalValue,
} from "../core/scan/mod.ts";

/** A canonical value: a string, null, or an array of canonical values. */
export type CanonicalValue = string | null | CanonicalValue[];

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function canonicalFloat(n: number): string {
  if (Object.is(n, -0)) return "0";
  return n.toString();
}

/** The canonical form of one value of `type`. */
export function canonicalValue(value: LogicalValue, type: DataType): CanonicalValue {
  if (value === null || value === undefined) return null;
  if (typeof type === "string") {
    switch (type) {
      case "byte":
      case "short":
      case "integer":
      case "long":
        return String(value as number | bigint);
      case "float":
      case "double":
        return canonicalFloat(value as number);
      case "boolean":
        return value ? "true" : "false";
      case "string":
        return value as string;
      case "binary":
        return hex(value as Uint8Array);
      case "date":
        return String(value as number);
      case "timestamp":
      case "timestamp_ntz":
        return String(value as bigint);
      default:
        if (type.startsWith("decimal")) return formatDecimal(value as Decimal);
        throw new Error(`canonical form of unknown type ${type}`);
    }
  }
  switch (type.type) {
    case "struct":
      return type.fields.map((f, i) =>
        canonicalValue((value as LogicalValue[])[i] ?? null, f.type)
      );
    case "array":
      return (value as LogicalValue[]).map((v) => canonicalValue(v, type.elementType));
    case "map": {
      const pairs = (value as [LogicalValue, LogicalValue][]).map((
        [k, v],
      ): [CanonicalValue, CanonicalValue] => [
        canonicalValue(k, type.keyType),
        canonicalValue(v, type.valueType),
      ]);
      const keyed = pairs.map((p) => ({ key: JSON.stringify(p[0]), pair: p }));
      // UTF-16 code-unit order of the compact JSON of the key, as the README says.
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return keyed.map((k) => k.pair);
    }
  }
}

/** The canonical row: one canonical value per top-level field of `schema`. */
export function canonicalRow(row: LogicalRow, schema: StructType): CanonicalValue[] {
  return schema.fields.map((f, i) => canonicalValue(row[i] ?? null, f.type));
}

/** Lowercase hex sha256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The order-independent, duplicate-sensitive checksum of canonical rows. */
export function checksumOf(rows: readonly CanonicalValue[][]): string {
  const hashes = rows.map((r) => sha256Hex(JSON.stringify(r)));
  hashes.sort();
  return sha256Hex(hashes.join("\n"));
}
