import assert from "node:assert/strict";
import { mapBounded } from "./concurrency.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("mapBounded: results keep the input order; never more than limit in flight", async () => {
  for (const limit of [1, 3, 16]) {
    let active = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const seen: number[] = [];
    const out = await mapBounded(items, limit, async (n, i) => {
      assert.equal(n, i);
      seen.push(i);
      peak = Math.max(peak, ++active);
      await tick((n * 7) % 5);
      active--;
      return n * 10;
    });
    assert.deepEqual(out, items.map((n) => n * 10));
    assert.deepEqual(seen, items, "items start in input order");
    assert.equal(peak, Math.min(limit, items.length));
  }
});

Deno.test("mapBounded: empty input calls nothing", async () => {
  const out = await mapBounded([], 4, () => Promise.reject(new Error("called")));
  assert.deepEqual(out, []);
});

Deno.test("mapBounded: the first failure rejects; no new item starts on that worker", async () => {
  const started: number[] = [];
  await assert.rejects(
    mapBounded([0, 1, 2, 3], 1, async (n) => {
      started.push(n);
      await tick(0);
      if (n === 1) throw new Error("boom 1");
      return n;
    }),
    /boom 1/,
  );
  assert.deepEqual(started, [0, 1]);
});
