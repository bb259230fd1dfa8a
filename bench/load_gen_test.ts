import assert from "node:assert/strict";
import { runLoad } from "./load_gen.ts";

/** A stand-in edge on a free port that answers 200 and counts the events posted to it. */
function countingEdge(): { url: string; requests: () => number; close: () => Promise<void> } {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    assert.equal(new URL(req.url).pathname, "/v1/tables/events/events");
    await req.arrayBuffer();
    requests++;
    return Response.json({ rows: 10 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}

for (const client of ["http1", "fetch"] as const) {
  Deno.test(`runLoad (${client}) sends to several edges in turn when --url lists them`, async () => {
    const edges = [countingEdge(), countingEdge(), countingEdge()];
    try {
      const result = await runLoad({
        url: edges.map((e) => `${e.url}/`).join(","),
        token: "t",
        table: "events",
        rate: 1_000,
        seconds: 0.3,
        eventsPerRequest: 10,
        inFlightMax: 100,
        client,
      });
      assert.equal(result.requests, 30);
      assert.equal(result.acked, 300);
      assert.deepEqual(edges.map((e) => e.requests()), [10, 10, 10]);
    } finally {
      await Promise.all(edges.map((e) => e.close()));
    }
  });
}
