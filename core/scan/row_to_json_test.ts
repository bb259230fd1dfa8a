import { deepEqual, equal } from "node:assert/strict";
import type { StructType } from "../schema/types.ts";
import { formatTimestamp } from "./logical_row.ts";
import { rowToJson } from "./row_to_json.ts";

const field = (name: string, type: StructType["fields"][number]["type"]) => ({
  name,
  type,
  nullable: true,
  metadata: {},
});

Deno.test("rowToJson: primitives", () => {
  const schema: StructType = {
    type: "struct",
    fields: [
      field("i", "integer"),
      field("l", "long"),
      field("f", "float"),
      field("d", "double"),
      field("n", "double"),
      field("dec", "decimal(38,4)"),
      field("b", "boolean"),
      field("s", "string"),
      field("bin", "binary"),
      field("day", "date"),
      field("ts", "timestamp"),
      field("ntz", "timestamp_ntz"),
      field("nil", "string"),
    ],
  };
  const row = [
    1,
    -9223372036854775808n,
    Math.fround(3.4),
    1.5,
    NaN,
    { unscaled: -12345n, scale: 4 },
    false,
    "héllo",
    new Uint8Array([0, 1, 255]),
    -1,
    253402300799999999n,
    -1n,
    null,
  ];
  deepEqual(rowToJson(row, schema), {
    i: 1,
    l: "-9223372036854775808",
    f: Math.fround(3.4),
    d: 1.5,
    n: "NaN",
    dec: "-1.2345",
    b: false,
    s: "héllo",
    bin: "AAH/",
    day: "1969-12-31",
    ts: "9999-12-31T23:59:59.999999Z",
    ntz: "1969-12-31T23:59:59.999999",
    nil: null,
  });
});

Deno.test("rowToJson: nested struct, array and maps", () => {
  const schema: StructType = {
    type: "struct",
    fields: [
      field("st", {
        type: "struct",
        fields: [
          field("a", "long"),
          field("b", { type: "array", elementType: "date", containsNull: true }),
        ],
      }),
      field("ms", { type: "map", keyType: "string", valueType: "double", valueContainsNull: true }),
      field("mi", {
        type: "map",
        keyType: "integer",
        valueType: "string",
        valueContainsNull: true,
      }),
    ],
  };
  const row = [
    [5n, [0, null]],
    [["x", Infinity], ["y", null]],
    [[2, "two"], [1, "one"]],
  ];
  deepEqual(rowToJson(row, schema), {
    st: { a: "5", b: ["1970-01-01", null] },
    ms: { x: "Infinity", y: null },
    mi: [{ key: 2, value: "two" }, { key: 1, value: "one" }],
  });
});

Deno.test("formatTimestamp: six fraction digits, before and after the epoch", () => {
  equal(formatTimestamp(0n, true), "1970-01-01T00:00:00.000000Z");
  equal(formatTimestamp(1704164645123456n, false), "2024-01-02T03:04:05.123456");
  equal(formatTimestamp(-62135596800000000n, true), "0001-01-01T00:00:00.000000Z");
});
