import assert from "node:assert/strict";
import { isLakestrikeError, LakestrikeError } from "../core/errors.ts";
import { describeStorageContract } from "../core/storage/contract.ts";
import { createS3Storage, type S3Operation, type S3StorageOptions } from "./s3_storage.ts";
import { parseS3Uri } from "./s3_uri.ts";
import { createTestBucket, startFaultyProxy, testS3Endpoint } from "./s3_test_support.ts";
import { freePort } from "../tests/servers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

function storageOn(bucket: string, options: Partial<S3StorageOptions> = {}) {
  return createS3Storage({
    bucket,
    endpoint: testS3Endpoint(),
    region: "us-east-1",
    credentials: CREDENTIALS,
    retryBaseDelayMs: 1,
    ...options,
  });
}

/** Count requests per operation. */
function counter(): { counts: Partial<Record<S3Operation, number>>; hook(op: S3Operation): void } {
  const counts: Partial<Record<S3Operation, number>> = {};
  return { counts, hook: (op) => void (counts[op] = (counts[op] ?? 0) + 1) };
}

async function withBucket(fn: (bucket: string) => Promise<void>): Promise<void> {
  const { bucket, cleanup } = await createTestBucket();
  try {
    await fn(bucket);
  } finally {
    await cleanup();
  }
}

describeStorageContract("s3", async () => {
  const { bucket, cleanup } = await createTestBucket();
  return { storage: storageOn(bucket), cleanup };
});

describeStorageContract("s3 with a key prefix", async () => {
  const { bucket, cleanup } = await createTestBucket();
  return { storage: storageOn(bucket, { prefix: "tables/t1" }), cleanup };
});

Deno.test("s3: location, and a prefix scopes every operation", async () => {
  await withBucket(async (bucket) => {
    const outer = storageOn(bucket);
    const inner = storageOn(bucket, { prefix: "/tables/t1/" });
    assert.equal(outer.location, `s3://${bucket}`);
    assert.equal(inner.location, `s3://${bucket}/tables/t1`);
    assert.equal(inner.prefix, "tables/t1");
    await inner.put("_delta_log/0.json", text("in"));
    await outer.put("tables/t1x/a", text("sibling"));
    await outer.put("tables/t2/b", text("other table"));
    assert.deepEqual((await outer.list("")).map((m) => m.path), [
      "tables/t1/_delta_log/0.json",
      "tables/t1x/a",
      "tables/t2/b",
    ]);
    assert.deepEqual((await inner.list("")).map((m) => m.path), ["_delta_log/0.json"]);
    assert.equal(decode(await outer.get("tables/t1/_delta_log/0.json")), "in");
    await inner.delete(["_delta_log/0.json", "a"]);
    assert.deepEqual((await outer.list("")).map((m) => m.path), ["tables/t1x/a", "tables/t2/b"]);
  });
});

Deno.test("s3: a lost put-if-absent is the value {ok: false} after one 412", async () => {
  await withBucket(async (bucket) => {
    const { counts, hook } = counter();
    const storage = storageOn(bucket, { onRequest: hook });
    assert.deepEqual(await storage.put("v/0.json", text("a"), { ifAbsent: true }), { ok: true });
    assert.deepEqual(await storage.put("v/0.json", text("b"), { ifAbsent: true }), {
      ok: false,
      reason: "exists",
    });
    assert.deepEqual(counts, { PutObject: 2 }, "a 412 is an answer, not a retry");
  });
});

