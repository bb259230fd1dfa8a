/**
 * Entry point of the edge: reads flags, loads the tables file and serves the edge app with
 * `Deno.serve`. The only file of `edge/` that uses `Deno.*`.
 *
 * ```sh
 * deno run --allow-net --allow-read edge/main.ts --port 8000 --runner http://runner:8080 \
 *   --runner-token secret --producer edge-eu-1 --schema-file tables.json
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createEdgeApp } from "./app.ts";
import { parseEdgeTablesFile } from "./config.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8000" },
      runner: { type: "string" },
      "runner-token": { type: "string" },
      producer: { type: "string" },
      "schema-file": { type: "string" },
    },
  });
  const missing = ["runner", "runner-token", "producer", "schema-file"].filter(
    (k) => values[k as keyof typeof values] === undefined,
  );
  if (missing.length > 0) {
    console.error(`Cannot start the edge: missing --${missing.join(", --")}`);
    Deno.exit(2);
  }
  const file = parseEdgeTablesFile(JSON.parse(await Deno.readTextFile(values["schema-file"]!)));
  const app = createEdgeApp({
    tables: file.tables,
    tokens: file.tokens,
    producerId: values.producer!,
    runner: { runnerUrl: values.runner!, runnerToken: values["runner-token"]! },
  });
  const server = Deno.serve({ port: Number(values.port) }, app.fetch);
  const stop = () => {
    app.close();
    void server.shutdown();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
