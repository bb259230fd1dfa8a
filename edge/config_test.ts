import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { validateConfig } from "../batch/config.ts";
import { ConfigError } from "../config/mod.ts";
import { loadEdgeConfig, validateEdgeConfig, validateEdgeTablesFile } from "./config.ts";

const CONFIG = {
  tables: [
    {
      name: "events",
      uri: "/data/events",
      schema: { ts: "timestamp not null", device_id: "string not null", date: "date not null" },
      partitionColumns: ["date"],
      unknownFields: "drop",
      commitProtocol: "local",
      maintenance: { compactEnabled: false },
    },
    {
      name: "audit",
      uri: "/data/audit",
      schema: {
        type: "struct",
        fields: [{ name: "id", type: "long", nullable: true, metadata: {} }],
      },
    },
  ],
  edge: { port: 9090, flushIntervalMs: 20, producerId: "edge-eu" },
  runner: { port: 9091, tokenEnv: "MY_RUNNER_TOKEN", limits: { queueBatchesMax: 4 } },
  tokens: { "client-token": ["events"], "admin-token": "*" },
  plugins: [],
};

/** The issues of a refused config. */
function issuesOf(validate: () => unknown): readonly string[] {
  try {
    validate();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.issues;
  }
  assert.fail("the config was accepted");
}

Deno.test("validateEdgeConfig reads the edge's part of a config as the runner does", () => {
  const edge = validateEdgeConfig(CONFIG);
  const full = validateConfig(CONFIG, { baseDir: "/" });
  assert.deepEqual(edge.edge, full.edge);
  assert.deepEqual(edge.tokens, full.tokens);
  assert.deepEqual(edge.runner, { port: 9091, hostname: "127.0.0.1", tokenEnv: "MY_RUNNER_TOKEN" });
  assert.deepEqual(
    edge.tables,
    full.tables.map((t) => ({
      name: t.name,
      schema: t.schema,
      partitionColumns: t.partitionColumns,
      unknownFields: t.unknownFields,
      ackSlaMs: t.ackSlaMs,
    })),
  );
});

Deno.test("validateEdgeConfig refuses the shared sections with the runner's messages", () => {
  const bad = {
    ...CONFIG,
    tables: [{ ...CONFIG.tables[0], partitionColumns: ["day"] }, CONFIG.tables[1]],
    edge: { flushIntervalMs: 0, colour: "red" },
    tokens: { "client-token": ["nope"] },
  };
  const edgeIssues = issuesOf(() => validateEdgeConfig(bad));
  assert.deepEqual(edgeIssues, [
    "tables[0].partitionColumns[0]: 'day' is not a column",
    "edge.colour: unknown setting (known: port, hostname, flushIntervalMs, flushRowsMax, flushBytesMax, bufferBytesMax, requestBodyBytesMax, requestTimeoutMs, runnerUrl, producerId)",
    "edge.flushIntervalMs: expected an integer from 1 to 60000, got 0",
    `tokens["clie…"][0]: 'nope' is not a table`,
  ]);
  assert.deepEqual(issuesOf(() => validateConfig(bad, { baseDir: "/" })), edgeIssues);
});

Deno.test("validateEdgeConfig leaves the runner's own sections to the runner", () => {
  // Locations, protocols, limits and plugins are the runner's: the edge neither reads nor checks them.
  const config = validateEdgeConfig({
    ...CONFIG,
    tables: [{ ...CONFIG.tables[1], uri: "gs://bucket/audit", commitProtocol: "s3-dynamodb" }],
    runner: { limits: { noSuchLimit: 1 } },
    tokens: { "admin-token": "*" },
    plugins: [{ name: "not checked here" }],
  });
  assert.equal(config.tables[0]!.name, "audit");
  // Unknown keys are still refused at every level.
  assert.deepEqual(issuesOf(() => validateEdgeConfig({ ...CONFIG, runners: {} })), [
    "config.runners: unknown setting (known: tables, edge, runner, tokens, plugins)",
  ]);
});

Deno.test("validateEdgeTablesFile checks the JSON tables file as the config it stands for", () => {
  const file = {
    tables: {
      events: {
        schema: {
          type: "struct",
          fields: [{ name: "id", type: "long", nullable: false, metadata: {} }],
        },
        unknownFields: "drop",
      },
    },
    tokens: { "client-token": ["events"] },
  };
  const config = validateEdgeTablesFile(file, { runnerUrl: "http://runner:8081" });
  assert.equal(config.edge.runnerUrl, "http://runner:8081");
  assert.equal(config.tables[0]!.unknownFields, "drop");
  assert.deepEqual(config.tokens, { "client-token": ["events"] });
  const issues = issuesOf(() =>
    validateEdgeTablesFile(
      { ...file, tokens: { "client-token": ["other"] } },
      { runnerUrl: "http://runner:8081" },
    )
  );
  assert.deepEqual(issues, [`tokens["clie…"][0]: 'other' is not a table`]);
  assert.throws(
    () => validateEdgeTablesFile({ tables: [] }, { runnerUrl: "http://r", source: "t.json" }),
    /Invalid config t\.json: tables: expected an object/,
  );
});

Deno.test("loadEdgeConfig imports a config file that imports the config module", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const configModule = pathToFileURL(join(Deno.cwd(), "config/mod.ts")).href;
    const path = join(dir, "edge.config.ts");
    await Deno.writeTextFile(
      path,
      `import { defineConfig } from ${JSON.stringify(configModule)};
export const config = defineConfig(${JSON.stringify(CONFIG)});
`,
    );
    const config = await loadEdgeConfig(path);
    assert.equal(config.edge.producerId, "edge-eu");
    // A module is imported once per process: a second config needs a file of its own.
    const invalid = join(dir, "invalid.config.ts");
    await Deno.writeTextFile(invalid, "export const config = { tables: [] };\n");
    await assert.rejects(
      loadEdgeConfig(invalid),
      (e: Error) => e instanceof ConfigError && e.message.startsWith(`Invalid config ${invalid}:`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
