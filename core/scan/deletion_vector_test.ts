import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { CorruptLogError, UnsupportedFeatureError } from "../errors.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import {
  crc32,
  decodeZ85,
  DELETION_VECTOR_MAGIC,
  deletionVectorStoragePath,
  loadDeletionVector,
  parseDeletionVectorBitmap,
  relativeDeletionVectorPath,
  tableRelativePath,
} from "./deletion_vector.ts";

/** Little-endian byte writer for building bitmaps by hand. */
class Bytes {
  parts: number[] = [];
  u16(v: number): this {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number): this {
    return this.u32(v % 2 ** 32).u32(Math.floor(v / 2 ** 32));
  }
  raw(b: Uint8Array): this {
    this.parts.push(...b);
    return this;
  }
  done(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

Deno.test("decodeZ85 decodes the ZeroMQ RFC 32 test vector", () => {
  deepEqual(
    Array.from(decodeZ85("HelloWorld")),
    [0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b],
  );
  deepEqual(Array.from(decodeZ85("")), []);
});

Deno.test("decodeZ85 refuses bad lengths and characters", () => {
  throws(() => decodeZ85("abcd"), CorruptLogError);
  throws(() => decodeZ85("abc~d"), CorruptLogError);
  throws(() => decodeZ85("#####"), CorruptLogError); // above 2^32
});

Deno.test("relativeDeletionVectorPath resolves the uuid and the random prefix", () => {
  equal(
    relativeDeletionVectorPath("ab^-aqEH.-t@S}K{vb[*k^"),
    "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin",
  );
  equal(
    relativeDeletionVectorPath("vBn[lx{q8@P<9BNH/isA"),
    "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin",
  );
  throws(() => relativeDeletionVectorPath("short"), CorruptLogError);
});

Deno.test("deletionVectorStoragePath handles u, i and p descriptors", () => {
  const base = { sizeInBytes: 10, cardinality: 1, offset: 1 };
  equal(
    deletionVectorStoragePath(
      { ...base, storageType: "u", pathOrInlineDv: "vBn[lx{q8@P<9BNH/isA" },
      "x",
    ),
    "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin",
  );
  equal(
    deletionVectorStoragePath({ ...base, storageType: "i", pathOrInlineDv: "" }, "x"),
    undefined,
  );
  equal(
    deletionVectorStoragePath(
      { ...base, storageType: "p", pathOrInlineDv: "s3://bucket/t/dv/a.bin" },
      "s3://bucket/t",
    ),
    "dv/a.bin",
  );
});

Deno.test("deletionVectorStoragePath decodes a p path before matching it to the decoded root", () => {
  const base = { sizeInBytes: 10, cardinality: 1, offset: 1, storageType: "p" as const };
  const at = (pathOrInlineDv: string, root: string) =>
    deletionVectorStoragePath({ ...base, pathOrInlineDv }, root);
  equal(at("s3://b/t/dv%20x/a.bin", "s3://b/t"), "dv x/a.bin");
  equal(at("s3a://b/t/dv%2520x/a.bin", "s3://b/t/"), "dv%20x/a.bin");
  equal(at("file:/tmp/my%20t/a.bin", "file:///tmp/my%20t"), "a.bin");
  throws(() => at("s3://b/other/a.bin", "s3://b/t"), UnsupportedFeatureError);
  throws(() => at("s3://b/t/dv%zz/a.bin", "s3://b/t"), CorruptLogError);
  throws(() => at("dv/a.bin", "s3://b/t"), CorruptLogError);
});

Deno.test("tableRelativePath: relative, under the root, outside, unparsable", () => {
  equal(tableRelativePath("a=1/p.parquet", "s3://b/t"), "a=1/p.parquet");
  equal(tableRelativePath("file:///tmp/my t/p.parquet", "file:///tmp/my%20t"), "p.parquet");
  equal(tableRelativePath("file://localhost/tmp/t/p.parquet", "file:///tmp/t"), "p.parquet");
  equal(tableRelativePath("s3n://b/t/x/p.parquet", "s3a://b/t"), "x/p.parquet");
  equal(tableRelativePath("s3://b/t2/p.parquet", "s3://b/t"), undefined);
  equal(tableRelativePath("gs://b/t/p.parquet", "s3://b/t"), undefined);
  equal(tableRelativePath("s3://c/t/p.parquet", "s3://b/t"), undefined);
  throws(() => tableRelativePath("s3:p.parquet", "s3://b/t"), CorruptLogError);
  throws(() => tableRelativePath("s3://b/t/../t/p.parquet", "s3://b/t"), CorruptLogError);
});

Deno.test("parseDeletionVectorBitmap reads the inline example of PROTOCOL.md", () => {
  const bytes = decodeZ85("wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L");
  deepEqual(parseDeletionVectorBitmap(bytes), [3, 4, 7, 11, 18, 29]);
});

/** A RoaringTreemap built by hand: array, bitmap and run containers in two buckets. */
function handBuiltTreemap(): { bytes: Uint8Array; rows: number[] } {
  // Bucket 0: 32-bit bitmap without run containers: key 0 array {1, 5, 65535}, key 2 bitmap of
  // the 5000 even numbers 0..9998 (more than 4096 values, so a bitset container).
  const evens = Array.from({ length: 5000 }, (_, i) => i * 2);
  const bitset = new Uint8Array(8192);
  for (const v of evens) bitset[v >> 3]! |= 1 << (v & 7);
  const a = new Bytes().u32(12346).u32(2) // cookie, container count
    .u16(0).u16(3 - 1).u16(2).u16(5000 - 1) // keys and cardinalities - 1
    .u32(0).u32(0) // offset header (ignored by the reader)
    .u16(1).u16(5).u16(65535)
    .raw(bitset)
    .done();
  // Bucket 1: with run containers: key 0 run [100..103], key 1 array {7}; 2 containers (< 4: no
  // offset header).
  const b = new Bytes().u32(12347 | ((2 - 1) << 16)) // cookie with size - 1 in the high bits
    .raw(new Uint8Array([0b01])) // container 0 is a run container
    .u16(0).u16(4 - 1).u16(1).u16(1 - 1)
    .u16(1).u16(100).u16(3) // one run: start 100, length - 1 = 3
    .u16(7)
    .done();
  const bytes = new Bytes().u32(DELETION_VECTOR_MAGIC).u64(2)
    .u32(0).raw(a)
    .u32(1).raw(b)
    .done();
  const high = 2 ** 32;
  const rows = [
    1,
    5,
    65535,
    ...evens.map((v) => 2 * 65536 + v),
    high + 100,
    high + 101,
    high + 102,
    high + 103,
    high + 65536 + 7,
  ];
  return { bytes, rows };
}

Deno.test("parseDeletionVectorBitmap reads a hand-built RoaringTreemap", () => {
  const { bytes, rows } = handBuiltTreemap();
  deepEqual(parseDeletionVectorBitmap(bytes), rows);
});

Deno.test("parseDeletionVectorBitmap refuses a bad magic number and truncation", () => {
  const { bytes } = handBuiltTreemap();
  const bad = bytes.slice();
  bad[0] = 0;
  throws(() => parseDeletionVectorBitmap(bad), /bad magic number/);
  throws(() => parseDeletionVectorBitmap(bytes.subarray(0, 40)), /truncated/);
});

Deno.test("crc32 matches the standard check value", () => {
  equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

function dvFile(bitmap: Uint8Array, crc = crc32(bitmap)): Uint8Array {
  const out = new Uint8Array(1 + 4 + bitmap.length + 4);
  const view = new DataView(out.buffer);
  out[0] = 1;
  view.setUint32(1, bitmap.length, false);
  out.set(bitmap, 5);
  view.setUint32(5 + bitmap.length, crc, false);
  return out;
}

Deno.test("loadDeletionVector reads a file-based DV at its offset and checks it", async () => {
  const storage = createMemoryStorage();
  const { bytes, rows } = handBuiltTreemap();
  const path = relativeDeletionVectorPath("ab^-aqEH.-t@S}K{vb[*k^");
  await storage.put(path, dvFile(bytes));
  const descriptor = {
    storageType: "u" as const,
    pathOrInlineDv: "ab^-aqEH.-t@S}K{vb[*k^",
    offset: 1,
    sizeInBytes: bytes.length,
    cardinality: rows.length,
  };
  deepEqual(await loadDeletionVector(storage, descriptor), rows);
  await rejects(
    loadDeletionVector(storage, { ...descriptor, cardinality: 3 }),
    /cardinality says 3/,
  );
  await storage.put(path, dvFile(bytes, 12345));
  await rejects(loadDeletionVector(storage, descriptor), /checksum mismatch/);
});

Deno.test("loadDeletionVector reads an inline DV", async () => {
  const storage = createMemoryStorage();
  const rows = await loadDeletionVector(storage, {
    storageType: "i",
    pathOrInlineDv: "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
    sizeInBytes: 40,
    cardinality: 6,
  });
  deepEqual(rows, [3, 4, 7, 11, 18, 29]);
});
