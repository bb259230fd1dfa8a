import assert from "node:assert/strict";
import type { StructType } from "../core/schema/types.ts";
import { createEdgeApp } from "./app.ts";
import { type BatchRequest, ForwardError } from "./wire.ts";

const schema: StructType = {
  type: "struct",
  fields: [{ name: "id", type: "long", nullable: false, metadata: {} }],
};

/** An edge whose runner answers with `answer(batch)`; returns the app and what it forwarded. */
function edgeWith(
  answer: (batch: BatchRequest) => Promise<{ version: number; rows: number; duplicate?: boolean }>,
  bufferBytesMax?: number,
) {
  const forwarded: BatchRequest[] = [];
  const app = createEdgeApp({
    tables: { events: { schema } },
    tokens: { t: "*" },
    producerId: "edge-1",
    forward: (batch) => {
      forwarded.push(batch);
      return answer(batch);
    },
    ...(bufferBytesMax === undefined ? {} : { bufferBytesMax }),
  });
  return { app, forwarded };
}

function post(
  app: ReturnType<typeof createEdgeApp>,
  headers: Record<string, string>,
  ids = [1, 2],
) {
  return app.request("/v1/tables/events/events", {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json", ...headers },
    body: JSON.stringify(ids.map((id) => ({ id }))),
  });
}

const as = (producer: string, sequence: number | string) => ({
  "Lakestrike-Producer": producer,
  "Lakestrike-Sequence": String(sequence),
});

Deno.test("edge: a producer's request is forwarded alone under its own txn appId and sequence", async () => {
  const { app, forwarded } = edgeWith((b) =>
    Promise.resolve({ version: 9, rows: 2, ...(b.seq === 3 ? { duplicate: true } : {}) })
  );
  const res = await post(app, as("p-1", 4));
  assert.deepEqual(await res.json(), { version: 9, rows: 2 });
  assert.equal(forwarded[0]!.producerId, "lakestrike-client:p-1");
  assert.equal(forwarded[0]!.seq, 4);
  assert.deepEqual(await (await post(app, as("p-1", 3))).json(), {
    version: 9,
    rows: 2,
    duplicate: true,
  });
  // Without the headers: the edge's own buffer and identity, as before.
  assert.equal((await post(app, {})).status, 200);
  assert.match(forwarded[2]!.producerId, /^edge-1#/);
  app.close();
});

Deno.test("edge: bad producer headers are 400 and forward nothing", async () => {
  const { app, forwarded } = edgeWith(() => Promise.resolve({ version: 1, rows: 2 }));
  for (
    const headers of [
      as("p#1", 1),
      as("p", 0),
      as("p", "1.5"),
      as("", 1),
      { "Lakestrike-Producer": "p" },
      { "Lakestrike-Sequence": "1" },
    ]
  ) {
    const res = await post(app, headers);
    assert.equal(res.status, 400, JSON.stringify(headers));
    assert.equal((await res.json()).error, "invalid_header");
  }
  assert.equal(forwarded.length, 0);
  app.close();
});

Deno.test("edge: the runner's answers become the client's: 409 with expectedSequence, 429, 502, 503 with written", async () => {
  const errors: Record<number, ForwardError> = {
    1: new ForwardError("gap", false, 409, { body: { error: "sequence_gap", committedSeq: 6 } }),
    2: new ForwardError("busy", true, 429, { body: { error: "buffer_full", written: "no" } }),
    3: new ForwardError("bad", false, 422, { body: { error: "transform_rejected" } }),
    4: new ForwardError("lost", true, 503, { body: { written: "unknown" } }),
    5: new ForwardError("reset", true),
  };
  const { app } = edgeWith((b) => Promise.reject(errors[b.seq]));
  const answers = [];
  for (let seq = 1; seq <= 5; seq++) {
    const res = await post(app, as("p", seq));
    const body = await res.json();
    answers.push([res.status, body.error, body.written, body.expectedSequence]);
  }
  assert.deepEqual(answers, [
    [409, "sequence_gap", "no", 7],
    [429, "buffer_full", "no", undefined],
    [502, "runner_rejected", "no", undefined],
    [503, "runner_unavailable", "unknown", undefined],
    [503, "runner_unavailable", "unknown", undefined],
  ]);
  app.close();
});

Deno.test("edge: producers' requests in flight are bounded per table (429, nothing forwarded)", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { app, forwarded } = edgeWith(async () => {
    await gate;
    return { version: 1, rows: 2 };
  }, 20); // one request of two longs (16 bytes) fits, two do not
  const first = post(app, as("a", 1));
  await new Promise((r) => setTimeout(r, 10));
  const second = await post(app, as("b", 1));
  assert.equal(second.status, 429);
  assert.equal(second.headers.get("retry-after"), "1");
  assert.equal(forwarded.length, 1);
  release();
  assert.equal((await first).status, 200);
  assert.equal((await post(app, as("b", 1))).status, 200, "room again");
  app.close();
});
