import assert from "node:assert/strict";
import fc from "fast-check";
import { CorruptLogError } from "../errors.ts";
import { type Action, parseActions, serializeActions } from "./actions.ts";
import { decodeLogPath, encodeLogPath } from "./paths.ts";

const ADD_LINE =
  '{"add":{"path":"x=A%252FA/part-0.parquet","partitionValues":{"x":"A/A"},"size":460,"modificationTime":1,"dataChange":true}}';

Deno.test("parseActions decodes paths once, skips blank lines and unknown actions", () => {
  const text = `\n${ADD_LINE}\n\n{"futureAction":{"a":1}}\n{"txn":{"appId":"a","version":3}}`;
  const actions = parseActions(text, "version 0");
  assert.equal(actions.length, 2);
  const add = actions[0]!;
  assert.ok("add" in add);
  assert.equal(add.add.path, "x=A%2FA/part-0.parquet");
  assert.deepEqual(actions[1], { txn: { appId: "a", version: 3 } });
});

Deno.test("parseActions names the file and line of malformed JSON", () => {
  const text = `${ADD_LINE}\n{"txn":{"appId":"a",\n`;
  assert.throws(
    () => parseActions(text, "version 3"),
    (e: unknown) =>
      e instanceof CorruptLogError && e.message === "Cannot read version 3: invalid JSON on line 2",
  );
});

Deno.test("parseActions rejects known actions with missing required fields", () => {
  assert.throws(() => parseActions('{"add":{"size":1}}', "version 1"), CorruptLogError);
  assert.throws(() => parseActions('{"protocol":{}}', "version 1"), CorruptLogError);
  assert.throws(() => parseActions("[1,2]", "version 1"), CorruptLogError);
  assert.throws(() => parseActions('{"add":{"path":"a%zz"}}', "version 1"), CorruptLogError);
});

Deno.test("serializeActions writes one compact line per action and encodes paths like Spark", () => {
  const actions: Action[] = [
    { commitInfo: { operation: "WRITE" } },
    {
      add: {
        path: "special p@#h",
        partitionValues: {},
        size: 100,
        modificationTime: 10,
        dataChange: true,
      },
    },
    { remove: { path: "x=A%2FA/f.parquet", dataChange: true, deletionTimestamp: 5 } },
  ];
  const text = serializeActions(actions);
  const lines = text.split("\n");
  assert.equal(lines.length, 4);
  assert.equal(lines[3], "");
  assert.ok(lines[1]!.includes('"path":"special%20p@%23h"'));
  assert.ok(lines[2]!.includes('"path":"x=A%252FA/f.parquet"'));
  assert.deepEqual(parseActions(text, "t"), actions);
});

Deno.test("log text written by Spark survives parse + serialize unchanged", () => {
  const lines = [
    ADD_LINE,
    '{"remove":{"path":"special%20p@%23h","deletionTimestamp":1697588004164,"dataChange":true}}',
    '{"add":{"path":"as_timestamp=2021-09-08%2011%253A11%253A11/p.parquet","partitionValues":{},"size":1,"modificationTime":2,"dataChange":true}}',
    '{"add":{"path":"s3://bucket/t/a%20b.parquet","partitionValues":{},"size":1,"modificationTime":2,"dataChange":true}}',
  ];
  const text = lines.join("\n") + "\n";
  assert.equal(serializeActions(parseActions(text, "t")), text);
});

Deno.test("absolute URIs keep their scheme", () => {
  const [a] = parseActions(
    '{"add":{"path":"s3://bucket/t/a%20b.parquet","partitionValues":{},"size":1,"modificationTime":2,"dataChange":true}}',
    "t",
  );
  assert.ok(a && "add" in a);
  assert.equal(a.add.path, "s3://bucket/t/a b.parquet");
  assert.equal(encodeLogPath(a.add.path), "s3://bucket/t/a%20b.parquet");
});

Deno.test("numbers stay exact through the codec", () => {
  const text = '{"txn":{"appId":"a","version":9007199254740991,"lastUpdated":1748108450632}}\n';
  assert.equal(serializeActions(parseActions(text, "t")), text);
});

Deno.test("property: decodeLogPath(encodeLogPath(p)) === p for any path", () => {
  fc.assert(fc.property(fc.string({ unit: "grapheme" }), (p) => {
    assert.equal(decodeLogPath(encodeLogPath(p)), p);
  }));
  fc.assert(fc.property(fc.string({ unit: "binary" }), (p) => {
    // Lone surrogates cannot be percent-encoded as UTF-8; everything else must round trip.
    if (/[\uD800-\uDFFF]/.test(p.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ""))) return;
    assert.equal(decodeLogPath(encodeLogPath(p)), p);
  }));
});

Deno.test("property: serialize then parse gives the actions back", () => {
  const arbAdd = fc.record({
    path: fc.string({ minLength: 1 }),
    partitionValues: fc.dictionary(fc.string(), fc.option(fc.string(), { nil: null })),
    size: fc.nat(),
    modificationTime: fc.nat(),
    dataChange: fc.boolean(),
  });
  fc.assert(fc.property(fc.array(arbAdd), (adds) => {
    const valid = adds.filter((a) => !/[\uD800-\uDFFF]/.test(a.path));
    const actions: Action[] = valid.map((add) => ({ add }));
    const back = parseActions(serializeActions(actions), "t");
    // Compare as JSON: fast-check dictionaries have a null prototype.
    assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(actions)));
    assert.deepEqual(back.map((a) => "add" in a && a.add.path), valid.map((a) => a.path));
  }));
});
