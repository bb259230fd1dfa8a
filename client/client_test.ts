import assert from "node:assert/strict";
import { createClient, type LakestrikeClientError } from "./client.ts";

interface Seen {
  producer: string;
  sequence: number;
  body: string;
}

/** A fetch that records requests and answers from `answers` in turn (the last one repeats). */
function scripted(answers: (Response | Error | ((seen: Seen) => Response))[]) {
  const seen: Seen[] = [];
  const fetch = (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const h = new Headers(init?.headers);
    const s = {
      producer: h.get("lakestrike-producer")!,
      sequence: Number(h.get("lakestrike-sequence")),
      body: String(init?.body),
    };
    seen.push(s);
    const a = answers[Math.min(seen.length - 1, answers.length - 1)]!;
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve(typeof a === "function" ? a(s) : a.clone());
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

const ok = (version: number, extra: Record<string, unknown> = {}) =>
  Response.json({ version, rows: 1, ...extra });
const unknown503 = () =>
  Response.json({ error: "runner_unavailable", written: "unknown" }, {
    status: 503,
    headers: { "retry-after": "1" },
  });
const FAST = { retryDelayBaseMs: 1, retryDelayMaxMs: 2, retryAfterMaxMs: 5 };

Deno.test("client: a 503 written unknown and a network error are retried with the same producer, sequence and body", async () => {
  const { seen, fetch } = scripted([
    unknown503(),
    new TypeError("reset"),
    ok(4, { duplicate: true }),
  ]);
  const client = createClient({ url: "http://edge/", token: "t", table: "e", fetch, ...FAST });
  const result = await client.send([{ n: 1 }, { n: 2 }]);
  assert.equal(result.version, 4);
  assert.equal(result.duplicate, true);
  assert.equal(seen.length, 3);
  assert.equal(new Set(seen.map((s) => `${s.producer} ${s.sequence} ${s.body}`)).size, 1);
  assert.equal(seen[0]!.sequence, 1);
  assert.equal(seen[0]!.body, '[{"n":1},{"n":2}]');
  const m = client.metrics();
  assert.equal(m.retries, 2);
  assert.deepEqual(m.retriesByCause, {
    status429: 0,
    status503: 1,
    status5xx: 0,
    network: 1,
    timeout: 0,
  });
  assert.equal(m.retryAfterWaits, 1, "the 503's Retry-After is longer than the backoff");
  assert.equal(m.duplicates, 1);
  assert.equal(m.committedEvents, 2);
  assert.equal(client.nextSequence, 2);
  await client.close();
});

Deno.test("client: calls made while a batch is in flight go together in the next, with the next sequence", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: Seen[] = [];
  const fetch = (async (_url: string, init?: RequestInit) => {
    const h = new Headers(init?.headers);
    seen.push({
      producer: h.get("lakestrike-producer")!,
      sequence: Number(h.get("lakestrike-sequence")),
      body: String(init?.body),
    });
    if (seen.length === 1) await gate;
    return ok(seen.length);
  }) as typeof globalThis.fetch;
  const client = createClient({ url: "http://edge", token: "t", table: "e", fetch });
  const first = client.send({ a: 1 });
  const later = [client.send({ b: 1 }), client.send([{ c: 1 }, { c: 2 }])];
  assert.equal(client.metrics().queuedEvents, 3);
  release();
  assert.equal((await first).sequence, 1);
  const results = await Promise.all(later);
  assert.deepEqual(results.map((r) => r.sequence), [2, 2]);
  assert.equal(seen[1]!.body, '[{"b":1},{"c":1},{"c":2}]');
  await client.close();
  await assert.rejects(client.send({ d: 1 }), (e: LakestrikeClientError) => e.code === "closed");
});

Deno.test("client: a 409 with nothing written takes the expected sequence; after an uncertain attempt it gives up and renews the producer", async () => {
  const gap = Response.json({ error: "sequence_conflict", expectedSequence: 58, written: "no" }, {
    status: 409,
  });
  {
    const { seen, fetch } = scripted([gap, ok(9)]);
    const client = createClient({
      url: "http://e",
      token: "t",
      table: "e",
      producerId: "p",
      fetch,
    });
    const r = await client.send({ a: 1 });
    assert.deepEqual([seen[0]!.sequence, seen[1]!.sequence, r.sequence], [1, 58, 58]);
    assert.equal(client.nextSequence, 59);
    assert.equal(client.metrics().sequenceResets, 1);
  }
  {
    const { fetch } = scripted([unknown503(), gap]);
    const client = createClient({
      url: "http://e",
      token: "t",
      table: "e",
      producerId: "p",
      fetch,
      ...FAST,
    });
    await assert.rejects(
      client.send({ a: 1 }),
      (e: LakestrikeClientError) => e.written === "unknown" && e.status === 409,
    );
    assert.notEqual(client.producerId, "p", "the given-up batch may still commit under p");
    assert.equal(client.nextSequence, 1);
    assert.equal(client.metrics().producerRenewals, 1);
  }
});

Deno.test("client: a 409 never renumbers a batch to a sequence already acknowledged", async () => {
  const stale = Response.json({ error: "sequence_gap", expectedSequence: 1, written: "no" }, {
    status: 409,
  });
  const { seen, fetch } = scripted([ok(1), stale]);
  const client = createClient({ url: "http://e", token: "t", table: "e", producerId: "p", fetch });
  await client.send({ a: 1 });
  await assert.rejects(
    client.send({ b: 1 }),
    (e: LakestrikeClientError) => e.status === 409 && e.written === "no",
  );
  assert.deepEqual(seen.map((s) => s.sequence), [1, 2], "sequence 1 is never sent again");
  assert.equal(client.metrics().sequenceResets, 0);
});

Deno.test("client: a definitive refusal gives up with written no and frees the sequence; attemptsMax bounds retries", async () => {
  const bad = Response.json({ error: "schema_violation", row: 0 }, { status: 422 });
  const { seen, fetch } = scripted([bad, ok(3)]);
  const client = createClient({ url: "http://e", token: "t", table: "e", fetch });
  await assert.rejects(
    client.send({ bad: true }),
    (e: LakestrikeClientError) => e.written === "no" && e.code === "schema_violation",
  );
  assert.equal((await client.send({ good: true })).sequence, 1, "sequence 1 was never taken");
  assert.equal(seen.length, 2);

  const busy = Response.json({ error: "buffer_full", written: "no" }, { status: 429 });
  const always = scripted([busy]);
  const limited = createClient({
    url: "http://e",
    token: "t",
    table: "e",
    fetch: always.fetch,
    attemptsMax: 3,
    ...FAST,
  });
  await assert.rejects(
    limited.send({ a: 1 }),
    (e: LakestrikeClientError) => e.written === "no" && e.code === "buffer_full",
  );
  assert.equal(always.seen.length, 3);
  assert.equal(limited.metrics().retriesByCause.status429, 2);
  assert.equal(limited.metrics().gaveUpEvents, 1);
});

Deno.test("client: a request without an answer in time is aborted and retried", async () => {
  let calls = 0;
  const fetch = ((_url: string, init?: RequestInit) => {
    calls++;
    if (calls > 1) return Promise.resolve(ok(2, { duplicate: true }));
    return new Promise<Response>((_, reject) => {
      init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted")));
    });
  }) as typeof globalThis.fetch;
  const client = createClient({
    url: "http://e",
    token: "t",
    table: "e",
    fetch,
    requestTimeoutMs: 20,
    ...FAST,
  });
  assert.equal((await client.send({ a: 1 })).duplicate, true);
  assert.equal(client.metrics().retriesByCause.timeout, 1);
});

Deno.test("client: the client module uses no Deno API (it runs in Node and browsers)", async () => {
  for (const file of ["client.ts", "protocol.ts", "mod.ts"]) {
    const text = await Deno.readTextFile(new URL(file, import.meta.url));
    assert.doesNotMatch(text, /\bDeno\./, file);
    assert.doesNotMatch(text, /^import .* from "(?!\.\/)/m, `${file} imports only ./ modules`);
  }
});
