import assert from "node:assert/strict";
import { InvalidArgumentError } from "../errors.ts";
import { compareBytewise, validatePath, validatePrefix } from "./path.ts";

Deno.test("validatePath accepts Delta file names and rejects bad segments", () => {
  for (
    const ok of ["a", "_delta_log/00000000000000000000.json", "d=1/x y%2F=.parquet", ".hidden/.x"]
  ) {
    validatePath(ok);
  }
  for (const bad of ["", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a\0"]) {
    assert.throws(() => validatePath(bad), InvalidArgumentError, JSON.stringify(bad));
  }
  assert.throws(
    () => validatePath("a/../b"),
    /Cannot use storage path "a\/..\/b": it has a '..' segment/,
  );
});

Deno.test("validatePrefix allows partial last segments", () => {
  for (const ok of ["", "a", "a/", "a/b", "a/.", "a/..x", "_delta_log/0000"]) validatePrefix(ok);
  for (const bad of ["/", "/a", "a//", "../x", "a/./", "\0"]) {
    assert.throws(() => validatePrefix(bad), InvalidArgumentError, JSON.stringify(bad));
  }
});

Deno.test("compareBytewise equals the order of UTF-8 bytes", () => {
  const strings = [
    "",
    "a",
    "a.json",
    "a/x",
    "a0",
    "z",
    "\u00e9",
    "\u0800",
    "\ud7ff",
    "\ue000",
    "\uff5e",
    "\uffff",
    "\u{10000}",
    "\u{1F600}",
    "\u{10FFFF}",
    "a\u{1F600}",
    "a\uffff",
  ];
  const encoder = new TextEncoder();
  const byBytes = (x: string, y: string) => {
    const a = encoder.encode(x);
    const b = encoder.encode(y);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
    }
    return a.length - b.length;
  };
  for (const x of strings) {
    for (const y of strings) {
      assert.equal(Math.sign(compareBytewise(x, y)), Math.sign(byBytes(x, y)), `${x} vs ${y}`);
    }
  }
  // The case where UTF-16 order differs.
  assert.ok("\u{1F600}" < "\uff5e");
  assert.ok(compareBytewise("\u{1F600}", "\uff5e") > 0);
});