Deno.test("s3: list and delete page over 2,500 objects; requests are counted", async () => {
  await withBucket(async (bucket) => {
    const { counts, hook } = counter();
    const storage = storageOn(bucket, { onRequest: hook, prefix: "t" });
    const paths = Array.from({ length: 2_500 }, (_, i) => `d/${String(i).padStart(5, "0")}`);
    const queue = [...paths];
    await Promise.all(Array.from({ length: 32 }, async () => {
      for (let p = queue.pop(); p !== undefined; p = queue.pop()) await storage.put(p, text(p));
    }));
    assert.equal(counts.PutObject, 2_500);

    const listed = await storage.list("d/");
    assert.deepEqual(listed.map((m) => m.path), paths);
    assert.equal(counts.ListObjectsV2, 3, "1,000 keys per page");
    const after = await storage.list("d/", { startAfter: paths[999] as string, limit: 1_200 });
    assert.deepEqual(after.map((m) => m.path), paths.slice(1_000, 2_200));
    assert.equal(counts.ListObjectsV2, 5, "pages of 1,000 and 200 keys");
    assert.deepEqual(
      (await storage.list("d/", { limit: 10 })).map((m) => m.path),
      paths.slice(0, 10),
    );
    assert.equal(counts.ListObjectsV2, 6, "a small limit asks for a small page");

    await storage.delete([...paths, "d/missing", paths[0] as string]);
    assert.equal(counts.DeleteObjects, 3, "2,501 distinct keys in batches of 1,000");
    assert.deepEqual(await storage.list(""), []);
  });
});

