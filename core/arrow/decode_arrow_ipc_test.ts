import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { createArrowTable } from "../parquet/create_arrow_table.ts";
import { ArrowIpcError, checkArrowIpc, decodeArrowIpc } from "./decode_arrow_ipc.ts";
import { ALL_TYPES_SCHEMA, allTypesRows, mutate, mutation } from "./test_util.ts";
import { ArrowLayoutError } from "./validate_arrow_layout.ts";
import { validateArrowValues } from "./validate_arrow_values.ts";

const table = createArrowTable(ALL_TYPES_SCHEMA, allTypesRows(12));
const stream = arrow.tableToIPC(table, "stream");
const file = arrow.tableToIPC(table, "file");
const dictionary = new arrow.Table({
  d: arrow.vectorFromArray(
    ["a", "b", "a"],
    new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
  ),
});

function json(t: arrow.Table): string {
  return JSON.stringify(t.toArray(), (_, v) => typeof v === "bigint" ? String(v) : v);
}

Deno.test("decodeArrowIpc: streams and files of every Delta type, dictionaries, empty streams", () => {
  assert.equal(json(decodeArrowIpc(stream)), json(table));
  assert.equal(json(decodeArrowIpc(file)), json(table));
  assert.deepEqual(
    decodeArrowIpc(arrow.tableToIPC(dictionary, "stream")).getChild("d")?.toArray(),
    [
      "a",
      "b",
      "a",
    ],
  );
  assert.deepEqual(decodeArrowIpc(arrow.tableToIPC(dictionary, "file")).getChild("d")?.toArray(), [
    "a",
    "b",
    "a",
  ]);
  const empty = arrow.tableToIPC(createArrowTable(ALL_TYPES_SCHEMA, []), "stream");
  assert.equal(decodeArrowIpc(empty).numRows, 0);
  assert.equal(decodeArrowIpc(new Uint8Array()).numRows, 0);
});

/** Positions of the little-endian int64 `value` in `bytes`. */
function positionsOf(bytes: Uint8Array, value: bigint): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 8 <= bytes.length; i++) if (view.getBigInt64(i, true) === value) out.push(i);
  return out;
}

Deno.test("decodeArrowIpc: refuses what made Arrow JS allocate without bound", () => {
  // Found by the property below: a `children` vector whose length reads 134,219,776 made the
  // schema decoder run out of memory (a 4 GiB heap) on a 3,648-byte body.
  const children = mutate(stream, [{ at: 57654496, width: 4, value: 29 }]);
  assert.throws(() => checkArrowIpc(children), ArrowIpcError);
  // A batch of 7,777 rows (an int column with nulls) whose header claims 2^31 - 1 rows: Arrow JS
  // would back-fill the column with a 256 MiB null bitmap and answer 2^31 - 1 rows.
  const rows = Array.from({ length: 7_777 }, (_, i) => (i % 2 === 0 ? i : null));
  const body = arrow.tableToIPC(
    new arrow.Table({ n: arrow.vectorFromArray(rows, new arrow.Int32()) }),
    "stream",
  );
  const lengths = positionsOf(body, 7_777n);
  // The batch length and the column's field node (followed by its null count, 3,888).
  const node = lengths.find((at) => new DataView(body.buffer).getBigInt64(at + 8, true) === 3_888n);
  const header = lengths.filter((at) => at !== node);
  assert.equal(header.length, 1, "the batch length appears once outside the field node");
  const claimed = body.slice();
  new DataView(claimed.buffer).setBigInt64(header[0]!, 2_147_483_647n, true);
  assert.throws(() => decodeArrowIpc(claimed), /a column of 7777 rows in a batch of 2147483647/);
});

Deno.test("decodeArrowIpc: refuses bytes after the end-of-stream marker", () => {
  // Found by the property below (seed 190 of a 300 MiB heap hunt): Arrow JS reads on after an
  // end-of-stream marker, so a record batch behind one (its buffer count made 1,410,139,399) went
  // unchecked and ran the process out of memory.
  const dictionaryStream = arrow.tableToIPC(dictionary, "stream");
  const view = new DataView(dictionaryStream.buffer);
  const marker = dictionaryStream.length - 8 - 8 - 136 - 16; // the record batch's continuation
  assert.equal(view.getInt32(marker, true), -1);
  const hidden = dictionaryStream.slice();
  new DataView(hidden.buffer).setInt32(marker, 0, true);
  assert.throws(() => checkArrowIpc(hidden), /bytes after the end-of-stream marker/);
  const twice = new Uint8Array([...stream, ...stream]);
  assert.throws(() => checkArrowIpc(twice), /bytes after the end-of-stream marker/);
  checkArrowIpc(stream.subarray(0, stream.length - 4)); // a marker without its zero length is an end
  checkArrowIpc(new Uint8Array([0, 0, 0, 0])); // a legacy end-of-stream marker alone
});

Deno.test("decodeArrowIpc: refuses buffer regions outside the body and shorter than their rows", () => {
  const short = arrow.makeData({
    type: new arrow.Int32(),
    length: 4,
    nullCount: 0,
    data: new Int32Array(2),
  });
  const body = arrow.tableToIPC(new arrow.Table({ n: arrow.makeVector(short) }), "stream");
  assert.throws(() => decodeArrowIpc(body), ArrowLayoutError);
  const truncated = stream.slice(0, stream.length - 100);
  assert.throws(() => decodeArrowIpc(truncated), ArrowIpcError);
});

Deno.test("property: decodeArrowIpc of a mutated stream or file throws an Error or returns readable data", () => {
  const dictionaryStream = arrow.tableToIPC(dictionary, "stream");
  let decoded = 0, refused = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(stream, file, dictionaryStream),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (bytes, mutations) => {
        let t: arrow.Table;
        try {
          t = decodeArrowIpc(mutate(bytes, mutations));
          // As the edge and the runner do next: values a Delta table cannot hold are refused.
          validateArrowValues(t);
        } catch (e) {
          assert.ok(e instanceof Error, String(e)); // an Error: the edge and runner answer 400
          refused++;
          return;
        }
        decoded++;
        json(t);
      },
    ),
    { numRuns: 2_000 },
  );
  assert.ok(refused > 0 && decoded > 0, `refused ${refused}, decoded ${decoded}`);
});
