import assert from "node:assert/strict";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { clientAppId } from "../../client/protocol.ts";
import { createFreshSnapshots } from "./client_producers.ts";
import { createTestTable, dataFiles, post, rows, testRunner } from "./test_util.ts";

const P = clientAppId("p-1");

Deno.test("a client's rules at the runner: next is new, a retry is a duplicate, a gap is 409", async () => {
  const storage = await createTestTable();
  const runner = testRunner(storage);
  try {
    const first = await post(runner, { producer: P, seq: 7, rows: rows(2) });
    assert.equal(first.status, 200, "an unknown producer may start anywhere");
    const v1 = (await first.json()).version;
    const retry = await post(runner, { producer: P, seq: 7, rows: rows(2) });
    assert.deepEqual(await retry.json(), { version: v1, rows: 2, duplicate: true });
    const files = dataFiles(storage);
    const gap = await post(runner, { producer: P, seq: 9 });
    assert.equal(gap.status, 409);
    const body = await gap.json();
    assert.equal(body.error, "sequence_gap");
    assert.equal(body.committedSeq, 7);
    assert.equal(body.written, "no");
    assert.deepEqual(dataFiles(storage), files, "a gap writes nothing");
    assert.equal((await loadSnapshot(storage)).version, v1);
    assert.equal((await post(runner, { producer: P, seq: 8 })).status, 200);
    // An edge's producer (its id holds a `#`) may still skip seqs.
    assert.equal((await post(runner, { producer: "edge#ab", seq: 1 })).status, 200);
    assert.equal((await post(runner, { producer: "edge#ab", seq: 5 })).status, 200);
  } finally {
    await runner.close();
  }
});

Deno.test("a gap against a stale in-memory snapshot is checked on a fresh load: committed, not 409", async () => {
  const storage = await createTestTable();
  const a = testRunner(storage);
  const b = testRunner(storage);
  try {
    assert.equal((await post(b, { producer: P, seq: 1 })).status, 200);
    await a.ready();
    assert.equal((await post(a, { producer: P, seq: 2 })).status, 200);
    // The client got seq 2 acknowledged through `a`, and sends seq 3 to `b`, whose snapshot says 1.
    assert.equal(b.tableStats("events")?.version, 1);
    const res = await post(b, { producer: P, seq: 3, rows: rows(4, 100) });
    assert.equal(res.status, 200, JSON.stringify(await res.clone().json()));
    const s = await loadSnapshot(storage);
    assert.equal(s.txns.get(P)?.version, 3);
    assert.equal(s.version, 3);
    // A stranger to `b`'s snapshot that the table knows: its gap is found at commit time.
    const c = testRunner(storage);
    try {
      assert.equal((await post(c, { producer: clientAppId("q"), seq: 1 })).status, 200);
      assert.equal((await post(a, { producer: clientAppId("q"), seq: 2 })).status, 200);
      assert.equal((await post(a, { producer: P, seq: 4 })).status, 200);
      const gap = await post(c, { producer: P, seq: 9 });
      assert.equal(gap.status, 409);
      assert.equal((await gap.json()).committedSeq, 4);
      assert.equal((await loadSnapshot(storage)).version, 6, "nothing written");
    } finally {
      await c.close();
    }
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("fresh snapshots: a caller never gets a load that started before it asked", async () => {
  const started: ((s: Snapshot) => void)[] = [];
  const fresh = createFreshSnapshots(() => new Promise<Snapshot>((r) => started.push(r)));
  const first = fresh.load();
  const second = fresh.load(); // the first load is running: wait for the next
  const third = fresh.load();
  assert.equal(started.length, 1);
  started[0]!({ version: 1 } as Snapshot);
  assert.equal((await first).version, 1);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(started.length, 2, "one more load for the two that waited");
  started[1]!({ version: 2 } as Snapshot);
  assert.equal((await second).version, 2);
  assert.equal((await third).version, 2);
});
