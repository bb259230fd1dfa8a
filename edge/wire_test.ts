import assert from "node:assert/strict";
import {
  ARROW_STREAM_CONTENT_TYPE,
  digestsEqual,
  forwardBatch,
  ForwardError,
  NEXT_COMMIT_HEADER,
  PRODUCER_HEADER,
  SEQ_HEADER,
  tokenDigest,
} from "./wire.ts";

const batch = { table: "a.b", producerId: "edge-9", seq: 42, body: new Uint8Array([1, 2, 3]) };

async function failure(status: number | "network" | "garbage"): Promise<ForwardError> {
  const fetch: typeof globalThis.fetch = () => {
    if (status === "network") return Promise.reject(new TypeError("connection refused"));
    if (status === "garbage") return Promise.resolve(new Response("{}", { status: 200 }));
    return Promise.resolve(new Response("no", { status }));
  };
  const e = await forwardBatch(batch, { runnerUrl: "http://r", runnerToken: "t", fetch }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(e instanceof ForwardError);
  return e;
}

Deno.test("forwardBatch sends the contract's request", async () => {
  let seen: Request | undefined;
  const fetch: typeof globalThis.fetch = (input, init) => {
    seen = new Request(input, init);
    return Promise.resolve(Response.json({ version: 3, rows: 3 }));
  };
  const answer = await forwardBatch(batch, { runnerUrl: "http://r:1/", runnerToken: "tok", fetch });
  assert.deepEqual(answer, { version: 3, rows: 3 });
  assert.equal(seen?.method, "POST");
  assert.equal(seen?.url, "http://r:1/v1/tables/a.b/batches");
  assert.equal(seen?.headers.get("content-type"), ARROW_STREAM_CONTENT_TYPE);
  assert.equal(seen?.headers.get(PRODUCER_HEADER), "edge-9");
  assert.equal(seen?.headers.get(SEQ_HEADER), "42");
  assert.equal(seen?.headers.get("authorization"), "Bearer tok");
  assert.deepEqual([...new Uint8Array(await seen!.arrayBuffer())], [1, 2, 3]);
});

Deno.test("forwardBatch reads the runner's pace; a bad value is no hold, never a failure", async () => {
  const answerWith = async (value: string | undefined) => {
    const headers: Record<string, string> = value === undefined ? {} : {
      [NEXT_COMMIT_HEADER]: value,
    };
    const fetch: typeof globalThis.fetch = () =>
      Promise.resolve(Response.json({ version: 3, rows: 3 }, { headers }));
    return await forwardBatch(batch, { runnerUrl: "http://r", runnerToken: "t", fetch });
  };
  assert.deepEqual(await answerWith("40"), { version: 3, rows: 3, nextCommitInMs: 40 });
  assert.equal((await answerWith("60000")).nextCommitInMs, 1_000, "cut to a second");
  for (const bad of [undefined, "0", "-5", "1.5", "soon"]) {
    assert.deepEqual(await answerWith(bad), { version: 3, rows: 3 }, String(bad));
  }
});

Deno.test("forwardBatch classifies failures", async () => {
  for (const s of [408, 425, 429, 500, 503, "network", "garbage"] as const) {
    assert.equal((await failure(s)).retryable, true, String(s));
  }
  for (const s of [400, 401, 404, 409, 422]) {
    const e = await failure(s);
    assert.equal(e.retryable, false, String(s));
    assert.equal(e.status, s);
  }
});

Deno.test("tokenDigest/digestsEqual: equal only for the same token; lengths must match", async () => {
  const a = await tokenDigest("token-a");
  assert.equal(a.length, 32);
  assert.ok(digestsEqual(a, await tokenDigest("token-a")));
  assert.ok(!digestsEqual(a, await tokenDigest("token-b")));
  assert.ok(!digestsEqual(a, a.subarray(0, 31)));
  assert.ok(!digestsEqual(a.subarray(0, 31), a));
  assert.ok(digestsEqual(new Uint8Array(), new Uint8Array()));
});
