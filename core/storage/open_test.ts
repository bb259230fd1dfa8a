import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InvalidArgumentError } from "../errors.ts";
import { createMemoryStorage } from "./memory.ts";
import { openStorage, registerStorageScheme } from "./open.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-open-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openStorage: an absolute path opens local storage there", async () => {
  await withTempDir(async (dir) => {
    const storage = openStorage(`${dir}/t1`);
    assert.equal(storage.location, pathToFileURL(`${dir}/t1`).href);
    await storage.put("a/b.json", new Uint8Array([1, 2]));
    assert.deepEqual(await Deno.readFile(`${dir}/t1/a/b.json`), new Uint8Array([1, 2]));
  });
});

Deno.test("openStorage: a relative path resolves against the current directory", () => {
  const storage = openStorage("some/relative dir");
  assert.equal(storage.location, pathToFileURL(resolve("some/relative dir")).href);
});

Deno.test("openStorage: a file:// URL is percent-decoded", async () => {
  await withTempDir(async (dir) => {
    const url = `${pathToFileURL(dir).href}/with%20space/caf%C3%A9`;
    const storage = openStorage(url);
    await storage.put("x", new Uint8Array([9]));
    assert.deepEqual(await Deno.readFile(`${dir}/with space/caf\u00e9/x`), new Uint8Array([9]));
    assert.equal(openStorage(`file://localhost${dir}`).location, pathToFileURL(dir).href);
  });
});

Deno.test("openStorage: a file:// URL with a remote host is rejected", () => {
  assert.throws(() => openStorage("file://server/share/t"), InvalidArgumentError);
});

Deno.test("openStorage: memory:// names one process-wide storage per name", async () => {
  const a = openStorage("memory://open-test-a");
  const again = openStorage("memory://open-test-a/");
  const b = openStorage("memory://open-test-b");
  assert.equal(a, again);
  assert.equal(a.location, "memory://open-test-a");
  await a.put("x", new Uint8Array([1]));
  assert.equal((await again.head("x"))?.size, 1);
  assert.equal(await b.head("x"), undefined);
  assert.throws(() => openStorage("memory://"), InvalidArgumentError);
});

Deno.test("openStorage: s3:// is the AWS module's; the core alone refuses it with a hint", () => {
  assert.throws(
    () => openStorage("s3://bucket/tables/events/"),
    (e: unknown) =>
      e instanceof InvalidArgumentError &&
      e.message ===
        'Cannot open storage "s3://bucket/tables/events/": unsupported scheme "s3" (register the AWS module first: registerAws() of aws/mod.ts)',
  );
});

Deno.test("openStorage: empty and unknown URIs are rejected naming the URI", () => {
  for (const uri of ["", "  "]) {
    assert.throws(() => openStorage(uri), InvalidArgumentError);
  }
  assert.throws(() => openStorage("ftp://host/x"), (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.match(e.message, /ftp:\/\/host\/x/);
    return true;
  });
});

Deno.test("registerStorageScheme: a factory replaces a scheme until restored", () => {
  const restore = registerStorageScheme("S3", (uri) => createMemoryStorage({ location: uri }));
  try {
    assert.equal(openStorage("s3://bucket/t").location, "s3://bucket/t");
  } finally {
    restore();
  }
  // Restored: no s3 backend again (the core registers none).
  assert.throws(() => openStorage("s3://bucket/t"), InvalidArgumentError);
  const restoreNew = registerStorageScheme("mock", (uri) => createMemoryStorage({ location: uri }));
  assert.equal(openStorage("MOCK://x").location, "MOCK://x");
  restoreNew();
  assert.throws(() => openStorage("mock://x"), InvalidArgumentError);
  assert.throws(() => registerStorageScheme("not a scheme", openStorage), InvalidArgumentError);
});
