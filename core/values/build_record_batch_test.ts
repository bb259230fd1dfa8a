import assert from "node:assert/strict";
import { deltaSchemaToArrow } from "../schema/delta_schema_to_arrow.ts";
import type { StructType } from "../schema/types.ts";
import { buildRecordBatch } from "./build_record_batch.ts";
import { ValueError } from "./column_builder.ts";

const schema: StructType = {
  type: "struct",
  fields: [{
    name: "a b",
    type: "long",
    nullable: false,
    metadata: { "delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-1" },
  }],
};

Deno.test("buildRecordBatch reads rows by Delta name into the Arrow schema it is given", () => {
  const arrowSchema = deltaSchemaToArrow(schema, { physicalNames: true });
  const batch = buildRecordBatch(schema, [{ "a b": 1 }, { "a b": 2n }], { arrowSchema });
  assert.deepEqual(batch.schema.fields.map((f) => f.name), ["col-1"]);
  assert.deepEqual([...batch.getChild("col-1")!], [1n, 2n]);
  assert.equal(buildRecordBatch(schema, []).numRows, 0);
});

Deno.test("buildRecordBatch refuses a row that is not an object, naming the row", () => {
  for (const row of [null, [], 1, "x"]) {
    assert.throws(
      () => buildRecordBatch(schema, [{ "a b": 1 }, row]),
      (e) =>
        e instanceof ValueError && e.row === 1 && e.field === "" &&
        /expected an object/.test(e.reason),
    );
  }
  assert.throws(
    () => buildRecordBatch(schema, [{ "a b": 1, c: 1 }], { unknownFields: "reject" }),
    (e) => e instanceof ValueError && e.field === "c",
  );
});
