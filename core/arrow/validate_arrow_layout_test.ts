import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { createArrowTable } from "../parquet/create_arrow_table.ts";
import { checkArrowIpc } from "./decode_arrow_ipc.ts";
import { ALL_TYPES_SCHEMA as schema, allTypesRows as rows, mutate, mutation } from "./test_util.ts";
import { ArrowLayoutError, validateArrowLayout } from "./validate_arrow_layout.ts";

/** Encode and decode, as the edge and the runner read a body. */
function viaIpc(table: arrow.Table): arrow.Table {
  return arrow.tableFromIPC(arrow.tableToIPC(table, "stream"));
}

/** A one-column IPC round trip of raw Arrow data (Arrow JS writes short buffers as they are). */
function column(data: arrow.Data): arrow.Table {
  return viaIpc(new arrow.Table({ c: arrow.makeVector(data) }));
}

function refusal(table: arrow.Table): ArrowLayoutError | undefined {
  try {
    validateArrowLayout(table);
  } catch (e) {
    assert.ok(e instanceof ArrowLayoutError, `not an ArrowLayoutError: ${String(e)}`);
    return e;
  }
  return undefined;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("validateArrowLayout: accepts every Delta type, decoded and sliced", () => {
  const table = viaIpc(createArrowTable(schema, rows(40)));
  validateArrowLayout(table);
  validateArrowLayout(table.slice(3, 29));
  validateArrowLayout(viaIpc(table.slice(3, 29)));
  validateArrowLayout(viaIpc(createArrowTable(schema, [])));
  validateArrowLayout(new arrow.Table([...table.batches, ...table.slice(1, 2).batches]));
});

Deno.test("validateArrowLayout: refuses buffers shorter than their rows, of every layout", () => {
  const int32 = new arrow.Int32();
  const cases: [string, arrow.Table, RegExp][] = [
    [
      "Int32 values",
      column(arrow.makeData({ type: int32, length: 4, nullCount: 0, data: new Int32Array(2) })),
      /values buffer holds 2 of 4/,
    ],
    [
      "DateDay values",
      column(
        arrow.makeData({
          type: new arrow.DateDay(),
          length: 4,
          nullCount: 0,
          data: Int32Array.of(7),
        }),
      ),
      /values buffer holds 2 of 4/,
    ],
    [
      "Timestamp values",
      column(arrow.makeData({
        type: new arrow.TimestampMicrosecond("UTC"),
        length: 2,
        nullCount: 0,
        data: new BigInt64Array(1),
      })),
      /1 of 2/,
    ],
    [
      "Decimal values",
      column(arrow.makeData({
        type: new arrow.Decimal(2, 10, 128),
        length: 2,
        nullCount: 0,
        data: new Uint32Array(4),
      })),
      /1 of 2/,
    ],
    [
      "Bool values",
      column(
        arrow.makeData({
          type: new arrow.Bool(),
          length: 100,
          nullCount: 0,
          data: new Uint8Array(1),
        }),
      ),
      /64 of 100 bits/,
    ],
    [
      "validity bitmap",
      column(arrow.makeData({
        type: int32,
        length: 100,
        nullCount: 1,
        nullBitmap: new Uint8Array([0xfe]),
        data: new Int32Array(100),
      })),
      /validity bitmap holds 64 bits for 100 rows/,
    ],
    [
      "null count that lies",
      column(arrow.makeData({
        type: int32,
        length: 8,
        nullCount: 3,
        nullBitmap: new Uint8Array([0xfe]),
        data: new Int32Array(8),
      })),
      /null count 3 but the validity bitmap has 1 nulls/,
    ],
    [
      "string offsets",
      column(arrow.makeData({
        type: new arrow.Utf8(),
        length: 4,
        nullCount: 0,
        valueOffsets: Int32Array.of(0, 1),
        data: utf8("abcd"),
      })),
      /offsets buffer holds 2 of 5/,
    ],
    [
      "decreasing offsets",
      column(arrow.makeData({
        type: new arrow.Utf8(),
        length: 2,
        nullCount: 0,
        valueOffsets: Int32Array.of(0, 3, 1),
        data: utf8("abc"),
      })),
      /offsets decrease/,
    ],
    [
      "offsets past the data",
      column(arrow.makeData({
        type: new arrow.Binary(),
        length: 2,
        nullCount: 0,
        valueOffsets: Int32Array.of(0, 3, 10),
        data: utf8("abcd"),
      })),
      /past the end/,
    ],
    [
      "a character split between two strings",
      column(arrow.makeData({
        type: new arrow.Utf8(),
        length: 2,
        nullCount: 0,
        valueOffsets: Int32Array.of(0, 1, 2),
        data: utf8("é"),
      })),
      /invalid UTF-8 in row 1/,
    ],
    [
      "invalid UTF-8",
      column(arrow.makeData({
        type: new arrow.Utf8(),
        length: 1,
        nullCount: 0,
        valueOffsets: Int32Array.of(0, 2),
        data: Uint8Array.of(0xff, 0x41),
      })),
      /invalid UTF-8/,
    ],
    [
      "list offsets past the child",
      column(arrow.makeData({
        type: new arrow.List(new arrow.Field("element", int32)),
        length: 2,
        nullCount: 0,
        valueOffsets: Int32Array.of(0, 1, 5),
        child: arrow.makeData({ type: int32, length: 2, data: Int32Array.of(1, 2) }),
      })),
      /c\[\]/,
    ],
    [
      "struct child shorter than the struct",
      column(arrow.makeData({
        type: new arrow.Struct([new arrow.Field("x", int32)]),
        length: 3,
        nullCount: 0,
        children: [arrow.makeData({ type: int32, length: 1, data: Int32Array.of(1) })],
      })),
      /c\.x/,
    ],
    [
      "dictionary index out of range",
      column(arrow.makeData({
        type: new arrow.Dictionary(new arrow.Utf8(), int32),
        length: 2,
        nullCount: 0,
        data: Int32Array.of(0, 7),
        dictionary: arrow.vectorFromArray(["a", "b"], new arrow.Utf8()),
      })),
      /dictionary index 7/,
    ],
  ];
  for (const [name, table, reason] of cases) {
    const e = refusal(table);
    assert.ok(e !== undefined, `accepted: ${name}`);
    assert.match(e.message, reason, name);
  }
});

Deno.test("validateArrowLayout: a column shorter than its batch, and a map with a null key", () => {
  const a = arrow.makeData({ type: new arrow.Int32(), length: 3, data: Int32Array.of(1, 2, 3) });
  const b = arrow.makeData({ type: new arrow.Int32(), length: 1, data: Int32Array.of(1) });
  const fields = [new arrow.Field("a", a.type), new arrow.Field("b", b.type)];
  const batch = new arrow.RecordBatch(
    new arrow.Schema(fields),
    arrow.makeData({ type: new arrow.Struct(fields), length: 3, nullCount: 0, children: [a, b] }),
  );
  assert.equal(refusal(new arrow.Table([batch]))?.column, "b");
  const keys = arrow.vectorFromArray(["k", null], new arrow.Utf8()).data[0]!;
  const values = arrow.vectorFromArray([1, 2], new arrow.Int32()).data[0]!;
  const entries = new arrow.Struct([
    new arrow.Field("key", keys.type, false),
    new arrow.Field("value", values.type, true),
  ]);
  const map = arrow.makeData({
    type: new arrow.Map_(new arrow.Field("entries", entries, false)),
    length: 1,
    nullCount: 0,
    valueOffsets: Int32Array.of(0, 2),
    child: arrow.makeData({ type: entries, length: 2, nullCount: 0, children: [keys, values] }),
  });
  assert.match(refusal(column(map))?.reason ?? "", /null map key/);
});

Deno.test("property: a mutated body decodes to data that is refused, or whose every value reads", () => {
  const bytes = arrow.tableToIPC(createArrowTable(schema, rows(12)), "stream");
  let accepted = 0, refused = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
      const body = mutate(bytes, mutations);
      let table: arrow.Table;
      try {
        checkArrowIpc(body); // metadata Arrow JS cannot decode safely: refused before decoding
        table = arrow.tableFromIPC(body);
      } catch {
        return; // not an IPC stream: 400 before the layout check
      }
      if (refusal(table) !== undefined) {
        refused++;
        return;
      }
      accepted++;
      for (let i = 0; i < table.numRows; i++) {
        JSON.stringify(table.get(i)?.toJSON(), (_, v) => typeof v === "bigint" ? String(v) : v);
      }
    }),
    { numRuns: 500 },
  );
  assert.ok(refused > 0 && accepted > 0, `refused ${refused}, accepted ${accepted}`);
});

Deno.test("validateArrowLayout: a column passes once; a failed one is checked again every time", () => {
  const short = arrow.makeData({ type: new arrow.Int32(), length: 4, data: new Int32Array(2) });
  const bad = new arrow.Table({ n: arrow.makeVector(short) });
  for (let i = 0; i < 2; i++) assert.throws(() => validateArrowLayout(bad), ArrowLayoutError);
  const good = arrow.tableFromArrays({ n: Int32Array.of(1, 2, 3) });
  validateArrowLayout(good);
  validateArrowLayout(good);
  // The same well-formed column in a new table with a malformed one beside it: still refused.
  const mixed = new arrow.Table({ n: good.getChild("n")!, m: arrow.makeVector(short) });
  assert.throws(() => validateArrowLayout(mixed), ArrowLayoutError);
});
