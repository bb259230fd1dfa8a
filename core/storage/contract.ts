/**
 * The contract test suite every {@linkcode ObjectStorage} backend must pass: one `Deno.test` per
 * "must" of `storage.ts`. Backend test files call {@linkcode describeStorageContract} with a factory
 * of fresh, empty storages. The suite uses only the `ObjectStorage` interface, so memory, local disk
 * and S3 run the very same cases.
 *
 * This module is meant for tests: it registers tests with `Deno.test` but does no IO itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { ObjectStorage } from "./storage.ts";

/** A fresh, empty storage for one contract test, and how to dispose of it. */
export interface StorageFixture {
  /** The storage under test; it must be empty. */
  storage: ObjectStorage;
  /** Release everything the fixture created (directories, buckets). */
  cleanup(): Promise<void>;
}

/**
 * Register the storage contract tests, named `storage contract (${name}): ...`. `create` is called
 * once per test and must return an empty storage.
 *
 * @example
 * ```ts ignore
 * import { describeStorageContract } from "./contract.ts";
 * import { createMemoryStorage } from "./memory.ts";
 * describeStorageContract("memory", () =>
 *   Promise.resolve({ storage: createMemoryStorage(), cleanup: () => Promise.resolve() }));
 * ```
 */
export function describeStorageContract(name: string, create: () => Promise<StorageFixture>): void {
  for (const [title, body] of CASES) {
    Deno.test(`storage contract (${name}): ${title}`, async () => {
      const fixture = await create();
      try {
        await body(fixture.storage);
      } finally {
        await fixture.cleanup();
      }
    });
  }
}

type Case = readonly [title: string, body: (storage: ObjectStorage) => Promise<void>];

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (s: string) => encoder.encode(s);

async function getText(storage: ObjectStorage, path: string): Promise<string> {
  return decoder.decode(await storage.get(path));
}

async function listPaths(
  storage: ObjectStorage,
  prefix: string,
  options: { startAfter?: string; limit?: number } = {},
): Promise<string[]> {
  return (await storage.list(prefix, options)).map((m) => m.path);
}

async function putAll(storage: ObjectStorage, paths: readonly string[]): Promise<void> {
  for (const path of paths) assert.deepEqual(await storage.put(path, text(path)), { ok: true });
}

