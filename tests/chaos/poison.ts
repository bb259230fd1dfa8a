/**
 * Poison requests of the chaos run: bodies a hostile or broken client sends, each of which the edge
 * must answer with a 4xx and write nothing of. Every poison that carries rows uses keys that no
 * valid request uses, so the invariant check can prove none of them reached the table.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { createRng, type Rng } from "./rng.ts";

/** The chaos table's columns (config short form); partitioned by `day` and `region`. */
export const CHAOS_SCHEMA = {
  key: "string not null",
  ts: "timestamp not null",
  region: "string not null",
  n: "integer",
  x: "double",
  day: "date not null",
} as const;

/** Partition columns of the chaos table. */
export const CHAOS_PARTITIONS = ["day", "region"];

const REGIONS = ["eu", "us", "ap"];

/** One valid event with the unique key `key`. */
export function validEvent(key: string, i: number): Record<string, unknown> {
  const ms = Date.UTC(2026, 10, 1 + (i % 5), 8, 0, 0) + (i % 86_400_000);
  return {
    key,
    ts: new Date(ms).toISOString(),
    region: REGIONS[i % REGIONS.length],
    n: i % 1000,
    x: i / 8,
    day: new Date(ms).toISOString().slice(0, 10),
  };
}

/** A poison request: its body, content type, and the keys it carries (which must never appear). */
export interface Poison {
  kind: string;
  body: Uint8Array;
  contentType: string;
  keys: string[];
}

const enc = new TextEncoder();

function json(kind: string, events: Record<string, unknown>[], raw?: string): Poison {
  return {
    kind,
    body: enc.encode(raw ?? JSON.stringify(events)),
    contentType: "application/json",
    keys: events.map((e) => String(e.key)),
  };
}

const ARROW_FIELDS = {
  key: new arrow.Field("key", new arrow.Utf8(), false),
  ts: new arrow.Field("ts", new arrow.TimestampMicrosecond("UTC"), false),
  region: new arrow.Field("region", new arrow.Utf8(), false),
  n: new arrow.Field("n", new arrow.Int32(), true),
  x: new arrow.Field("x", new arrow.Float64(), true),
  day: new arrow.Field("day", new arrow.DateDay(), false),
};

function utf8Data(values: string[]): arrow.Data<arrow.Utf8> {
  const bytes = values.map((v) => enc.encode(v));
  const offsets = new Int32Array(values.length + 1);
  for (let i = 0; i < bytes.length; i++) offsets[i + 1] = offsets[i]! + bytes[i]!.length;
  const data = new Uint8Array(offsets[values.length]!);
  bytes.forEach((b, i) => data.set(b, offsets[i]!));
  return arrow.makeData({
    type: new arrow.Utf8(),
    length: values.length,
    valueOffsets: offsets,
    data,
  });
}

/** An Arrow IPC stream of the chaos columns, with `override` replacing some columns' data. */
function arrowPoison(
  kind: string,
  keys: string[],
  override: Partial<Record<keyof typeof ARROW_FIELDS, arrow.Data>>,
  fields: Partial<Record<keyof typeof ARROW_FIELDS, arrow.Field>> = {},
): Poison {
  const n = keys.length;
  const base: Record<keyof typeof ARROW_FIELDS, arrow.Data> = {
    key: utf8Data(keys),
    ts: arrow.makeData({
      type: new arrow.TimestampMicrosecond("UTC"),
      length: n,
      data: new BigInt64Array(n).fill(1_790_000_000_000_000n),
    }),
    region: utf8Data(keys.map(() => "eu")),
    n: arrow.makeData({ type: new arrow.Int32(), length: n, data: new Int32Array(n) }),
    x: arrow.makeData({ type: new arrow.Float64(), length: n, data: new Float64Array(n) }),
    day: arrow.makeData({
      type: new arrow.DateDay(),
      length: n,
      data: new Int32Array(n).fill(20_700),
    }),
  };
  const names = Object.keys(ARROW_FIELDS) as (keyof typeof ARROW_FIELDS)[];
  const schema = new arrow.Schema(names.map((k) => fields[k] ?? ARROW_FIELDS[k]));
  const children = names.map((k) => override[k] ?? base[k]);
  const struct = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: n,
    nullCount: 0,
    children,
  });
  const batch = new arrow.RecordBatch(schema, struct);
  return {
    kind,
    body: arrow.tableToIPC(new arrow.Table(schema, [batch]), "stream"),
    contentType: "application/vnd.apache.arrow.stream",
    keys,
  };
}

/** Every kind of poison: `make(rng, key)` builds one whose keys start with `key`. */
export function poisonKinds(): { kind: string; make: (rng: Rng, key: string) => Poison }[] {
  return POISON_MAKERS.map((make, i) => {
    const probe = make(createRng(i), "probe");
    return { kind: probe.kind, make };
  });
}

/** Makes a poison of a kind chosen by `rng`; `key` prefixes the keys it carries. */
export function makePoison(rng: Rng, key: string): Poison {
  return rng.pick(POISON_MAKERS)(rng, key);
}

