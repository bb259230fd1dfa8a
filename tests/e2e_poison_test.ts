/**
 * Every poison request of the chaos run (`tests/chaos/poison.ts`), sent through a real edge and
 * runner over HTTP, on local disk and on the S3 server of the test suite: each is answered 4xx, the
 * table version is unchanged, the next valid request is acknowledged within the edge's one-second
 * deadline, and the table stays readable by our scan and by the independent reader.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRng } from "./chaos/rng.ts";
import { CHAOS_PARTITIONS, CHAOS_SCHEMA, poisonKinds, validEvent } from "./chaos/poison.ts";
import { checkInvariants } from "./chaos/invariants.ts";
import { localTableAccess, s3TableAccess, type TableAccess } from "./chaos/table_access.ts";
import { CONFIG_MODULE_URL, REPO_ROOT, RUNNER_TOKEN, startStack } from "./fixtures/e2e_util.ts";
import { loadSnapshot } from "../core/snapshot/mod.ts";
import { scanSnapshot } from "../core/scan/mod.ts";
import { openStorage } from "../core/storage/mod.ts";
import { createTestBucket, testS3Endpoint } from "../aws/s3_test_support.ts";
import { registerStorageScheme } from "../core/storage/mod.ts";
import { s3StorageFactory } from "../aws/s3_storage.ts";

const TOKEN = "poison-client-token";

async function writeChaosConfig(dir: string, uri: string): Promise<string> {
  const path = join(dir, "lakestrike.config.ts");
  await Deno.writeTextFile(
    path,
    `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE_URL)};
export const config = defineConfig({
  tables: [{
    name: "events",
    uri: ${JSON.stringify(uri)},
    schema: ${JSON.stringify(CHAOS_SCHEMA)},
    partitionColumns: ${JSON.stringify(CHAOS_PARTITIONS)},
    ${uri.startsWith("s3://") ? 'commitProtocol: "s3",' : ""}
  }],
  tokens: { ${JSON.stringify(TOKEN)}: ["events"] },
  edge: { requestTimeoutMs: 1000 },
  runner: { token: ${JSON.stringify(RUNNER_TOKEN)}, maintenance: false },
});
`,
  );
  return path;
}

/** The table's version and keys, read by our own snapshot and scan. */
async function scanKeys(uri: string): Promise<{ version: number; keys: string[] }> {
  const storage = openStorage(uri);
  const snapshot = await loadSnapshot(storage);
  const keys: string[] = [];
  for await (const batch of scanSnapshot(storage, snapshot, { columns: ["key"] })) {
    for (const row of batch) keys.push(String(row[0]));
  }
  return { version: snapshot.version, keys };
}

async function post(edgeUrl: string, body: Uint8Array, contentType: string) {
  const res = await fetch(`${edgeUrl}/v1/tables/events/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": contentType },
    body: body as Uint8Array<ArrayBuffer>,
  });
  const text = await res.text();
  return { status: res.status, text };
}

async function everyPoisonIsRefused(uri: string, access: TableAccess, dir: string): Promise<void> {
  const stack = await startStack(await writeChaosConfig(dir, uri));
  const acked = new Set<string>();
  const refused = new Set<string>();
  try {
    const enc = new TextEncoder();
    let n = 0;
    // A first valid request creates version 1.
    const first = validEvent("valid-0", 0);
    assert.equal(
      (await post(stack.edge.url, enc.encode(JSON.stringify([first])), "application/json")).status,
      200,
    );
    acked.add("valid-0");
    for (const { kind, make } of poisonKinds()) {
      const before = (await scanKeys(uri)).version;
      const poison = make(createRng(++n), `poison-${kind}`);
      for (const k of poison.keys) refused.add(k);
      const answer = await post(stack.edge.url, poison.body, poison.contentType);
      assert.ok(
        answer.status >= 400 && answer.status < 500 && answer.status !== 429,
        `${kind}: answered ${answer.status} ${answer.text.slice(0, 300)}`,
      );
      assert.equal((await scanKeys(uri)).version, before, `${kind}: the table changed`);
      // The next valid request is acknowledged within the edge's deadline (1 s), or it would be
      // answered 503: the poison left nothing stuck behind.
      const key = `valid-${n}`;
      const ok = await post(
        stack.edge.url,
        enc.encode(JSON.stringify([validEvent(key, n)])),
        "application/json",
      );
      assert.equal(ok.status, 200, `${kind}: the next valid request got ${ok.status} ${ok.text}`);
      acked.add(key);
      const report = await checkInvariants(access, {
        keyColumn: "key",
        acked,
        refused,
        unknown: new Set(),
        nowMs: Date.now(),
        retentionMs: 3_600_000,
      });
      assert.ok(report.ok, `${kind}: ${JSON.stringify(report)}`);
      assert.deepEqual((await scanKeys(uri)).keys.sort(), [...acked].sort(), "our scan");
    }
  } finally {
    await stack.close();
  }
  // And `deno task scan` as a process reads every row.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO_ROOT, "batch/scan.ts"), uri, "--limit", "1000"],
    env: {
      NO_COLOR: "1",
      ...(uri.startsWith("s3://") ? { AWS_ENDPOINT_URL_S3: testS3Endpoint() } : {}),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const printed = new TextDecoder().decode(out.stdout);
  for (const key of acked) assert.ok(printed.includes(key), `deno task scan misses ${key}`);
}

Deno.test("e2e: every poison request is 4xx and harmless, on local disk", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-poison-" });
  const uri = join(dir, "events");
  await everyPoisonIsRefused(uri, localTableAccess(uri), dir);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: every poison request is 4xx and harmless, on S3", async () => {
  const { bucket, cleanup } = await createTestBucket();
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-poison-s3-" });
  const restore = registerStorageScheme("s3", s3StorageFactory({ endpoint: testS3Endpoint() }));
  const access = s3TableAccess({
    endpoint: testS3Endpoint(),
    bucket,
    prefix: "t/events",
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  try {
    await everyPoisonIsRefused(`s3://${bucket}/t/events`, access, dir);
  } finally {
    access.close();
    restore();
    await cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
