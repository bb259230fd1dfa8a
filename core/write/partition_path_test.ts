import assert from "node:assert/strict";
import { escapePartitionValue, HIVE_DEFAULT_PARTITION, partitionPath } from "./partition_path.ts";

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