const POISON_MAKERS: ((rng: Rng, key: string) => Poison)[] = (() => {
  const maker = (i: number) => (rng: Rng, key: string) => {
    const k = (j: number) => `${key}-${j}`;
    const good = (j: number) => validEvent(k(j), j);
    return kindsOf(rng, k, good)[i]!();
  };
  return Array.from(
    { length: kindsOf(createRng(0), String, () => ({})).length },
    (_, i) => maker(i),
  );
})();

function kindsOf(
  rng: Rng,
  k: (i: number) => string,
  good: (i: number) => Record<string, unknown>,
): (() => Poison)[] {
  return [
    () => {
      const text = JSON.stringify([good(0), good(1)]);
      return json("json-truncated", [good(0), good(1)], text.slice(0, rng.int(1, text.length - 1)));
    },
    () => json("json-wrong-type", [{ ...good(0), n: "not a number" }]),
    () => json("json-date-int-max", [{ ...good(0), day: 2147483647 }]),
    () => json("json-date-beyond", [good(0), { ...good(1), day: "10000-01-01" }]),
    () => json("json-date-epoch-days-beyond", [{ ...good(0), day: 3_000_000 }]),
    () => json("json-ts-beyond", [{ ...good(0), ts: 9e15 }]),
    () => json("json-ts-before-year-1", [{ ...good(0), ts: "0000-12-31T23:59:59Z" }]),
    () =>
      json(
        "json-infinity",
        [good(0)],
        JSON.stringify([good(0)]).replace(/"x":[^,}]+/, '"x":1e400'),
      ),
    () =>
      json(
        "json-lone-surrogate",
        [good(0)],
        JSON.stringify([good(0)]).replace(/"region":"eu"/, '"region":"e\\ud800"').replace(
          /"region":"(us|ap)"/,
          '"region":"\\udc00x"',
        ),
      ),
    () => json("json-unknown-field", [{ ...good(0), surprise: 1 }]),
    () => json("json-null-required", [{ ...good(0), region: null }]),
    () => json("json-huge-partition", [{ ...good(0), region: "r".repeat(rng.int(256, 2000)) }]),
    () => json("json-huge-string", [{ ...good(0), key: k(0) + "s".repeat(9 * 1024 * 1024) }]),
    () => json("json-empty", [], "[]"),
    () => ({
      kind: "ndjson-bad-line",
      body: enc.encode(`${JSON.stringify(good(0))}\n{"key": oops}\n`),
      contentType: "application/x-ndjson",
      keys: [k(0)],
    }),
    () => {
      const text = enc.encode(JSON.stringify([good(0)]));
      const bytes = new Uint8Array(text.length + 2);
      bytes.set(text);
      // Invalid UTF-8 inside the key string.
      const at = text.indexOf(0x2d); // the '-' of the key
      bytes.set(text.subarray(0, at));
      bytes[at] = 0xff;
      bytes[at + 1] = 0xfe;
      bytes.set(text.subarray(at), at + 2);
      return { kind: "invalid-utf8", body: bytes, contentType: "application/json", keys: [k(0)] };
    },
    () => ({
      kind: "wrong-content-type",
      body: enc.encode(JSON.stringify([good(0)])),
      contentType: "text/plain",
      keys: [k(0)],
    }),
    () => {
      const p = arrowPoison("arrow-truncated", [k(0), k(1)], {});
      return { ...p, body: p.body.slice(0, rng.int(8, p.body.length - 8)) };
    },
    () =>
      arrowPoison("arrow-short-int32-buffer", [k(0), k(1), k(2), k(3), k(4)], {
        n: arrow.makeData({ type: new arrow.Int32(), length: 5, data: new Int32Array(1) }),
      }),
    () =>
      arrowPoison("arrow-short-date-buffer", [k(0), k(1), k(2), k(3)], {
        day: arrow.makeData({ type: new arrow.DateDay(), length: 4, data: new Int32Array(1) }),
      }),
    () =>
      arrowPoison("arrow-date-beyond", [k(0)], {
        day: arrow.makeData({
          type: new arrow.DateDay(),
          length: 1,
          data: Int32Array.of(3_000_000),
        }),
      }),
    () =>
      arrowPoison("arrow-ts-beyond", [k(0)], {
        ts: arrow.makeData({
          type: new arrow.TimestampMicrosecond("UTC"),
          length: 1,
          data: BigInt64Array.of(9_000_000_000_000_000_000n),
        }),
      }),
    () =>
      arrowPoison(
        "arrow-wrong-type",
        [k(0)],
        { n: arrow.makeData({ type: new arrow.Float64(), length: 1, data: Float64Array.of(1.5) }) },
        { n: new arrow.Field("n", new arrow.Float64(), true) },
      ),
    () =>
      arrowPoison("arrow-bad-offsets", [k(0), k(1)], {
        region: arrow.makeData({
          type: new arrow.Utf8(),
          length: 2,
          valueOffsets: Int32Array.of(0, 6, 2),
          data: enc.encode("euusap"),
        }),
      }),
    () =>
      arrowPoison("arrow-offsets-past-data", [k(0), k(1)], {
        region: arrow.makeData({
          type: new arrow.Utf8(),
          length: 2,
          valueOffsets: Int32Array.of(0, 2, 4000),
          data: enc.encode("euus"),
        }),
      }),
    () => arrowPoison("arrow-huge-partition", [k(0)], { region: utf8Data(["p".repeat(300)]) }),
  ];
}
