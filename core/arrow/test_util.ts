/**
 * Helpers for the tests of Arrow validation: a schema of every Delta type with rows, and random
 * overwrites of an IPC body (what a broken or hostile client can send).
 *
 * @module
 */
import fc from "fast-check";
import type { StructType } from "../schema/types.ts";

const field = (name: string, type: StructType["fields"][number]["type"], nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

/** A schema with every Delta type, nested ones included. */
export const ALL_TYPES_SCHEMA: StructType = {
  type: "struct",
  fields: [
    field("id", "long", false),
    field("b", "boolean"),
    field("i8", "byte"),
    field("i32", "integer"),
    field("f64", "double"),
    field("s", "string"),
    field("bin", "binary"),
    field("d", "date"),
    field("ts", "timestamp"),
    field("dec", "decimal(10,2)"),
    field("tags", { type: "array", elementType: "string", containsNull: true }),
    field("attrs", { type: "map", keyType: "string", valueType: "long", valueContainsNull: true }),
    field("user", { type: "struct", fields: [field("n", "integer", false), field("e", "string")] }),
  ],
};

function row(i: number): Record<string, unknown> {
  return {
    id: i,
    b: i % 3 === 0 ? null : i % 2 === 0,
    i8: i % 100,
    i32: i * 1000,
    f64: i / 3,
    s: i % 4 === 0 ? null : `é-${i}`,
    bin: new Uint8Array([i, i + 1]),
    d: i * 10,
    ts: BigInt(i) * 1_000_000n,
    dec: `${i}.25`,
    tags: i % 5 === 0 ? null : ["a", null, `t${i}`],
    attrs: { k: i, z: null },
    user: i % 6 === 0 ? null : { n: i, e: "x" },
  };
}

/** `n` rows of {@linkcode ALL_TYPES_SCHEMA}, with nulls at every level. */
export function allTypesRows(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => row(i));
}

/** One overwrite of an IPC body. */
export interface Mutation {
  /** Byte position (taken modulo the body length). */
  at: number;
  /** Bytes written: one, an int32 or an int64 (aligned). */
  width: 1 | 4 | 8;
  /** The value written. */
  value: number;
}

/** Overwrite bytes of a valid IPC body: buffer regions, field node lengths, offsets, values. */
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  width: fc.constantFrom(1 as const, 4 as const, 8 as const),
  value: fc.oneof(
    fc.integer({ min: 0, max: 64 }),
    fc.integer({ min: -2, max: 0 }),
    fc.integer({ min: 0, max: 0x7fffffff }),
  ),
});

/** `bytes` with `mutations` applied (a copy). */
export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  const body = bytes.slice();
  const view = new DataView(body.buffer);
  for (const m of mutations) {
    const at = m.at % (body.length - 8);
    if (m.width === 1) view.setUint8(at, m.value & 0xff);
    else if (m.width === 4) view.setInt32(at & ~3, m.value, true);
    else view.setBigInt64(at & ~7, BigInt(m.value), true);
  }
  return body;
}
