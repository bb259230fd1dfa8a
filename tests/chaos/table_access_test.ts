/**
 * The table access contract on local disk and on S3 (moto): prefix listing at any depth, UTF-8
 * byte order, sizes, `undefined` for a missing object, no path outside the root.
 *
 * @module
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { createTestBucket, testS3Client, testS3Endpoint } from "../../aws/s3_test_support.ts";
import { localTableAccess, s3TableAccess, type TableAccess } from "./table_access.ts";

/** Objects of the contract test: nested, with names that sort differently in UTF-16. */
const OBJECTS: Record<string, string> = {
  "_delta_log/00000000000000000000.json": "{}\n",
  "_delta_log/_sidecars/s.parquet": "sidecar",
  "date=2024-01-01/part-0.parquet": "12345",
  "date=2024-01-01/\uFF5E.parquet": "fw",
  "date=2024-01-01/\u{1F600}.parquet": "emoji",
  "top.parquet": "t",
  "date=2024-01-02/sub/deep.parquet": "deep",
};

async function assertContract(access: TableAccess): Promise<void> {
  const all = await access.list("");
  assert.deepEqual(all.map((o) => o.path), [
    "_delta_log/00000000000000000000.json",
    "_delta_log/_sidecars/s.parquet",
    "date=2024-01-01/part-0.parquet",
    // U+FF5E (EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in UTF-8 byte order.
    "date=2024-01-01/\uFF5E.parquet",
    "date=2024-01-01/\u{1F600}.parquet",
    "date=2024-01-02/sub/deep.parquet",
    "top.parquet",
  ]);
  for (const o of all) assert.equal(o.size, new TextEncoder().encode(OBJECTS[o.path]!).length);
  assert.ok(all.every((o) => o.lastModifiedMs > 0));
  assert.deepEqual((await access.list("_delta_log/")).map((o) => o.path), [
    "_delta_log/00000000000000000000.json",
    "_delta_log/_sidecars/s.parquet",
  ]);
  assert.deepEqual((await access.list("date=2024-01-0")).map((o) => o.path).length, 4);
  assert.deepEqual(await access.list("nothing/"), []);
  assert.equal(
    new TextDecoder().decode(await access.get("date=2024-01-02/sub/deep.parquet")),
    "deep",
  );
  assert.equal(await access.get("date=2024-01-01/missing.parquet"), undefined);
  await assert.rejects(access.get("../outside"), /not a path relative to the table root/);
  await assert.rejects(access.list("/abs"), /not a path relative to the table root/);
}

Deno.test("table access: the contract on local disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [path, text] of Object.entries(OBJECTS)) {
      await Deno.mkdir(`${dir}/${path.slice(0, path.lastIndexOf("/") + 1)}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    const access = localTableAccess(dir);
    await assertContract(access);
    assert.ok(access.location?.startsWith("file:///"));
    // A directory is not an object.
    assert.equal(await access.get("date=2024-01-02"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("table access: the contract on S3 (moto), under a prefix", async () => {
  const { bucket, cleanup } = await createTestBucket();
  const client = testS3Client();
  const access = s3TableAccess({ endpoint: testS3Endpoint(), bucket, prefix: "t/events" });
  try {
    for (const [path, text] of Object.entries(OBJECTS)) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: `t/events/${path}`, Body: text }),
      );
    }
    // A sibling table whose prefix starts like ours is not listed.
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: "t/events2/top.parquet", Body: "x" }),
    );
    await assertContract(access);
    assert.equal(access.location, `s3://${bucket}/t/events`);
    // Explicit credentials, for a process whose environment has none.
    const explicit = s3TableAccess({
      endpoint: testS3Endpoint(),
      bucket,
      prefix: "t/events",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    try {
      assert.equal((await explicit.list("_delta_log/")).length, 2);
    } finally {
      explicit.close();
    }
  } finally {
    access.close();
    client.destroy();
    await cleanup();
  }
});
