/**
 * Three separate runner processes (`batch/runner_main.ts`) share one S3 table (moto) and each commit
 * 50 batches of 10 rows through the wire contract, once per commit protocol (`s3` and `s3-dynamodb`
 * on DynamoDB Local): versions are contiguous, the table holds all 1,500 rows, none twice. Also
 * `deno task dev --data s3://...` serves an s3:// table.
 *
 * @module
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { tableToIPC } from "apache-arrow";
import { setupDynamoDBTable } from "../batch/setup_dynamodb.ts";
import { openTable } from "../batch/open_table.ts";
import { commitPath } from "../core/log/paths.ts";
import { createArrowTable } from "../core/parquet/mod.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import type { StructType } from "../core/schema/types.ts";
import { registerAws } from "../aws/register_aws.ts";
import { createTestBucket, testS3Endpoint } from "../aws/s3_test_support.ts";
import { CONFIG_MODULE_URL, freePort, REPO_ROOT } from "./fixtures/e2e_util.ts";

const RUNNERS = 3;
const BATCHES = 50;
const ROWS = 10;
const TOKEN = "s3-runner-token-0123456789";
const SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "runner", type: "integer", nullable: false, metadata: {} },
    { name: "seq", type: "integer", nullable: false, metadata: {} },
    { name: "row", type: "integer", nullable: false, metadata: {} },
  ],
};

function dynamodbEndpoint(): string {
  const endpoint = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
  if (!endpoint) {
    throw new Error("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT is not set: run via deno task test");
  }
  return endpoint;
}

/** Open `s3://` URIs of this test process on the test server, as the child processes do by env. */
function useTestS3(): () => void {
  return registerAws({ s3: { endpoint: testS3Endpoint() } });
}

function awsEnv(): Record<string, string> {
  return { NO_COLOR: "1", AWS_ENDPOINT_URL_S3: testS3Endpoint() };
}

async function waitHealthy(url: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  for (let i = 0; i < 300; i++) {
    if (exited) throw new Error(`runner at ${url} exited before it was healthy`);
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`runner at ${url} never became healthy`);
}

