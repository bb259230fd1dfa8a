import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Plugin, PLUGIN_API_VERSION } from "../plugins/types.ts";
import {
  ConfigError,
  type ConfigInput,
  DEFAULT_RUNNER_TOKEN_ENV,
  defineConfig,
  EDGE_CONFIG_DEFAULTS,
  loadConfig,
  resolveRunnerToken,
  validateConfig,
} from "./config.ts";

const SCHEMA = {
  ts: "timestamp not null",
  device_id: "string not null",
  value_i: "integer",
  value_d: "double",
  payload: "string",
  date: "date not null",
};

function base(): Record<string, unknown> & { tables: Record<string, unknown>[] } {
  return {
    tables: [{ name: "events", uri: "/data/events", schema: SCHEMA, partitionColumns: ["date"] }],
  };
}

/** The issues validateConfig reports for `obj`. */
function issuesOf(obj: unknown): readonly string[] {
  try {
    validateConfig(obj, { baseDir: "/base" });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.issues;
  }
  assert.fail("the config was accepted");
}

/** Asserts that `mutate(base())` is refused with exactly one issue equal to or matching `want`. */
function refused(mutate: (c: ReturnType<typeof base>) => void, want: string | RegExp): void {
  const c = base();
  mutate(c);
  const issues = issuesOf(c);
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues)}`);
  if (typeof want === "string") assert.equal(issues[0], want);
  else assert.match(issues[0]!, want);
}

Deno.test("validateConfig fills in the defaults", () => {
  const config = validateConfig(base(), { baseDir: "/base" });
  assert.equal(config.tables.length, 1);
  const t = config.tables[0]!;
  assert.equal(t.name, "events");
  assert.equal(t.uri, "/data/events");
  assert.deepEqual(t.partitionColumns, ["date"]);
  assert.deepEqual(t.properties, {});
  assert.equal(t.unknownFields, "reject");
  assert.equal(t.createIfMissing, true);
  assert.deepEqual(
    t.schema.fields.map((f) => [f.name, f.type, f.nullable]),
    [
      ["ts", "timestamp", false],
      ["device_id", "string", false],
      ["value_i", "integer", true],
      ["value_d", "double", true],
      ["payload", "string", true],
      ["date", "date", false],
    ],
  );
  assert.equal(config.edge.port, 8080);
  assert.equal(config.edge.flushIntervalMs, EDGE_CONFIG_DEFAULTS.flushIntervalMs);
  assert.equal(config.edge.flushRowsMax, 50_000);
  assert.equal(config.edge.flushBytesMax, 16 * 1024 * 1024);
  assert.equal(config.edge.runnerUrl, "http://127.0.0.1:8081");
  assert.equal(config.edge.producerId, undefined);
  assert.equal(config.runner.port, 8081);
  assert.equal(config.runner.hostname, "127.0.0.1");
  assert.equal(config.runner.tokenEnv, DEFAULT_RUNNER_TOKEN_ENV);
  assert.deepEqual(config.tokens, {});
  assert.deepEqual(config.plugins, []);
});

Deno.test("validateConfig takes every setting", () => {
  const plugin: Plugin = { name: "tag", apiVersion: PLUGIN_API_VERSION, hooks: {} };
  const config = validateConfig(
    {
      tables: [{
        name: "a.b-c_1",
        uri: "rel/dir",
        schema: {
          id: "LONG NOT NULL",
          amount: "decimal(10,2)",
          tags: {
            type: { type: "array", elementType: "string", containsNull: true },
            nullable: false,
            metadata: { comment: "x" },
          },
        },
        properties: { "delta.checkpointInterval": "10", "team.owner": "ingest" },
        unknownFields: "drop",
        createIfMissing: false,
        maintenance: {
          compactEnabled: true,
          compactIntervalMs: 60_000,
          compactTargetSizeBytes: 1 << 20,
          compactMinFiles: 3,
          vacuumEnabled: true,
          vacuumIntervalMs: 7_200_000,
          vacuumRetentionHours: 24,
          vacuumApplyDataRetention: false,
        },
      }],
      edge: {
        port: 0,
        hostname: "127.0.0.1",
        flushIntervalMs: 5,
        flushRowsMax: 100,
        flushBytesMax: 2048,
        bufferBytesMax: 4096,
        requestBodyBytesMax: 1000,
        requestTimeoutMs: 200,
        runnerUrl: "https://runner.example:9000/",
        producerId: "edge-eu-1",
      },
      runner: {
        port: 9000,
        hostname: "0.0.0.0",
        token: "s3cret",
        tokenEnv: "MY_TOKEN",
        limits: { requestTimeoutMs: 100, conflictRetriesMax: 0 },
        maintenance: false,
      },
      tokens: { "client-1": ["a.b-c_1"], admin: "*" },
      plugins: [plugin],
    } satisfies ConfigInput,
    { baseDir: "/base" },
  );
  const t = config.tables[0]!;
  assert.equal(t.uri, "/base/rel/dir");
  assert.deepEqual(t.schema.fields.map((f) => [f.name, f.type, f.nullable]), [
    ["id", "long", false],
    ["amount", "decimal(10,2)", true],
    ["tags", { type: "array", elementType: "string", containsNull: true }, false],
  ]);
  assert.deepEqual(t.schema.fields[2]!.metadata, { comment: "x" });
  assert.deepEqual(t.properties, { "delta.checkpointInterval": "10", "team.owner": "ingest" });
  assert.equal(t.unknownFields, "drop");
  assert.equal(t.createIfMissing, false);
  assert.deepEqual(t.maintenance, {
    compactEnabled: true,
    compactIntervalMs: 60_000,
    compactTargetSizeBytes: 1 << 20,
    compactMinFiles: 3,
    vacuumEnabled: true,
    vacuumIntervalMs: 7_200_000,
    vacuumRetentionHours: 24,
    vacuumApplyDataRetention: false,
  });
  assert.deepEqual(config.edge, {
    port: 0,
    hostname: "127.0.0.1",
    flushIntervalMs: 5,
    flushRowsMax: 100,
    flushBytesMax: 2048,
    bufferBytesMax: 4096,
    requestBodyBytesMax: 1000,
    requestTimeoutMs: 200,
    runnerUrl: "https://runner.example:9000",
    producerId: "edge-eu-1",
  });
  assert.deepEqual(config.runner, {
    port: 9000,
    hostname: "0.0.0.0",
    token: "s3cret",
    tokenEnv: "MY_TOKEN",
    limits: { requestTimeoutMs: 100, conflictRetriesMax: 0 },
    maintenance: false,
  });
  assert.deepEqual(config.tokens, { "client-1": ["a.b-c_1"], admin: "*" });
  assert.equal(config.plugins[0], plugin);
});

Deno.test("validateConfig accepts a Delta StructType schema and file:// and s3:// URIs", () => {
  const config = validateConfig({
    tables: [
      {
        name: "t1",
        uri: "file:///var/t1",
        schema: {
          type: "struct",
          fields: [
            { name: "id", type: "long", nullable: false, metadata: {} },
            { name: "day", type: "date", nullable: true, metadata: {} },
          ],
        },
        partitionColumns: ["day"],
      },
      { name: "t2", uri: "s3://my-bucket/tables/t2/", schema: { x: "string" } },
      { name: "t3", uri: "memory://t3", schema: { x: "string" } },
    ],
  });
  assert.equal(config.tables[2]!.uri, "memory://t3");
  assert.deepEqual(config.tables.map((t) => t.commitProtocol), ["local", "s3", "local"]);
  assert.equal(config.tables[0]!.uri, "/var/t1");
  assert.equal(config.tables[0]!.schema.fields[0]!.type, "long");
  assert.equal(config.tables[1]!.uri, "s3://my-bucket/tables/t2");
});

Deno.test("validateConfig: the config and its tables list", () => {
  assert.deepEqual(issuesOf(null), ["expected a config object, got null"]);
  assert.deepEqual(issuesOf([]), ["expected a config object, got []"]);
  assert.deepEqual(issuesOf({}), ["tables: expected a non-empty list of tables, got undefined"]);
  assert.deepEqual(issuesOf({ tables: [] }), [
    "tables: expected a non-empty list of tables, got []",
  ]);
  refused((c) => (c.tabels = []), /^config\.tabels: unknown setting/);
  refused((c) => (c.tables[1] = 7 as never), "tables[1]: expected a table object, got 7");
});

Deno.test("validateConfig: table names and URIs", () => {
  refused((c) => delete c.tables[0]!.name, /^tables\[0\]\.name: expected a name .* got undefined$/);
  refused((c) => (c.tables[0]!.name = "a/b"), /^tables\[0\]\.name: .* got 'a\/b'$/);
  refused((c) => (c.tables[0]!.name = ".hidden"), /^tables\[0\]\.name: /);
  refused((c) => (c.tables[0]!.name = "x".repeat(129)), /^tables\[0\]\.name: /);
  refused(
    (c) => c.tables.push({ ...c.tables[0], uri: "/data/other" }),
    "tables[1].name: 'events' is also the name of tables[0]",
  );
  refused(
    (c) => c.tables.push({ ...c.tables[0], name: "other" }),
    "tables[1].uri: '/data/events' is also the uri of tables[0]",
  );
  refused((c) => (c.tables[0]!.uri = ""), "tables[0].uri: expected a path or URI, got ''");
  refused((c) => (c.tables[0]!.uri = 3), "tables[0].uri: expected a path or URI, got 3");
  refused(
    (c) => (c.tables[0]!.uri = "gs://bucket/t"),
    "tables[0].uri: unsupported scheme 'gs://' (use a local path, file://, s3:// or memory://)",
  );
  refused(
    (c) => (c.tables[0]!.uri = "s3://B_/t"),
    "tables[0].uri: 's3://B_/t' is not a valid s3://bucket/prefix URI",
  );
  refused(
    (c) => (c.tables[0]!.uri = "file://host/x"),
    /^tables\[0\]\.uri: 'file:\/\/host\/x' is not a valid file URL$/,
  );
  refused((c) => (c.tables[0]!.colour = "red"), "tables[0].colour: unknown setting");
});

Deno.test("validateConfig: schemas", () => {
  refused(
    (c) => delete c.tables[0]!.schema,
    /^tables\[0\]\.schema: expected a Delta struct type or an object of column types, got undefined$/,
  );
  refused((c) => (c.tables[0]!.schema = "ts timestamp"), /^tables\[0\]\.schema: expected /);
  refused(
    (c) => (c.tables[0]!.schema = { ...SCHEMA, ts: "timestmp" }),
    `tables[0].schema.ts: unknown type "timestmp"`,
  );
  refused(
    (c) => (c.tables[0]!.schema = { ...SCHEMA, value_i: 5 }),
    "tables[0].schema.value_i: expected a type name or {type, nullable?}, got 5",
  );
  refused(
    (c) => (c.tables[0]!.schema = { ...SCHEMA, value_i: { type: "integer", nullable: "no" } }),
    "tables[0].schema.value_i.nullable: expected a boolean, got 'no'",
  );
  refused(
    (c) => (c.tables[0]!.schema = { ...SCHEMA, value_i: { type: "integer", metadata: 1 } }),
    "tables[0].schema.value_i.metadata: expected an object, got 1",
  );
  refused(
    (c) => (c.tables[0]!.schema = { ...SCHEMA, amount: "decimal(50,2)" }),
    `tables[0].schema.amount: invalid decimal precision or scale in "decimal(50,2)"`,
  );
  refused(
    (c) => (c.tables[0]!.schema = { ...SCHEMA, Date: "string" }),
    "tables[0].schema.Date: duplicate column (names ignore case)",
  );
  refused((c) => {
    c.tables[0]!.schema = {};
    c.tables[0]!.partitionColumns = [];
  }, "tables[0].schema: the schema has no columns");
  refused(
    (c) => (c.tables[0]!.schema = { type: "struct", fields: [{ name: "x", type: "long" }] }),
    /^tables\[0\]\.schema: field has no boolean nullable$/,
  );
});

Deno.test("validateConfig: partition columns", () => {
  refused(
    (c) => (c.tables[0]!.partitionColumns = ["day"]),
    "tables[0].partitionColumns[0]: 'day' is not a column",
  );
  refused(
    (c) => (c.tables[0]!.partitionColumns = "date"),
    "tables[0].partitionColumns: expected a list of column names, got 'date'",
  );
  refused(
    (c) => (c.tables[0]!.partitionColumns = [1]),
    "tables[0].partitionColumns[0]: expected a column name, got 1",
  );
  refused(
    (c) => (c.tables[0]!.partitionColumns = ["date", "date"]),
    "tables[0].partitionColumns[1]: 'date' is listed twice",
  );
  refused(
    (c) => {
      c.tables[0]!.schema = {
        ...SCHEMA,
        tags: { type: { type: "array", elementType: "string", containsNull: true } },
      };
      c.tables[0]!.partitionColumns = ["tags"];
    },
    "tables[0].partitionColumns[0]: 'tags' has nested type array; partition columns must be primitive",
  );
  refused(
    (c) => {
      c.tables[0]!.schema = { date: "date" };
      c.tables[0]!.partitionColumns = ["date"];
    },
    "tables[0].partitionColumns: every column is a partition column; data files need one data column",
  );
  // The message of the brief, on the second table.
  const c = base();
  c.tables.push({
    name: "other",
    uri: "/data/other",
    schema: { x: "long" },
    partitionColumns: ["day"],
  });
  assert.deepEqual(issuesOf(c), ["tables[1].partitionColumns[0]: 'day' is not a column"]);
});

Deno.test("validateConfig: table properties, unknownFields, createIfMissing", () => {
  refused(
    (c) => (c.tables[0]!.properties = { "delta.checkpointInterval": "0" }),
    `tables[0].properties["delta.checkpointInterval"]: property delta.checkpointInterval must be a positive integer, got "0"`,
  );
  refused(
    (c) => (c.tables[0]!.properties = { "delta.checkpointInterval": 10 }),
    `tables[0].properties["delta.checkpointInterval"]: expected a string, got 10`,
  );
  refused(
    (c) => (c.tables[0]!.properties = { "delta.enableChangeDataFeed": "true" }),
    /^tables\[0\]\.properties\["delta.enableChangeDataFeed"\]: property .* must be false/,
  );
  refused(
    (c) => (c.tables[0]!.properties = { "delta.madeUp": "1" }),
    `tables[0].properties["delta.madeUp"]: unknown table property delta.madeUp`,
  );
  refused(
    (c) => (c.tables[0]!.properties = []),
    "tables[0].properties: expected an object of string values, got []",
  );
  refused(
    (c) => (c.tables[0]!.unknownFields = "ignore"),
    "tables[0].unknownFields: expected 'reject' or 'drop', got 'ignore'",
  );
  refused(
    (c) => (c.tables[0]!.createIfMissing = "yes"),
    "tables[0].createIfMissing: expected a boolean, got 'yes'",
  );
});

Deno.test("validateConfig: commit protocols", () => {
  const c = validateConfig({
    tables: [{
      name: "t",
      uri: "s3://bucket/t",
      schema: { x: "long" },
      commitProtocol: "s3-dynamodb",
      dynamodb: { tableName: "delta_log", endpoint: "http://localhost:8000", region: "eu-west-1" },
    }],
  });
  assert.equal(c.tables[0]!.commitProtocol, "s3-dynamodb");
  assert.deepEqual(c.tables[0]!.dynamodb, {
    tableName: "delta_log",
    endpoint: "http://localhost:8000",
    region: "eu-west-1",
  });
  refused(
    (c) => (c.tables[0]!.commitProtocol = "dynamo"),
    "tables[0].commitProtocol: expected one of local, s3, s3-dynamodb, got 'dynamo'",
  );
  refused(
    (c) => (c.tables[0]!.commitProtocol = "s3"),
    "tables[0].commitProtocol: 's3' needs an s3:// uri",
  );
  refused(
    (c) => (c.tables[0]!.dynamodb = { tableName: "x" }),
    "tables[0].dynamodb: only used with commitProtocol 's3-dynamodb' (or 's3', as a check)",
  );
  const bad = base();
  bad.tables[0]!.uri = "s3://bucket/t";
  bad.tables[0]!.commitProtocol = "s3-dynamodb";
  bad.tables[0]!.dynamodb = {
    tableName: "x",
    endpoint: "localhost",
    region: "EU",
    colour: 1,
    tablePath: "hdfs://bucket/t",
  };
  assert.deepEqual(issuesOf(bad), [
    "tables[0].dynamodb.colour: unknown setting (known: tableName, endpoint, region, tablePath)",
    "tables[0].dynamodb.tableName: expected a DynamoDB table name, got 'x'",
    "tables[0].dynamodb.endpoint: expected an http(s) URL, got 'localhost'",
    "tables[0].dynamodb.region: expected an AWS region, got 'EU'",
    "tables[0].dynamodb.tablePath: expected an s3a://bucket/path URI, got 'hdfs://bucket/t'",
  ]);
});

Deno.test("validateConfig: dynamodb.tablePath is the table's Hadoop path, trailing slash at a bucket root", () => {
  const table = (uri: string, tablePath: string, commitProtocol = "s3-dynamodb") => ({
    name: "t",
    uri,
    schema: { x: "long" },
    commitProtocol,
    dynamodb: { tablePath, region: "eu-west-1" },
  });
  const tablePathOf = (t: ReturnType<typeof table>) =>
    validateConfig({ tables: [t] }).tables[0]!.dynamodb?.tablePath;
  assert.equal(tablePathOf(table("s3://lake/events", "s3a://lake/events/")), "s3a://lake/events");
  assert.equal(tablePathOf(table("s3://lake", "s3a://lake")), "s3a://lake/");
  assert.equal(tablePathOf(table("s3://lake/", "s3a://lake/")), "s3a://lake/");
  assert.equal(tablePathOf(table("s3://lake/events", "s3://lake/events")), "s3://lake/events");
  // With 's3' the section names where to look for Spark's entries before accepting the table.
  assert.equal(tablePathOf(table("s3://lake/e", "s3a://lake/e", "s3")), "s3a://lake/e");
  assert.deepEqual(issuesOf({ tables: [table("s3://lake/events", "s3a://lake/other")] }), [
    "tables[0].dynamodb.tablePath: 's3a://lake/other' names another table than uri s3://lake/events",
  ]);
  assert.deepEqual(issuesOf({ tables: [table("s3://lake/events", "s3a://other/events")] }), [
    "tables[0].dynamodb.tablePath: 's3a://other/events' names another table than uri s3://lake/events",
  ]);
});

Deno.test("validateConfig: commitProtocolConfigured says whether the protocol is the uri's default", () => {
  const c = validateConfig({
    tables: [
      { name: "a", uri: "s3://lake/a", schema: { x: "long" } },
      { name: "b", uri: "s3://lake/b", schema: { x: "long" }, commitProtocol: "s3" },
    ],
  });
  assert.deepEqual(c.tables.map((t) => [t.commitProtocol, t.commitProtocolConfigured]), [
    ["s3", false],
    ["s3", true],
  ]);
});

Deno.test("validateConfig: edge settings", () => {
  refused((c) => (c.edge = 1), "edge: expected an object, got 1");
  refused((c) => (c.edge = { prot: 1 }), /^edge\.prot: unknown setting \(known: port, hostname, /);
  refused(
    (c) => (c.edge = { port: 70000 }),
    "edge.port: expected an integer from 0 to 65535, got 70000",
  );
  refused(
    (c) => (c.edge = { port: "80" }),
    "edge.port: expected an integer from 0 to 65535, got '80'",
  );
  refused(
    (c) => (c.edge = { hostname: "a b" }),
    "edge.hostname: expected a host name or IP address, got 'a b'",
  );
  refused(
    (c) => (c.edge = { flushIntervalMs: 0 }),
    "edge.flushIntervalMs: expected an integer from 1 to 60000, got 0",
  );
  refused((c) => (c.edge = { flushIntervalMs: 1.5 }), /^edge\.flushIntervalMs: /);
  refused(
    (c) => (c.edge = { flushRowsMax: -1 }),
    /^edge\.flushRowsMax: expected an integer from 1 /,
  );
  refused(
    (c) => (c.edge = { flushBytesMax: 10 }),
    /^edge\.flushBytesMax: expected an integer from 1024 /,
  );
  refused(
    (c) => (c.edge = { bufferBytesMax: null }),
    /^edge\.bufferBytesMax: expected an integer .* got null$/,
  );
  refused((c) => (c.edge = { requestBodyBytesMax: 0 }), /^edge\.requestBodyBytesMax: /);
  refused((c) => (c.edge = { requestTimeoutMs: Infinity }), /^edge\.requestTimeoutMs: /);
  refused(
    (c) => (c.edge = { flushBytesMax: 8192, bufferBytesMax: 4096 }),
    "edge.flushBytesMax: 8192 is larger than edge.bufferBytesMax 4096",
  );
  refused(
    (c) => (c.edge = { runnerUrl: "runner:8081" }),
    "edge.runnerUrl: expected an http:// or https:// URL, got 'runner:8081'",
  );
  refused((c) => (c.edge = { runnerUrl: "not a url" }), /^edge\.runnerUrl: /);
  refused(
    (c) => (c.edge = { producerId: "" }),
    "edge.producerId: expected 1 to 200 visible ASCII characters, got ''",
  );
  refused((c) => (c.edge = { producerId: "edge one" }), /^edge\.producerId: /);
});

Deno.test("validateConfig: runner settings", () => {
  refused((c) => (c.runner = []), "runner: expected an object, got []");
  refused((c) => (c.runner = { tokn: "x" }), /^runner\.tokn: unknown setting/);
  refused(
    (c) => (c.runner = { port: -1 }),
    "runner.port: expected an integer from 0 to 65535, got -1",
  );
  refused((c) => (c.runner = { hostname: "" }), /^runner\.hostname: /);
  refused((c) => (c.runner = { token: "has space" }), /^runner\.token: expected a bearer token/);
  refused(
    (c) => (c.runner = { tokenEnv: "1BAD" }),
    "runner.tokenEnv: expected an environment variable name, got '1BAD'",
  );
  refused((c) => (c.runner = { limits: 5 }), "runner.limits: expected an object, got 5");
  refused(
    (c) => (c.runner = { limits: { requestTimeoutMs: 0 } }),
    "runner.limits.requestTimeoutMs: expected an integer >= 1, got 0",
  );
  refused(
    (c) => (c.runner = { limits: { conflictRetriesMax: -1 } }),
    "runner.limits.conflictRetriesMax: expected an integer >= 0, got -1",
  );
  refused(
    (c) => (c.runner = { limits: { queueBatchesMax: 1.5 } }),
    "runner.limits.queueBatchesMax: expected an integer >= 1, got 1.5",
  );
  refused(
    (c) => (c.runner = { limits: { commitTimeoutMs: 10 } }),
    /^runner\.limits\.commitTimeoutMs: unknown limit \(known: .*requestTimeoutMs/,
  );
  // The edge's default runner URL follows the runner's port.
  const c = base();
  c.runner = { port: 9999 };
  assert.equal(validateConfig(c).edge.runnerUrl, "http://127.0.0.1:9999");
});

Deno.test("validateConfig: tokens never appear whole in messages", () => {
  refused(
    (c) => (c.tokens = ["a"]),
    `tokens: expected an object of token -> table names, got ["a"]`,
  );
  refused(
    (c) => (c.tokens = { "secret-token": ["evnts"] }),
    `tokens["secr…"][0]: 'evnts' is not a table`,
  );
  refused(
    (c) => (c.tokens = { "secret-token": "events" }),
    `tokens["secr…"]: expected a list of table names or "*", got 'events'`,
  );
  refused(
    (c) => (c.tokens = { "secret-token": [] }),
    `tokens["secr…"]: grants no table (give table names or "*")`,
  );
  refused(
    (c) => (c.tokens = { "secret-token": [1] }),
    `tokens["secr…"][0]: expected a table name, got 1`,
  );
  refused(
    (c) => (c.tokens = { "bad token": ["events"] }),
    `tokens["bad …"]: not a valid bearer token (letters, digits, - . _ ~ + /, trailing =)`,
  );
});

Deno.test("validateConfig: plugins are checked by the registry", () => {
  const ok: Plugin = { name: "ok", apiVersion: PLUGIN_API_VERSION, hooks: {} };
  refused((c) => (c.plugins = {}), "plugins: expected a list of plugins, got {}");
  refused((c) => (c.plugins = [ok, { ...ok }]), /^plugins\[1\]: .*'ok'.*/);
  refused((c) => (c.plugins = [{ ...ok, apiVersion: 99 }]), /^plugins\[0\]: .*version/i);
  refused(
    (c) => (c.plugins = [{ ...ok, hooks: { beforeCommmit() {} } }]),
    /^plugins\[0\]: .*beforeCommmit/,
  );
  refused((c) => (c.plugins = [{ ...ok, name: "" }]), /^plugins\[0\]: /);
});

Deno.test("validateConfig reports every problem at once", () => {
  const c = base();
  c.tables[0]!.partitionColumns = ["day"];
  c.edge = { port: -5 };
  c.tokens = { t: ["nope"] };
  const issues = issuesOf(c);
  assert.deepEqual(issues, [
    "tables[0].partitionColumns[0]: 'day' is not a column",
    "edge.port: expected an integer from 0 to 65535, got -5",
    `tokens["t…"][0]: 'nope' is not a table`,
  ]);
  assert.throws(
    () => validateConfig(c, { source: "my.config.ts" }),
    /^ConfigError: Invalid config my\.config\.ts: \n {2}tables\[0\]/,
  );
});

Deno.test("resolveRunnerToken reads the config, then the environment", () => {
  const c = validateConfig(base());
  assert.equal(
    resolveRunnerToken(c, (n) => (n === DEFAULT_RUNNER_TOKEN_ENV ? "from-env" : undefined)),
    "from-env",
  );
  assert.throws(
    () => resolveRunnerToken(c, () => undefined),
    /set runner.token in the config or the environment variable LAKESTRIKE_RUNNER_TOKEN/,
  );
  assert.throws(
    () => resolveRunnerToken(c, () => "bad token"),
    /LAKESTRIKE_RUNNER_TOKEN: not a valid bearer token/,
  );
  const withToken = validateConfig({ ...base(), runner: { token: "literal" } });
  assert.equal(resolveRunnerToken(withToken, () => "from-env"), "literal");
});

Deno.test("loadConfig imports the file's `config` export and resolves paths against it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-config-" });
  try {
    const configUrl = pathToFileURL(join(Deno.cwd(), "batch/config.ts")).href;
    const good = join(dir, "good.config.ts");
    await Deno.writeTextFile(
      good,
      `import { defineConfig } from ${JSON.stringify(configUrl)};\n` +
        `export const config = defineConfig({ tables: [{ name: "e", uri: "./tables/e", schema: { id: "long" } }] });\n`,
    );
    const config = await loadConfig(good);
    assert.equal(config.tables[0]!.uri, join(dir, "tables/e"));

    await assert.rejects(loadConfig(join(dir, "missing.ts")), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /missing\.ts: cannot read .*missing\.ts/);
      return true;
    });
    const noExport = join(dir, "default.config.ts");
    await Deno.writeTextFile(noExport, `export default { tables: [] };\n`);
    await assert.rejects(
      loadConfig(noExport),
      /it must export `config`: export const config = defineConfig\(\{\.\.\.\}\) \(default exports are not read\)/,
    );
    const broken = join(dir, "broken.config.ts");
    await Deno.writeTextFile(broken, `export const config = ;\n`);
    await assert.rejects(loadConfig(broken), /broken\.config\.ts: cannot import it: /);
    const throwing = join(dir, "throwing.config.ts");
    await Deno.writeTextFile(
      throwing,
      `throw new Error("no secret in env");\nexport const config = {};\n`,
    );
    await assert.rejects(loadConfig(throwing), /cannot import it: .*no secret in env/);
    const invalid = join(dir, "invalid.config.ts");
    await Deno.writeTextFile(
      invalid,
      `export const config = { tables: [{ name: "e", uri: "/x", schema: { id: "long" }, partitionColumns: ["day"] }] };\n`,
    );
    await assert.rejects(
      loadConfig(invalid),
      /^ConfigError: Invalid config .*invalid\.config\.ts: tables\[0\]\.partitionColumns\[0\]: 'day' is not a column$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("defineConfig returns its argument", () => {
  const input: ConfigInput = { tables: [{ name: "t", uri: "/t", schema: { x: "long" } }] };
  assert.equal(defineConfig(input), input);
});

Deno.test("validateConfig names every bad maintenance setting", () => {
  assert.throws(
    () =>
      validateConfig({
        tables: [{
          name: "t",
          uri: "/t",
          schema: { x: "long" },
          maintenance: {
            compactEnabled: "yes",
            compactIntervalMs: 10,
            vacuumRetentionHours: -1,
            vacuumEveryDay: true,
          },
        }],
        runner: { maintenance: 1 },
      } as unknown as ConfigInput),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const text = e.issues.join("\n");
      assert.match(text, /tables\[0\]\.maintenance\.compactEnabled: expected a boolean/);
      assert.match(
        text,
        /tables\[0\]\.maintenance\.compactIntervalMs: expected an integer from 1000/,
      );
      assert.match(text, /tables\[0\]\.maintenance\.vacuumRetentionHours: expected hours >= 0/);
      assert.match(text, /tables\[0\]\.maintenance\.vacuumEveryDay: unknown setting/);
      assert.match(text, /runner\.maintenance: expected a boolean/);
      return true;
    },
  );
  const ok = validateConfig({ tables: [{ name: "t", uri: "/t", schema: { x: "long" } }] });
  assert.deepEqual(ok.tables[0]!.maintenance, {});
  assert.equal(ok.runner.maintenance, true);
});

Deno.test("validateConfig reads a table's commitsPerSecondMax and refuses a bad one", () => {
  const config = validateConfig({
    tables: [
      { name: "t", uri: "/t", schema: { x: "long" }, commitsPerSecondMax: 5 },
      { name: "u", uri: "/u", schema: { x: "long" } },
    ],
  });
  assert.equal(config.tables[0]!.commitsPerSecondMax, 5);
  assert.equal(config.tables[1]!.commitsPerSecondMax, undefined, "the runner's default applies");
  refused(
    (c) => (c.tables[0]!.commitsPerSecondMax = 0),
    "tables[0].commitsPerSecondMax: expected an integer from 1 to 1000, got 0",
  );
  refused((c) => (c.tables[0]!.commitsPerSecondMax = 2.5), /^tables\[0\]\.commitsPerSecondMax: /);
});
