import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { createArrowTable } from "../parquet/create_arrow_table.ts";
import { decodeTable } from "../parquet/test_util.ts";
import { compactArrowData, isCompactData } from "./compact_arrow_data.ts";
import { ALL_TYPES_SCHEMA, allTypesRows } from "./test_util.ts";

const decoded = arrow.tableFromIPC(
  arrow.tableToIPC(createArrowTable(ALL_TYPES_SCHEMA, allTypesRows(40)), "stream"),
);

function compactTable(t: arrow.Table): arrow.Table {
  return new arrow.Table(
    t.schema,
    t.batches.map((b) =>
      new arrow.RecordBatch(
        t.schema,
        arrow.makeData({
          type: new arrow.Struct(t.schema.fields),
          length: b.numRows,
          nullCount: 0,
          children: b.data.children.map((c) => compactArrowData(c)),
        }),
      )
    ),
  );
}

Deno.test("compactArrowData: decoded IPC data is views into the body; the copy owns its buffers", () => {
  for (const c of decoded.batches[0]!.data.children) assert.equal(isCompactData(c), false);
  const copy = compactTable(decoded);
  for (const c of copy.batches[0]!.data.children) assert.ok(isCompactData(c), String(c.type));
  assert.deepEqual(decodeTable(copy, ALL_TYPES_SCHEMA), decodeTable(decoded, ALL_TYPES_SCHEMA));
});

Deno.test("property: compacting any slice keeps every value of every Delta type", () => {
  fc.assert(
    fc.property(fc.nat(40), fc.nat(40), (a, b) => {
      const [start, end] = a <= b ? [a, b] : [b, a];
      const slice = decoded.slice(start, end);
      const copy = compactTable(slice);
      assert.equal(copy.numRows, end - start);
      assert.deepEqual(decodeTable(copy, ALL_TYPES_SCHEMA), decodeTable(slice, ALL_TYPES_SCHEMA));
      // And through IPC, as the edge sends it.
      const wire = arrow.tableFromIPC(arrow.tableToIPC(copy, "stream"));
      assert.deepEqual(decodeTable(wire, ALL_TYPES_SCHEMA), decodeTable(slice, ALL_TYPES_SCHEMA));
    }),
  );
});
