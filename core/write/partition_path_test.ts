import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DATA_FILE_NAME_BYTES_RESERVED,
  escapePartitionValue,
  HIVE_DEFAULT_PARTITION,
  OBJECT_KEY_BYTES_MAX,
  PARTITION_PATH_BYTES_MAX,
  PARTITION_SEGMENT_BYTES_MAX,
  partitionPath,
  PartitionPathError,
  TABLE_ROOT_BYTES_RESERVED,
} from "./partition_path.ts";

Deno.test("escapePartitionValue: escapes Spark's characters as upper-case %XX", () => {
  assert.equal(escapePartitionValue(`"#%'*/:=?\\`), "%22%23%25%27%2A%2F%3A%3D%3F%5C");
  assert.equal(escapePartitionValue("\x7F{[]^"), "%7F%7B%5B%5D%5E");
  assert.equal(escapePartitionValue("a\x01b\x1Fc\nd\te"), "a%01b%1Fc%0Ad%09e");
  assert.equal(escapePartitionValue("2024-01-01 10:00:00"), "2024-01-01 10%3A00%3A00");
});

Deno.test("escapePartitionValue: keeps spaces, unicode and other punctuation", () => {
  assert.equal(escapePartitionValue("a b+c,d;e(f)g!h~i@j$k&l"), "a b+c,d;e(f)g!h~i@j$k&l");
  assert.equal(escapePartitionValue("zürich 東京 😀"), "zürich 東京 😀");
  assert.equal(escapePartitionValue("<>|"), "<>|");
});

Deno.test("escapePartitionValue: null and empty become the Hive default partition", () => {
  assert.equal(escapePartitionValue(null), HIVE_DEFAULT_PARTITION);
  assert.equal(escapePartitionValue(""), HIVE_DEFAULT_PARTITION);
});

Deno.test("partitionPath: columns in order, names escaped too", () => {
  assert.equal(partitionPath([], {}), "");
  assert.equal(
    partitionPath(["b", "a=x"], { "a=x": "1/2", b: null }),
    "b=__HIVE_DEFAULT_PARTITION__/a%3Dx=1%2F2/",
  );
});

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

Deno.test("partitionPath: refuses a directory name over 255 bytes (ENAMETOOLONG on local disk)", () => {
  assert.equal(partitionPath(["p"], { p: "x".repeat(253) }), `p=${"x".repeat(253)}/`);
  // The 300-character value.
  assert.throws(
    () => partitionPath(["region"], { region: "x".repeat(300) }),
    (e) => e instanceof PartitionPathError && e.column === "region" && /307 bytes/.test(e.message),
  );
  // Bytes, not characters: 128 "é" are 256 bytes; escapes count three bytes each.
  assert.throws(() => partitionPath(["p"], { p: "é".repeat(127) }), PartitionPathError);
  assert.throws(() => partitionPath(["p"], { p: "/".repeat(85) }), PartitionPathError);
  assert.throws(() => partitionPath(["p"], { p: "a\ud800" }), /lone surrogate/);
});

Deno.test("partitionPath: refuses directories that leave no room in a 1,024-byte object key", () => {
  const values = { a: "x".repeat(250), b: "y".repeat(250), c: "z".repeat(250) };
  assert.equal(utf8Length(partitionPath(["a", "b"], values)), 2 * 253);
  assert.throws(
    () => partitionPath(["a", "b", "c"], values),
    (e) =>
      e instanceof PartitionPathError && e.column === "c" && /1024-byte object key/.test(e.message),
  );
  assert.equal(
    PARTITION_PATH_BYTES_MAX + TABLE_ROOT_BYTES_RESERVED + DATA_FILE_NAME_BYTES_RESERVED,
    OBJECT_KEY_BYTES_MAX,
  );
});

Deno.test("property: partitionPath is refused or within the limits, one segment per column", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.string({ maxLength: 40 }),
          fc.option(fc.string({ unit: "binary", maxLength: 200 })),
        ),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
      (pairs) => {
        const columns = [...new Set(pairs.map(([c]) => c))];
        const values = Object.fromEntries(pairs);
        let dir: string;
        try {
          dir = partitionPath(columns, values);
        } catch (e) {
          assert.ok(e instanceof PartitionPathError, String(e));
          return;
        }
        const segments = dir.split("/");
        assert.equal(segments.pop(), "");
        assert.equal(segments.length, columns.length);
        for (const s of segments) assert.ok(utf8Length(s) <= PARTITION_SEGMENT_BYTES_MAX, s);
        assert.ok(utf8Length(dir) <= PARTITION_PATH_BYTES_MAX);
      },
    ),
  );
});
