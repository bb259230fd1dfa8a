// Test helpers (not exported from mod.ts): decode Arrow columns into canonical plain values,
// generate random values of a Delta type, and query DuckDB.
import type * as arrow from "apache-arrow";
import fc from "fast-check";
import { DuckDBInstance } from "@duckdb/node-api";
import { decimalParams } from "../schema/parse_schema.ts";
import type { DataType, StructType } from "../schema/types.ts";

const decoder = new TextDecoder();

function valid(data: arrow.Data, i: number): boolean {
  const bitmap = data.nullBitmap;
  if (bitmap === undefined || bitmap.length === 0) return true;
  const bit = data.offset + i;
  return (bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

/**
 * Canonical value of row `i` of `data`: long/timestamp/decimal as bigint (micros, unscaled), date as
 * days, binary as number[], map as [key, value][], struct as object, array as array.
 */
export function decodeValue(data: arrow.Data, type: DataType, i: number): unknown {
  if (!valid(data, i)) return null;
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct": {
        const out: Record<string, unknown> = {};
        type.fields.forEach((f, c) => (out[f.name] = decodeValue(data.children[c]!, f.type, i)));
        return out;
      }
      case "array": {
        const o = data.valueOffsets as Int32Array;
        const out: unknown[] = [];
        for (let j = o[i]!; j < o[i + 1]!; j++) {
          out.push(decodeValue(data.children[0]!, type.elementType, j));
        }
        return out;
      }
      case "map": {
        const o = data.valueOffsets as Int32Array;
        const entries = data.children[0]!;
        const out: unknown[] = [];
        for (let j = o[i]!; j < o[i + 1]!; j++) {
          out.push([
            decodeValue(entries.children[0]!, type.keyType, j),
            decodeValue(entries.children[1]!, type.valueType, j),
          ]);
        }
        return out;
      }
    }
  }
  switch (type) {
    case "string": {
      const o = data.valueOffsets as Int32Array;
      return decoder.decode((data.values as Uint8Array).subarray(o[i]!, o[i + 1]!));
    }
    case "binary": {
      const o = data.valueOffsets as Int32Array;
      return Array.from((data.values as Uint8Array).subarray(o[i]!, o[i + 1]!));
    }
    case "boolean": {
      const bit = data.offset + i;
      return ((data.values as Uint8Array)[bit >> 3]! & (1 << (bit & 7))) !== 0;
    }
    default: {
      if (decimalParams(type) !== undefined) {
        const w = data.values as Uint32Array;
        let v = 0n;
        for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(w[i * 4 + k]!);
        return BigInt.asIntN(128, v);
      }
      return (data.values as ArrayLike<unknown>)[i];
    }
  }
}

/** All rows of a table as canonical values keyed by the schema's field names. */
export function decodeTable(table: arrow.Table, schema: StructType): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const batch of table.batches) {
    for (let i = 0; i < batch.numRows; i++) {
      const row: Record<string, unknown> = {};
      schema.fields.forEach((
        f,
        c,
      ) => (row[f.name] = decodeValue(batch.data.children[c]!, f.type, i)));
      rows.push(row);
    }
  }
  return rows;
}

/** Random canonical values of a Delta type (the input form `createArrowTable` accepts too). */
export function valueArb(type: DataType, nullable: boolean): fc.Arbitrary<unknown> {
  const v = nonNullArb(type);
  return nullable ? fc.option(v, { nil: null, freq: 5 }) : v;
}

function nonNullArb(type: DataType): fc.Arbitrary<unknown> {
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct": {
        const rec: Record<string, fc.Arbitrary<unknown>> = {};
        for (const f of type.fields) rec[f.name] = valueArb(f.type, f.nullable);
        return fc.record(rec).map((r) => ({ ...r }));
      }
      case "array":
        return fc.array(valueArb(type.elementType, type.containsNull), { maxLength: 4 });
      case "map":
        return fc.uniqueArray(
          fc.tuple(nonNullArb(type.keyType), valueArb(type.valueType, type.valueContainsNull)),
          { maxLength: 4, selector: (e) => e[0] },
        );
    }
  }
  switch (type) {
    case "string":
      return fc.string({ unit: "grapheme", maxLength: 40 });
    case "binary":
      return fc.uint8Array({ maxLength: 20 }).map((b) => Array.from(b));
    case "long":
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case "integer":
      return fc.integer();
    case "short":
      return fc.integer({ min: -32768, max: 32767 });
    case "byte":
      return fc.integer({ min: -128, max: 127 });
    case "float":
      return fc.float();
    case "double":
      return fc.double();
    case "boolean":
      return fc.boolean();
    case "date":
      return fc.integer({ min: -719162, max: 2932896 }); // 0001-01-01 .. 9999-12-31
    case "timestamp":
    case "timestamp_ntz":
      return fc.bigInt({ min: -62135596800000000n, max: 253402300799999999n });
    default: {
      const d = decimalParams(type)!;
      const limit = 10n ** BigInt(d.precision) - 1n;
      return fc.bigInt({ min: -limit, max: limit });
    }
  }
}

/** Turns canonical values into `createArrowTable` input (binary as Uint8Array). */
export function toInput(type: DataType, v: unknown): unknown {
  if (v === null) return null;
  if (typeof type !== "string") {
    switch (type.type) {
      case "struct": {
        const o = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const f of type.fields) out[f.name] = toInput(f.type, o[f.name]);
        return out;
      }
      case "array":
        return (v as unknown[]).map((e) => toInput(type.elementType, e));
      case "map":
        return (v as [unknown, unknown][]).map(([k, x]) => [
          toInput(type.keyType, k),
          toInput(type.valueType, x),
        ]);
    }
  }
  return type === "binary" ? new Uint8Array(v as number[]) : v;
}

/** Runs `fn` with a DuckDB connection (UTC time zone) and closes it afterwards. */
export async function withDuckDB<T>(
  fn: (query: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    await conn.run("SET TimeZone='UTC'");
    return await fn(async (sql) =>
      (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]
    );
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
