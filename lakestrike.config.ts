/**
 * The example configuration of lakestrike: the demo `events` table under `./data` (or
 * `$LAKESTRIKE_DATA_DIR`, which `deno task dev --data DIR` sets), a development client token, and no
 * plugins beyond the built-in writer and checkpointer. `deno task dev`, `deno task runner` and
 * `deno task edge` read this file from the working directory (`--config PATH` picks another).
 *
 * The whole format is in `README.md` ("Configuration reference").
 *
 * @module
 */
import { defineConfig } from "@lakestrike/lakestrike/config";

const dataDir = Deno.env.get("LAKESTRIKE_DATA_DIR") ?? "./data";

/** The configuration read by the runner, the edge and `deno task dev`. */
export const config = defineConfig({
  tables: [{
    name: "events",
    uri: `${dataDir}/events`,
    schema: {
      ts: "timestamp not null",
      device_id: "string not null",
      value_i: "integer",
      value_d: "double",
      payload: "string",
      date: "date not null",
    },
    partitionColumns: ["date"],
    properties: { "delta.checkpointInterval": "100" },
    unknownFields: "reject",
  }],
  edge: {
    port: 8080,
    flushIntervalMs: 50,
    flushRowsMax: 50_000,
    flushBytesMax: 16 * 1024 * 1024,
  },
  runner: {
    port: 8081,
    // Edges and the runner share this secret; `deno task dev` makes one up when it is not set.
    tokenEnv: "LAKESTRIKE_RUNNER_TOKEN",
  },
  tokens: {
    // A client token for development only: set LAKESTRIKE_DEV_TOKEN to change it.
    [Deno.env.get("LAKESTRIKE_DEV_TOKEN") ?? "dev-token"]: ["events"],
  },
  plugins: [],
});
