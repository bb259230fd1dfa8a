// Runs a bundle of client/mod.ts under Node (argv[2]) against a node:http stand-in for an edge that
// answers 503 written unknown once, then 200 duplicate; prints the result and the metrics as JSON.
import http from "node:http";
const { createClient } = await import(process.argv[2]);
let calls = 0;
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    calls++;
    if (calls === 1) {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "0" });
      res.end(JSON.stringify({ error: "runner_unavailable", written: "unknown" }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        version: 5,
        rows: JSON.parse(body).length,
        duplicate: true,
        seq: req.headers["lakestrike-sequence"],
        producer: req.headers["lakestrike-producer"],
      }),
    );
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const client = createClient({
  url: `http://127.0.0.1:${server.address().port}`,
  token: "t",
  table: "e",
  producerId: "node-1",
  retryDelayBaseMs: 1,
});
const r = await client.send([{ a: 1 }, { a: 2 }]);
await client.close();
server.close();
console.log(JSON.stringify({ result: r, metrics: client.metrics() }));
