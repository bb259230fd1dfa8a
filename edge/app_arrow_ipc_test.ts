import assert from "node:assert/strict";
import * as arrow from "apache-arrow";
import { createEdgeApp } from "./app.ts";

function positionsOf(bytes: Uint8Array, value: bigint): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 8 <= bytes.length; i++) if (view.getBigInt64(i, true) === value) out.push(i);
  return out;
}

Deno.test("edge: an Arrow body whose header claims 2^31 rows is 400, not an out-of-memory crash", async () => {
  let forwarded = 0;
  const app = createEdgeApp({
    tables: {
      t: {
        schema: {
          type: "struct",
          fields: [{ name: "n", type: "integer", nullable: true, metadata: {} }],
        },
      },
    },
    tokens: { secret: "*" },
    producerId: "edge-1",
    forward: () => {
      forwarded++;
      return Promise.resolve({ version: 1, rows: 1 });
    },
  });
  const rows = Array.from({ length: 7_777 }, (_, i) => (i % 2 === 0 ? i : null));
  const body = arrow.tableToIPC(
    new arrow.Table({ n: arrow.vectorFromArray(rows, new arrow.Int32()) }),
    "stream",
  );
  // The batch header's length (not the field node, which is followed by its null count 3,888).
  const view = new DataView(body.buffer);
  const header = positionsOf(body, 7_777n).filter((at) =>
    view.getBigInt64(at + 8, true) !== 3_888n
  );
  assert.equal(header.length, 1);
  view.setBigInt64(header[0]!, 2_147_483_647n, true);
  const res = await app.request("/v1/tables/t/events", {
    method: "POST",
    headers: {
      authorization: "Bearer secret",
      "content-type": "application/vnd.apache.arrow.stream",
    },
    body: body as Uint8Array<ArrayBuffer>,
  });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error, "malformed_body");
  assert.equal(forwarded, 0);
  app.close();
});
