import assert from "node:assert/strict";
import fc from "fast-check";
import { scanSnapshot } from "../../core/scan/mod.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { createTestTable, post, testRunner } from "./test_util.ts";

// Property: edges that send their seqs in order (each to either of two runners on one table,
// some retried through the other runner) get every batch committed exactly once, every answer
// names a version at which the batch is visible, and the log has no gap.
Deno.test("runner property: two runners, concurrent producers with retries commit each batch once", async () => {
  const producer = fc.array(
    fc.record({ runner: fc.integer({ min: 0, max: 1 }), retry: fc.boolean() }),
    { minLength: 1, maxLength: 6 },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(producer, { minLength: 1, maxLength: 4 }), async (producers) => {
      const storage = await createTestTable();
      const limits = { requestTimeoutMs: 5_000 }; // a lost batch fails fast, not after 30 s
      const runners = [testRunner(storage, { limits }), testRunner(storage, { limits })];
      const answers: { p: number; seq: number; version: number }[] = [];
      await Promise.all(producers.map(async (sends, p) => {
        for (let i = 0; i < sends.length; i++) {
          const { runner, retry } = sends[i]!;
          const seq = i + 1;
          const rows = [{ id: p * 1000 + seq, region: "eu", v: null }];
          const targets = retry ? [runner, 1 - runner] : [runner];
          for (const r of targets) {
            const res = await post(runners[r]!, { producer: `p${p}`, seq, rows });
            assert.equal(res.status, 200);
            const body = await res.json();
            assert.equal(body.rows, 1);
            answers.push({ p, seq, version: body.version });
          }
        }
      }));
      await Promise.all(runners.map((r) => r.close()));
      const snapshot = await loadSnapshot(storage);
      const ids: number[] = [];
      for await (const batch of scanSnapshot(storage, snapshot, { columns: ["id"] })) {
        for (const row of batch) ids.push(Number(row[0]));
      }
      const expected = producers.flatMap((sends, p) => sends.map((_, i) => p * 1000 + i + 1));
      assert.deepEqual(ids.sort((a, b) => a - b), expected.sort((a, b) => a - b));
      for (const a of answers) {
        const at = await loadSnapshot(storage, { version: a.version });
        assert.ok((at.txns.get(`p${a.p}`)?.version ?? -1) >= a.seq, "answered version holds it");
      }
    }),
    { numRuns: 12 },
  );
});