Deno.test("s3: injected 503 SlowDown and 500 answers are retried", async () => {
  await withBucket(async (bucket) => {
    const proxy = startFaultyProxy(testS3Endpoint());
    try {
      const { counts, hook } = counter();
      const storage = storageOn(bucket, { endpoint: proxy.endpoint, onRequest: hook });
      // Fail the first two requests of every operation below.
      let failNext = 0;
      proxy.fault = () => failNext-- > 0 ? { status: 503, code: "SlowDown" } : undefined;
      failNext = 2;
      assert.deepEqual(await storage.put("a/x", text("x"), { ifAbsent: true }), { ok: true });
      failNext = 2;
      assert.equal(decode(await storage.get("a/x")), "x");
      failNext = 2;
      assert.equal((await storage.head("a/x"))?.size, 1);
      failNext = 2;
      assert.deepEqual((await storage.list("a/")).map((m) => m.path), ["a/x"]);
      failNext = 2;
      await storage.delete(["a/x"]);
      assert.deepEqual(counts, {
        PutObject: 3,
        GetObject: 3,
        HeadObject: 3,
        ListObjectsV2: 3,
        DeleteObjects: 3,
      });
      assert.equal(proxy.requests.length, 15, "the SDK does not retry on its own");

      proxy.fault = (_r, i) => i === 15 ? { status: 500, code: "InternalError" } : undefined;
      assert.deepEqual(await storage.put("b", text("b")), { ok: true });
      assert.equal(counts.PutObject, 5);
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("s3: a 409 ConditionalRequestConflict is retried, a 412 is not", async () => {
  await withBucket(async (bucket) => {
    const proxy = startFaultyProxy(testS3Endpoint());
    try {
      const storage = storageOn(bucket, { endpoint: proxy.endpoint });
      proxy.fault = (_r, i) =>
        i < 2 ? { status: 409, code: "ConditionalRequestConflict" } : undefined;
      assert.deepEqual(await storage.put("c", text("1"), { ifAbsent: true }), { ok: true });
      assert.equal(proxy.requests.length, 3);
      // Without ifAbsent a 409 is not retried (it is not a conditional-write race).
      proxy.fault = (_r, i) =>
        i === 3 ? { status: 409, code: "ConditionalRequestConflict" } : undefined;
      await assert.rejects(
        storage.put("c", text("2")),
        /S3 answered 409 ConditionalRequestConflict after 1 attempt/,
      );
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("s3: retries are bounded and the error counts the attempts", async () => {
  await withBucket(async (bucket) => {
    const proxy = startFaultyProxy(testS3Endpoint());
    try {
      proxy.fault = () => ({ status: 503, code: "SlowDown" });
      const storage = storageOn(bucket, { endpoint: proxy.endpoint, maxAttempts: 3 });
      await assert.rejects(
        storage.put("_delta_log/00000000000000000003.json", text("x"), { ifAbsent: true }),
        (e: unknown) => {
          assert.ok(isLakestrikeError(e, "STORAGE"));
          assert.equal(
            e.message,
            "Cannot put _delta_log/00000000000000000003.json: S3 answered 503 SlowDown after 3 attempts",
          );
          return true;
        },
      );
      assert.equal(proxy.requests.length, 3);
      // Not retryable: 403.
      proxy.fault = () => ({ status: 403, code: "AccessDenied" });
      await assert.rejects(
        storage.get("k"),
        /Cannot read k: S3 answered 403 AccessDenied after 1 attempt$/,
      );
      assert.equal(proxy.requests.length, 4);
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("s3: network errors are retried, then reported", async () => {
  const { counts, hook } = counter();
  const storage = createS3Storage({
    bucket: "nobody-listens",
    endpoint: `http://127.0.0.1:${freePort()}`,
    region: "us-east-1",
    credentials: CREDENTIALS,
    maxAttempts: 2,
    retryBaseDelayMs: 1,
    onRequest: hook,
  });
  await assert.rejects(storage.head("x"), (e: unknown) => {
    assert.ok(e instanceof LakestrikeError);
    assert.match(e.message, /^Cannot stat x: no answer from S3 \(.+\) after 2 attempts$/);
    return true;
  });
  assert.deepEqual(counts, { HeadObject: 2 });
});

Deno.test("s3: a put-if-absent whose answer was lost reads back its own bytes", async () => {
  await withBucket(async (bucket) => {
    const proxy = startFaultyProxy(testS3Endpoint());
    try {
      const storage = storageOn(bucket, { endpoint: proxy.endpoint });
      // The first PUT reaches moto, but its answer is replaced by a 500: the object exists.
      const direct = storageOn(bucket);
      proxy.fault = (_request, i) => {
        if (i !== 0) return undefined;
        return { status: 500, code: "InternalError" };
      };
      // Write the object "behind the proxy's back" as the lost first attempt would have.
      await direct.put("log/1.json", text("mine"));
      assert.deepEqual(await storage.put("log/1.json", text("mine"), { ifAbsent: true }), {
        ok: true,
      });
      // Same ambiguity, different bytes: somebody else won.
      proxy.fault = (_r, i) => i === 3 ? { status: 500, code: "InternalError" } : undefined;
      await direct.put("log/2.json", text("theirs"));
      assert.deepEqual(await storage.put("log/2.json", text("mine"), { ifAbsent: true }), {
        ok: false,
        reason: "exists",
      });
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("s3: parseS3Uri", () => {
  assert.deepEqual(parseS3Uri("s3://lake"), { bucket: "lake", prefix: "" });
  assert.deepEqual(parseS3Uri("s3://lake/"), { bucket: "lake", prefix: "" });
  assert.deepEqual(parseS3Uri("s3://lake/a/b%20c/"), { bucket: "lake", prefix: "a/b%20c" });
  for (
    const bad of [
      "s3://",
      "s3://A_B/x",
      "s3:/lake",
      "file:///x",
      "s3://lake/a//b",
      "s3://lake/a/../b",
      "s3://lake/x?y",
    ]
  ) {
    assert.throws(
      () => parseS3Uri(bad),
      (e: unknown) => isLakestrikeError(e, "INVALID_ARGUMENT"),
      bad,
    );
  }
});

Deno.test("s3: openStorage(s3://bucket/prefix) is configured from the AWS environment", async () => {
  await withBucket(async (bucket) => {
    const { openStorage } = await import("../core/storage/open.ts");
    const { registerAws } = await import("./register_aws.ts");
    const unregister = registerAws();
    const saved = Deno.env.get("AWS_ENDPOINT_URL_S3");
    Deno.env.set("AWS_ENDPOINT_URL_S3", testS3Endpoint());
    try {
      const storage = openStorage(`s3://${bucket}/tables/events/`);
      assert.equal(storage.location, `s3://${bucket}/tables/events`);
      assert.deepEqual(await storage.put("_delta_log/0.json", text("{}"), { ifAbsent: true }), {
        ok: true,
      });
      const outer = storageOn(bucket);
      assert.equal(decode(await outer.get("tables/events/_delta_log/0.json")), "{}");
    } finally {
      unregister();
      if (saved === undefined) Deno.env.delete("AWS_ENDPOINT_URL_S3");
      else Deno.env.set("AWS_ENDPOINT_URL_S3", saved);
    }
  });
});