async function postBatch(url: string, runner: number, seq: number): Promise<number> {
  const rows = Array.from({ length: ROWS }, (_, row) => ({ runner, seq, row }));
  const body = new Uint8Array(tableToIPC(createArrowTable(SCHEMA, rows), "stream"));
  for (let attempt = 0;; attempt++) {
    const res = await fetch(`${url}/v1/tables/events/batches`, {
      method: "POST",
      headers: {
        "content-type": "application/vnd.apache.arrow.stream",
        "authorization": `Bearer ${TOKEN}`,
        "x-lakestrike-producer": `runner-${runner}`,
        "x-lakestrike-seq": String(seq),
      },
      body,
    });
    const text = await res.text();
    if (res.ok) return JSON.parse(text).version;
    // A 503 is retried with the same seq, as an edge does.
    if (res.status !== 503 || attempt >= 20) {
      throw new Error(`batch ${runner}/${seq}: ${res.status} ${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const protocol of ["s3", "s3-dynamodb"] as const) {
  Deno.test(`three runner processes share one S3 table through ${protocol}`, async () => {
    const { bucket, cleanup } = await createTestBucket();
    const dir = await Deno.makeTempDir({ prefix: "lakestrike-s3-runners-" });
    const ddbTable = `runners_${crypto.randomUUID().slice(0, 8)}`;
    const children: Deno.ChildProcess[] = [];
    const restore = useTestS3();
    try {
      if (protocol === "s3-dynamodb") {
        await setupDynamoDBTable({ tableName: ddbTable, endpoint: dynamodbEndpoint() });
      }
      const uri = `s3://${bucket}/events`;
      const dynamodb = protocol === "s3-dynamodb"
        ? `dynamodb: { tableName: ${JSON.stringify(ddbTable)}, endpoint: ${
          JSON.stringify(dynamodbEndpoint())
        } },`
        : "";
      const configPath = join(dir, "lakestrike.config.ts");
      await Deno.writeTextFile(
        configPath,
        `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE_URL)};
export const config = defineConfig({
  tables: [{ name: "events", uri: ${JSON.stringify(uri)}, commitProtocol: ${
          JSON.stringify(protocol)
        },
    ${dynamodb} schema: ${JSON.stringify(SCHEMA)} }],
  runner: { token: ${JSON.stringify(TOKEN)} },
});
`,
      );
      const urls: string[] = [];
      for (let r = 0; r < RUNNERS; r++) {
        const port = freePort();
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "batch/runner_main.ts",
            "--config",
            configPath,
            "--port",
            String(port),
            "--hostname",
            "127.0.0.1",
            "--log-level",
            "error",
          ],
          cwd: REPO_ROOT,
          env: awsEnv(),
          stdin: "null",
          stdout: "null",
          stderr: "inherit",
        }).spawn();
        children.push(child);
        urls.push(`http://127.0.0.1:${port}`);
      }
      await Promise.all(urls.map((u, i) => waitHealthy(u, children[i]!)));

      // Each runner gets its own producer; seqs go in order, one batch in flight per producer.
      await Promise.all(urls.map(async (url, r) => {
        for (let seq = 1; seq <= BATCHES; seq++) await postBatch(url, r, seq);
      }));

      const { storage, snapshot } = await openTable(uri, {
        protocol,
        ...(protocol === "s3-dynamodb"
          ? { dynamodbTable: ddbTable, dynamodbEndpoint: dynamodbEndpoint() }
          : {}),
      });
      // Contiguous versions: every commit file from 0 to the latest exists. Listed after the load:
      // the runners' triggered compaction (150 small files) may commit newer versions meanwhile.
      const names = (await storage.list("_delta_log/0")).map((o) => o.path).filter((p) =>
        p.endsWith(".json")
      );
      ok(
        names.length >= snapshot.version + 1,
        `${names.length} commit files, v${snapshot.version}`,
      );
      deepEqual(names, Array.from({ length: names.length }, (_, v) => commitPath(v)));
      const seen = new Set<string>();
      let rows = 0;
      for await (const batch of scanSnapshot(storage, snapshot)) {
        for (const [runner, seq, row] of batch) {
          const key = `${runner}/${seq}/${row}`;
          ok(!seen.has(key), `row ${key} is in the table twice`);
          seen.add(key);
          rows++;
        }
      }
      equal(rows, RUNNERS * BATCHES * ROWS);
      for (let r = 0; r < RUNNERS; r++) equal(snapshot.txns.get(`runner-${r}`)?.version, BATCHES);
    } finally {
      for (const child of children) {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
      }
      await Promise.all(children.map((c) => c.status));
      await Deno.remove(dir, { recursive: true });
      await cleanup();
      restore();
    }
  });
}

Deno.test("deno task dev serves an s3:// table", async () => {
  const { bucket, cleanup } = await createTestBucket();
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-dev-s3-" });
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO_ROOT}/batch/dev.ts`,
      "--port",
      String(port),
      "--data",
      `s3://${bucket}/demo`,
    ],
    cwd: dir, // no lakestrike.config.ts here: the built-in defaults
    env: awsEnv(),
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const restore = useTestS3();
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, child);
    const res = await fetch(`${url}/v1/tables/events/events`, {
      method: "POST",
      headers: { "authorization": "Bearer dev-token", "content-type": "application/json" },
      body: JSON.stringify([{
        ts: "2024-05-01T10:00:00.123456Z",
        device_id: "d1",
        value_i: 1,
        value_d: 0.5,
        payload: "hello",
        date: "2024-05-01",
      }]),
    });
    const answer = await res.json();
    equal(res.status, 200, JSON.stringify(answer));
    equal(answer.rows, 1);
    const { snapshot } = await openTable(`s3://${bucket}/demo/events`);
    equal(snapshot.version, answer.version);
    equal(snapshot.files.length, 1);
    equal(snapshot.metadata.configuration["lakestrike.commitProtocol"], "s3");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
    await cleanup();
    restore();
  }
});
