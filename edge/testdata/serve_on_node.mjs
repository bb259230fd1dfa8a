// Serves the edge app under Node, for edge/node_test.ts:
//   node edge/testdata/serve_on_node.mjs <edge bundle .mjs>
// The bundle is edge/mod.ts with hono and apache-arrow left as bare imports, which Node resolves
// from node_modules. Batches go to a fake runner that decodes them with apache-arrow and answers
// with the next version; GET /_forwarded lists what it received. Prints {"port": N} once it listens.
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { tableFromIPC } from "apache-arrow";

const edge = await import(pathToFileURL(process.argv[2]).href);

const config = edge.validateEdgeConfig({
  tables: [{
    name: "events",
    uri: "./data/events",
    schema: { id: "long not null", device: "string", date: "date not null" },
    partitionColumns: ["date"],
  }],
  tokens: { "client-token": ["events"] },
  edge: { flushIntervalMs: 5 },
});

const forwarded = [];
const app = edge.createEdgeApp({
  ...edge.edgeDepsFromConfig(config, {
    producerId: "edge-on-node",
    runnerUrl: config.edge.runnerUrl,
    runnerToken: "unused-runner-token",
  }),
  forward: (batch) => {
    const table = tableFromIPC(batch.body);
    forwarded.push({ table: batch.table, seq: batch.seq, rows: table.numRows });
    return Promise.resolve({ version: forwarded.length, rows: table.numRows });
  },
});

function headersOf(request) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

const server = createServer(async (request, response) => {
  if (request.url === "/_forwarded") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(forwarded));
    return;
  }
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const answer = await app.fetch(
    new Request(`http://${request.headers.host}${request.url}`, {
      method: request.method,
      headers: headersOf(request),
      body: hasBody ? Buffer.concat(chunks) : undefined,
    }),
  );
  response.writeHead(answer.status, Object.fromEntries(answer.headers));
  response.end(Buffer.from(await answer.arrayBuffer()));
});

server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port, node: process.version }));
});
process.on("SIGTERM", () => {
  app.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
