import assert from "node:assert/strict";
import { buildRequest, createHttp1Pool } from "./http1_client.ts";

/** A server on a free port: echoes method, path, a header and the body length, as the test asks. */
function server(handler: (req: Request) => Response | Promise<Response>) {
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return { url: `http://127.0.0.1:${s.addr.port}`, close: () => s.shutdown() };
}

Deno.test("http1 client: requests reuse connections; statuses, bodies and chunked bodies are read", async () => {
  const s = server(async (req) => {
    const body = await req.text();
    const path = new URL(req.url).pathname;
    if (path === "/stream") {
      const parts = ["a".repeat(70_000), "b", "c".repeat(5)];
      return new Response(
        new ReadableStream({
          start(c) {
            for (const p of parts) c.enqueue(new TextEncoder().encode(p));
            c.close();
          },
        }),
        { status: 207 },
      );
    }
    return Response.json(
      { method: req.method, path, auth: req.headers.get("authorization"), body },
      { status: path === "/missing" ? 404 : 200 },
    );
  });
  const pool = createHttp1Pool(s.url);
  try {
    const post = buildRequest(
      `${s.url}/v1/x?y=1`,
      "POST",
      { authorization: "Bearer t", "content-type": "application/json" },
      new TextEncoder().encode('[{"é":1}]'),
    );
    const answers = await Promise.all(Array.from({ length: 20 }, () => pool.send(post)));
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(a.body)), {
        method: "POST",
        path: "/v1/x",
        auth: "Bearer t",
        body: '[{"é":1}]',
      });
    }
    const missing = await pool.send(buildRequest(`${s.url}/missing`, "GET", {}, new Uint8Array()));
    assert.equal(missing.status, 404);
    const stream = await pool.send(buildRequest(`${s.url}/stream`, "GET", {}, new Uint8Array()));
    assert.equal(stream.status, 207);
    assert.equal(new TextDecoder().decode(stream.body), "a".repeat(70_000) + "b" + "ccccc");
    // After the chunked body the connection still serves the next request.
    for (let i = 0; i < 30; i++) assert.equal((await pool.send(post)).status, 200);
  } finally {
    pool.close();
    await s.close();
  }
});

Deno.test("http1 client: a connection the server closes rejects its request, and the pool goes on", async () => {
  let n = 0;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  const served = (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      await conn.read(buf);
      if (n++ === 0) conn.close(); // the first request: no answer
      else {
        await conn.write(
          new TextEncoder().encode(
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
          ),
        );
        conn.close();
      }
      if (n === 2) break;
    }
  })();
  const pool = createHttp1Pool(url);
  try {
    const req = buildRequest(`${url}/`, "POST", {}, new TextEncoder().encode("x"));
    await assert.rejects(pool.send(req), /closed before a response/);
    const ok = await pool.send(req);
    assert.equal(ok.status, 200);
    assert.equal(new TextDecoder().decode(ok.body), "ok");
  } finally {
    pool.close();
    await served; // it stops listening after its second connection
  }
});

Deno.test("http1 client: only http: URLs", () => {
  assert.throws(() => createHttp1Pool("https://example.com"), /only http: URLs/);
});
