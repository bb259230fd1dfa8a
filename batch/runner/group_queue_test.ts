import assert from "node:assert/strict";
import fc from "fast-check";
import { createGroupQueue, type GroupQueueLimits, type QueuedSize } from "./group_queue.ts";

const LIMITS: GroupQueueLimits = {
  queueBatchesMax: 4,
  queueBytesMax: 1_000,
  groupBatchesMax: 3,
  groupRowsMax: 100,
  groupBytesMax: 500,
};

Deno.test("offer refuses past queueBatchesMax and queueBytesMax, and counts bytes", () => {
  const queue = createGroupQueue<QueuedSize>(LIMITS, (s) => s);
  assert.ok(queue.offer({ rows: 1, bytes: 600 }));
  assert.equal(queue.offer({ rows: 1, bytes: 401 }), false, "1,001 bytes");
  assert.ok(queue.offer({ rows: 1, bytes: 400 }));
  assert.ok(queue.offer({ rows: 1, bytes: 0 }));
  assert.ok(queue.offer({ rows: 1, bytes: 0 }));
  assert.equal(queue.offer({ rows: 1, bytes: 0 }), false, "five batches");
  assert.equal(queue.length, 4);
  assert.equal(queue.bytes, 1_000);
  queue.takeGroup();
  assert.equal(queue.bytes, 400);
});

Deno.test("takeGroup stops before a batch that would pass a group limit; a large one goes alone", () => {
  const queue = createGroupQueue<QueuedSize & { id: string }>(LIMITS, (s) => s);
  const ids = (g: { id: string }[]) => g.map((x) => x.id).join();
  queue.offer({ id: "big", rows: 1_000, bytes: 900 });
  queue.offer({ id: "a", rows: 60, bytes: 10 });
  queue.offer({ id: "b", rows: 40, bytes: 10 });
  queue.offer({ id: "c", rows: 1, bytes: 10 });
  assert.equal(ids(queue.takeGroup()), "big");
  assert.equal(ids(queue.takeGroup()), "a,b", "100 rows, c would make 101");
  assert.equal(ids(queue.takeGroup()), "c");
  assert.deepEqual(queue.takeGroup(), []);
});

Deno.test("groups keep arrival order and every group keeps its limits (property)", () => {
  const size = fc.record({ rows: fc.integer({ min: 0, max: 150 }), bytes: fc.nat(600) });
  fc.assert(
    fc.property(fc.array(size, { maxLength: 40 }), (sizes) => {
      const limits = { ...LIMITS, queueBatchesMax: 100, queueBytesMax: 100_000 };
      const queue = createGroupQueue<number>(limits, (i) => sizes[i]!);
      sizes.forEach((_, i) => assert.ok(queue.offer(i)));
      const taken: number[] = [];
      for (let group = queue.takeGroup(); group.length > 0; group = queue.takeGroup()) {
        assert.ok(group.length <= limits.groupBatchesMax);
        const rows = group.reduce((n, i) => n + sizes[i]!.rows, 0);
        const bytes = group.reduce((n, i) => n + sizes[i]!.bytes, 0);
        if (group.length > 1) {
          assert.ok(rows <= limits.groupRowsMax && bytes <= limits.groupBytesMax);
        }
        taken.push(...group);
      }
      assert.deepEqual(taken, sizes.map((_, i) => i));
      assert.equal(queue.bytes, 0);
    }),
  );
});