/** Bytes `0, 1, ..., 255, 0, ...` shifted by `seed`, so two objects of one size differ everywhere. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i + seed) & 0xff;
  return bytes;
}

function isPattern(bytes: Uint8Array, size: number, seed: number): boolean {
  if (bytes.length !== size) return false;
  for (let i = 0; i < size; i++) if (bytes[i] !== ((i + seed) & 0xff)) return false;
  return true;
}

const INVALID_PATHS = [
  "",
  "/a",
  "a/",
  "a//b",
  ".",
  "..",
  "./a",
  "a/./b",
  "a/../b",
  "a/..",
  "a\0b",
];

const CASES: readonly Case[] = [
  ["get returns the whole object and put copies the bytes", async (storage) => {
    const bytes = text("hello, delta");
    assert.deepEqual(await storage.put("a.txt", bytes), { ok: true });
    bytes[0] = 0; // a later change of the caller's buffer must not reach the stored object
    const read = await storage.get("a.txt");
    assert.equal(decoder.decode(read), "hello, delta");
    read[0] = 0; // nor may a change of a returned buffer
    assert.equal(await getText(storage, "a.txt"), "hello, delta");
  }],

  ["get of a missing object throws NotFoundError naming the path", async (storage) => {
    await assert.rejects(storage.get("missing/x.json"), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.path, "missing/x.json");
      assert.match(e.message, /missing\/x\.json/);
      return true;
    });
    await storage.put("dir/file", text("x"));
    // A "directory" is not an object.
    await assert.rejects(storage.get("dir"), NotFoundError);
    await assert.rejects(storage.getRange("missing", 0, 1), NotFoundError);
  }],

  ["empty objects are stored and read back", async (storage) => {
    assert.deepEqual(await storage.put("empty", new Uint8Array(0)), { ok: true });
    assert.equal((await storage.get("empty")).length, 0);
    assert.equal((await storage.head("empty"))?.size, 0);
    assert.deepEqual(await listPaths(storage, ""), ["empty"]);
  }],

  ["getRange returns [offset, offset + length), fewer at the end", async (storage) => {
    await storage.put("r", text("0123456789"));
    assert.equal(decoder.decode(await storage.getRange("r", 0, 4)), "0123");
    assert.equal(decoder.decode(await storage.getRange("r", 3, 4)), "3456");
    assert.equal(decoder.decode(await storage.getRange("r", 7, 10)), "789");
    assert.equal(decoder.decode(await storage.getRange("r", 9, 1)), "9");
    assert.equal((await storage.getRange("r", 10, 5)).length, 0);
    assert.equal((await storage.getRange("r", 50, 5)).length, 0);
    assert.equal((await storage.getRange("r", 2, 0)).length, 0);
    await assert.rejects(storage.getRange("r", -1, 2), InvalidArgumentError);
    await assert.rejects(storage.getRange("r", 0, -2), InvalidArgumentError);
    await assert.rejects(storage.getRange("r", 0.5, 2), InvalidArgumentError);
  }],

  ["getRange of a large object reads the right bytes", async (storage) => {
    const size = 300_000;
    await storage.put("big.bin", pattern(size, 7));
    const range = await storage.getRange("big.bin", 123_457, 100_000);
    assert.equal(range.length, 100_000);
    assert.ok(isPattern(range, 100_000, 7 + 123_457));
  }],

  ["head returns metadata, undefined when missing", async (storage) => {
    await storage.put("p/q.parquet", text("12345"));
    const meta = await storage.head("p/q.parquet");
    assert.ok(meta !== undefined);
    assert.equal(meta.path, "p/q.parquet");
    assert.equal(meta.size, 5);
    assert.ok(Number.isFinite(meta.lastModifiedMs) && meta.lastModifiedMs >= 0);
    assert.equal(await storage.head("p/missing"), undefined);
    assert.equal(await storage.head("p"), undefined, "a directory is not an object");
    assert.equal(await storage.head("p/q.parquet/x"), undefined);
    const [listed] = await storage.list("p/");
    assert.deepEqual(listed, meta);
  }],

  ["list returns every object under the prefix, recursively, sorted by path", async (storage) => {
    const paths = [
      "t/_delta_log/00000000000000000001.json",
      "t/_delta_log/00000000000000000000.json",
      "t/_delta_log/00000000000000000010.checkpoint.parquet",
      "t/date=2024-01-02/part-1.parquet",
      "t/date=2024-01-01/part-2.parquet",
      "t/date=2024-01-01/part-1.parquet",
      "t/a/b/c/d/deep.bin",
      "t.json",
      "u/other",
    ];
    await putAll(storage, paths);
    const expected = paths.filter((p) => p.startsWith("t/")).sort();
    assert.deepEqual(await listPaths(storage, "t/"), expected);
    assert.deepEqual(await listPaths(storage, ""), [...paths].sort());
    const metas = await storage.list("t/");
    for (const meta of metas) assert.equal(meta.size, encoder.encode(meta.path).length);
  }],

  ["list orders by bytes: '.' before '/', and UTF-8 rather than UTF-16", async (storage) => {
    // "a.json" < "a/x" because '.' (0x2E) < '/' (0x2F); a directory walk in name order gets this
    // wrong. U+FF5E (EF BD 9E) < U+1F600 (F0 9F 98 80) in UTF-8, the reverse of UTF-16 order.
    const paths = ["a/x", "a.json", "a0", "k/\u{1F600}", "k/\uFF5E", "k/z", "k/\u00e9"];
    await putAll(storage, paths);
    assert.deepEqual(await listPaths(storage, ""), [
      "a.json",
      "a/x",
      "a0",
      "k/z",
      "k/\u00e9",
      "k/\uFF5E",
      "k/\u{1F600}",
    ]);
  }],

  ["list prefix is a string prefix, not a directory", async (storage) => {
    await putAll(storage, ["a/b.json", "a/bc/x", "a/b/c", "a/a", "a/c", "ab", "b"]);
    assert.deepEqual(await listPaths(storage, "a/b"), ["a/b.json", "a/b/c", "a/bc/x"]);
    assert.deepEqual(await listPaths(storage, "a/b/"), ["a/b/c"]);
    assert.deepEqual(await listPaths(storage, "a"), [
      "a/a",
      "a/b.json",
      "a/b/c",
      "a/bc/x",
      "a/c",
      "ab",
    ]);
    assert.deepEqual(await listPaths(storage, "a/b.json"), ["a/b.json"]);
    assert.deepEqual(await listPaths(storage, "a/b.jsonx"), []);
    assert.deepEqual(await listPaths(storage, "missing/"), []);
    assert.deepEqual(await listPaths(storage, "missing/deeper/x"), []);
    assert.deepEqual(await listPaths(storage, "a/b.json/"), [], "a file is not a directory");
  }],

  ["list honours startAfter (exclusive) and limit", async (storage) => {
    const paths = Array.from({ length: 30 }, (_, i) => `log/${String(i).padStart(5, "0")}.json`);
    await putAll(storage, [...paths, "log/sub/x", "log/sub2/y", "other"]);
    const all = [...paths, "log/sub/x", "log/sub2/y"];
    assert.deepEqual(await listPaths(storage, "log/"), all);
    assert.deepEqual(
      await listPaths(storage, "log/", { startAfter: "log/00027.json" }),
      all.slice(28),
    );
    // startAfter need not exist and need not be under the prefix.
    assert.deepEqual(await listPaths(storage, "log/", { startAfter: "log/00027" }), all.slice(27));
    assert.deepEqual(await listPaths(storage, "log/", { startAfter: "a" }), all);
    assert.deepEqual(await listPaths(storage, "log/", { startAfter: "z" }), []);
    // startAfter inside a subtree skips only the part of it before startAfter.
    assert.deepEqual(await listPaths(storage, "log/", { startAfter: "log/sub/" }), [
      "log/sub/x",
      "log/sub2/y",
    ]);
    assert.deepEqual(await listPaths(storage, "log/", { startAfter: "log/sub/x" }), ["log/sub2/y"]);
    assert.deepEqual(await listPaths(storage, "log/", { limit: 3 }), all.slice(0, 3));
    assert.deepEqual(await listPaths(storage, "log/", { limit: 0 }), []);
    assert.deepEqual(await listPaths(storage, "log/", { limit: 1000 }), all);
    assert.deepEqual(
      await listPaths(storage, "log/", { startAfter: all[9] as string, limit: 5 }),
      all.slice(10, 15),
    );
    // Paging with startAfter = last path of the previous page visits everything once.
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await listPaths(storage, "log/", {
        limit: 7,
        ...(after === undefined ? {} : { startAfter: after }),
      });
      paged.push(...page);
      if (page.length < 7) break;
      after = page[page.length - 1];
    }
    assert.deepEqual(paged, all);
    await assert.rejects(storage.list("log/", { limit: -1 }), InvalidArgumentError);
  }],

  ["put overwrites; list and head see the new object", async (storage) => {
    assert.deepEqual(await storage.put("x/y", text("first")), { ok: true });
    assert.deepEqual(await storage.put("x/y", text("second, longer")), { ok: true });
    assert.equal(await getText(storage, "x/y"), "second, longer");
    assert.equal((await storage.head("x/y"))?.size, 14);
    assert.deepEqual(await listPaths(storage, "x/"), ["x/y"]);
  }],

  ["put with ifAbsent creates once, then reports exists and keeps the object", async (storage) => {
    assert.deepEqual(await storage.put("v/0.json", text("winner"), { ifAbsent: true }), {
      ok: true,
    });
    assert.deepEqual(await storage.put("v/0.json", text("loser"), { ifAbsent: true }), {
      ok: false,
      reason: "exists",
    });
    assert.equal(await getText(storage, "v/0.json"), "winner");
    assert.deepEqual(await storage.put("v/1.json", text("plain"), { ifAbsent: false }), {
      ok: true,
    });
    assert.deepEqual(await listPaths(storage, "v/"), ["v/0.json", "v/1.json"]);
  }],

  ["20 concurrent put-if-absent writers of one path: exactly one wins", async (storage) => {
    for (const round of [0, 1, 2]) {
      const path = `_delta_log/${String(round).padStart(20, "0")}.json`;
      const writers = Array.from({ length: 20 }, (_, i) => `writer ${i} of round ${round}`);
      const results = await Promise.all(
        writers.map((body) => storage.put(path, text(body), { ifAbsent: true })),
      );
      const winners = results.flatMap((r, i) => r.ok ? [writers[i]] : []);
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      for (const r of results) if (!r.ok) assert.equal(r.reason, "exists");
      assert.equal(await getText(storage, path), winners[0]);
    }
    assert.equal((await storage.list("_delta_log/")).length, 3);
  }],

  ["put with atomic: false keeps ifAbsent's exclusion, overwrite and new directories", async (
    storage,
  ) => {
    const once = { ifAbsent: true, atomic: false };
    assert.deepEqual(await storage.put("p=1/a.parquet", text("winner"), once), { ok: true });
    assert.deepEqual(await storage.put("p=1/a.parquet", text("loser"), once), {
      ok: false,
      reason: "exists",
    });
    assert.equal(await getText(storage, "p=1/a.parquet"), "winner");
    // Also an atomic put-if-absent loses against it, and it against an atomic put.
    assert.deepEqual(await storage.put("p=1/a.parquet", text("x"), { ifAbsent: true }), {
      ok: false,
      reason: "exists",
    });
    await storage.put("p=1/b.parquet", text("atomic"));
    assert.equal((await storage.put("p=1/b.parquet", text("x"), once)).ok, false);
    // Without ifAbsent it overwrites, a shorter object included.
    assert.deepEqual(
      await storage.put("p=1/b.parquet", text("in place"), { atomic: false }),
      { ok: true },
    );
    assert.deepEqual(await storage.put("p=1/b.parquet", text("x"), { atomic: false }), {
      ok: true,
    });
    assert.equal(await getText(storage, "p=1/b.parquet"), "x");
    // A large object, and 20 concurrent writers of one path: exactly one wins, whole.
    assert.deepEqual(await storage.put("deep/er/c", pattern(3 << 20, 7), once), { ok: true });
    assert.ok(isPattern(await storage.get("deep/er/c"), 3 << 20, 7));
    const writers = Array.from({ length: 20 }, (_, i) => `writer ${i}`);
    const results = await Promise.all(writers.map((w) => storage.put("race", text(w), once)));
    const winners = results.flatMap((r, i) => r.ok ? [writers[i]] : []);
    assert.equal(winners.length, 1);
    assert.equal(await getText(storage, "race"), winners[0]);
    assert.deepEqual(await listPaths(storage, ""), [
      "deep/er/c",
      "p=1/a.parquet",
      "p=1/b.parquet",
      "race",
    ]);
  }],

  ["a reader racing a large put never sees a partial object", async (storage) => {
    const size = 4 * 1024 * 1024;
    const path = "data/big.parquet";
    const seen = { missing: 0, old: 0, new: 0 };
    const race = async (bytes: Uint8Array, seed: number, oldSeed: number | undefined) => {
      let done = false;
      const writer = storage.put(path, bytes).finally(() => {
        done = true;
      });
      const check = async () => {
        const got = await storage.get(path).catch((e: unknown) => {
          if (e instanceof NotFoundError && oldSeed === undefined) return undefined;
          throw e;
        });
        if (got === undefined) seen.missing++;
        else if (oldSeed !== undefined && isPattern(got, size, oldSeed)) seen.old++;
        else if (isPattern(got, size, seed)) seen.new++;
        else assert.fail(`read a partial or mixed object of ${got.length} bytes`);
        const meta = await storage.head(path);
        if (meta !== undefined) assert.equal(meta.size, size);
        for (const m of await storage.list("data/")) assert.equal(m.size, size);
      };
      do {
        await check();
        // Yield a macrotask, so a backend whose put waits on timers or IO is not starved.
        await new Promise((resolve) => setTimeout(resolve, 0));
      } while (!done);
      assert.deepEqual(await writer, { ok: true });
      await check();
    };
    await race(pattern(size, 1), 1, undefined); // create
    await race(pattern(size, 2), 2, 1); // overwrite
    assert.ok(seen.new >= 2, "the completed object must be read after each put");
  }],

  ["delete removes objects and is idempotent", async (storage) => {
    await putAll(storage, ["d/1", "d/2", "d/3", "d/sub/4", "keep"]);
    await storage.delete(["d/1", "d/3", "d/sub/4", "d/missing", "d/1", "never/existed"]);
    assert.deepEqual(await listPaths(storage, ""), ["d/2", "keep"]);
    await assert.rejects(storage.get("d/1"), NotFoundError);
    assert.equal(await storage.head("d/3"), undefined);
    await storage.delete(["d/1"]);
    await storage.delete([]);
    // A path can be written again after its delete, also with ifAbsent.
    assert.deepEqual(await storage.put("d/1", text("again"), { ifAbsent: true }), { ok: true });
    assert.equal(await getText(storage, "d/1"), "again");
  }],

  ["delete of many objects", async (storage) => {
    const paths = Array.from({ length: 100 }, (_, i) => `many/part-${i}.parquet`);
    await Promise.all(paths.map((p) => storage.put(p, text(p))));
    assert.equal((await storage.list("many/")).length, 100);
    await storage.delete(paths.slice(0, 60));
    assert.deepEqual(await listPaths(storage, "many/"), paths.slice(60).sort());
  }],

  ["nested paths", async (storage) => {
    const path = "table/year=2024/month=01/day=31/hour=23/part-00000-abc.c000.snappy.parquet";
    await storage.put(path, text("nested"));
    assert.equal(await getText(storage, path), "nested");
    assert.deepEqual(await listPaths(storage, "table/year=2024/"), [path]);
    assert.deepEqual(await listPaths(storage, "table/year=2024/month=01/day=31/hour=2"), [path]);
    await storage.put("table/year=2024/month=01/x", text("sibling"));
    assert.deepEqual(await listPaths(storage, "table/"), [path, "table/year=2024/month=01/x"]);
  }],

  ["names with spaces, %, =, + and unicode round-trip exactly", async (storage) => {
    const paths = [
      "city=S\u00e3o Paulo/part 1.parquet",
      "k=a%20b/v%2F.parquet",
      "q=1+1=2/x",
      "\u65e5\u672c/\u{1F600} emoji.json",
      "tab\there/#hash?query&amp;",
      "ends with space /x ",
    ];
    await putAll(storage, paths);
    for (const p of paths) {
      assert.equal(await getText(storage, p), p);
      assert.equal((await storage.head(p))?.path, p);
    }
    const listed = await listPaths(storage, "");
    assert.deepEqual([...listed].sort(), [...paths].sort());
    assert.deepEqual(await listPaths(storage, "k=a%20b/"), ["k=a%20b/v%2F.parquet"]);
    assert.deepEqual(await listPaths(storage, "city=S\u00e3o"), [paths[0]]);
  }],

  ["invalid paths are rejected with InvalidArgumentError", async (storage) => {
    for (const bad of INVALID_PATHS) {
      const label = JSON.stringify(bad);
      await assert.rejects(storage.put(bad, text("x")), InvalidArgumentError, `put ${label}`);
      await assert.rejects(
        storage.put(bad, text("x"), { ifAbsent: true }),
        InvalidArgumentError,
        `put-if-absent ${label}`,
      );
      await assert.rejects(storage.get(bad), InvalidArgumentError, `get ${label}`);
      await assert.rejects(storage.getRange(bad, 0, 1), InvalidArgumentError, `getRange ${label}`);
      await assert.rejects(storage.head(bad), InvalidArgumentError, `head ${label}`);
      await assert.rejects(storage.delete(["ok", bad]), InvalidArgumentError, `delete ${label}`);
    }
    for (const bad of ["/", "/a", "a//", "../", "a/../", "x\0"]) {
      await assert.rejects(storage.list(bad), InvalidArgumentError, `list ${JSON.stringify(bad)}`);
    }
    assert.deepEqual(await listPaths(storage, ""), [], "no rejected call may write anything");
  }],

  ["a rejected delete deletes nothing", async (storage) => {
    await putAll(storage, ["keep/1", "keep/2"]);
    await assert.rejects(storage.delete(["keep/1", "../x"]), InvalidArgumentError);
    assert.deepEqual(await listPaths(storage, ""), ["keep/1", "keep/2"]);
  }],

  ["list after a put shows the object; after a delete it does not", async (storage) => {
    for (let i = 0; i < 10; i++) {
      const path = `_delta_log/${String(i).padStart(20, "0")}.json`;
      assert.deepEqual(await storage.put(path, text(`${i}`), { ifAbsent: true }), { ok: true });
      const listed = await listPaths(storage, "_delta_log/");
      assert.equal(listed.length, i + 1);
      assert.equal(listed[i], path);
    }
    await storage.delete(["_delta_log/00000000000000000009.json"]);
    assert.equal((await storage.list("_delta_log/")).length, 9);
  }],

  ["location is a non-empty string", (storage) => {
    assert.equal(typeof storage.location, "string");
    assert.ok(storage.location.length > 0);
    return Promise.resolve();
  }],
];
