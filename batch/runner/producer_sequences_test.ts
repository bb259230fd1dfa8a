import assert from "node:assert/strict";
import fc from "fast-check";
import type { Txn } from "../../core/log/actions.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import {
  createProducerSequences,
  heldBackSeqs,
  type ProducerSeq,
  txnsOf,
} from "./producer_sequences.ts";

const DAY_MS = 86_400_000;

/** A snapshot at `version` holding `txns`, whose txns expire after one day. */
function snapshotWith(version: number, txns: Txn[]): Snapshot {
  return {
    version,
    metadata: {
      configuration: { "delta.setTransactionRetentionDuration": "interval 1 days" },
    },
    txns: new Map(txns.map((t) => [t.appId, t])),
  } as unknown as Snapshot;
}

Deno.test("status against the table: above the txn is new, at it a duplicate, below it stale", () => {
  const seqs = createProducerSequences({ producersMax: 10, recentSeqsMax: 4 });
  const s = snapshotWith(12, [{ appId: "a", version: 5, lastUpdated: 0 }]);
  assert.deepEqual(seqs.status("a", 6, s, 1), { kind: "new" });
  assert.deepEqual(seqs.status("a", 5, s, 1), { kind: "duplicate", version: 12 });
  assert.deepEqual(seqs.status("a", 4, s, 1), { kind: "stale", committedSeq: 5 });
  assert.deepEqual(seqs.status("b", 1, s, 1), { kind: "new" }, "an unknown producer");
  assert.deepEqual(seqs.status("a", 4, undefined, 1), { kind: "new" }, "no snapshot yet");
});

Deno.test("status: an expired txn no longer holds its producer back", () => {
  const seqs = createProducerSequences({ producersMax: 10, recentSeqsMax: 4 });
  const s = snapshotWith(3, [{ appId: "a", version: 5, lastUpdated: 0 }]);
  assert.equal(seqs.status("a", 1, s, DAY_MS - 1).kind, "stale");
  assert.deepEqual(seqs.status("a", 1, s, DAY_MS + 1), { kind: "new" });
});

Deno.test("status: what the committer remembers wins, with the exact version of each seq", () => {
  const seqs = createProducerSequences({ producersMax: 10, recentSeqsMax: 4 });
  seqs.remember("a", 3, 7);
  seqs.remember("a", 4, 8);
  // The table says 4 at version 20 (a later commit of other producers): the remembered version is
  // the one the batch was committed at.
  const s = snapshotWith(20, [{ appId: "a", version: 4, lastUpdated: 0 }]);
  assert.deepEqual(seqs.status("a", 3, s, 1), { kind: "duplicate", version: 7 });
  assert.deepEqual(seqs.status("a", 4, s, 1), { kind: "duplicate", version: 8 });
  assert.deepEqual(seqs.status("a", 2, s, 1), { kind: "stale", committedSeq: 4 });
  assert.deepEqual(seqs.status("a", 5, s, 1), { kind: "new" });
});

Deno.test("remember: a late lower seq is listed but never lowers the producer's seq", () => {
  const seqs = createProducerSequences({ producersMax: 10, recentSeqsMax: 4 });
  seqs.remember("a", 9, 1);
  seqs.remember("a", 2, 2);
  assert.deepEqual(seqs.status("a", 2, undefined, 0), { kind: "duplicate", version: 2 });
  assert.deepEqual(seqs.status("a", 5, undefined, 0), { kind: "stale", committedSeq: 9 });
});

Deno.test("remember: bounded per producer and in producers, least recently committed first", () => {
  const seqs = createProducerSequences({ producersMax: 2, recentSeqsMax: 2 });
  seqs.remember("a", 1, 1);
  seqs.remember("a", 2, 2);
  seqs.remember("a", 3, 3);
  assert.equal(seqs.status("a", 1, undefined, 0).kind, "stale", "seq 1 fell out of the window");
  assert.equal(seqs.status("a", 2, undefined, 0).kind, "duplicate");
  seqs.remember("b", 1, 4);
  seqs.remember("a", 4, 5); // a is now the most recent
  seqs.remember("c", 1, 6); // drops b, the least recently committed
  assert.equal(seqs.producers, 2);
  assert.deepEqual(seqs.status("b", 1, undefined, 0), { kind: "new" });
  assert.equal(seqs.status("a", 4, undefined, 0).kind, "duplicate");
});

Deno.test("status is a duplicate exactly for the recent remembered seqs (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 45 }),
      (committed, recentSeqsMax, probe) => {
        const seqs = createProducerSequences({ producersMax: 4, recentSeqsMax });
        committed.forEach((seq, version) => seqs.remember("p", seq, version));
        const status = seqs.status("p", probe, undefined, 0);
        const max = committed.length === 0 ? -1 : Math.max(...committed);
        const recent = committed.map((seq, version) => ({ seq, version })).slice(-recentSeqsMax);
        const exact = recent.find((r) => r.seq === probe);
        if (probe > max) return status.kind === "new";
        if (exact !== undefined) {
          return status.kind === "duplicate" && status.version === exact.version;
        }
        return status.kind === "stale" && status.committedSeq === max;
      },
    ),
  );
});

Deno.test("heldBackSeqs: a failed batch holds back its producer's higher seqs only", () => {
  const b = (producer: string, seq: number): ProducerSeq => ({ producer, seq });
  const a1 = b("a", 1), a2 = b("a", 2), a3 = b("a", 3), b1 = b("b", 1), b2 = b("b", 2);
  const held = heldBackSeqs([a1, a2, a3, b1, b2], [a1, a3, b1, b2]);
  assert.deepEqual([...held], [[a3, 2]]);
  assert.equal(heldBackSeqs([a1, b1], [a1, b1]).size, 0);
  // Out of order in the group: the lowest failed seq decides.
  assert.deepEqual([...heldBackSeqs([a3, a2, a1], [a1])], []);
  assert.deepEqual([...heldBackSeqs([a3, a1, a2], [a2, a3])], [[a2, 1], [a3, 1]]);
});

Deno.test("txnsOf: one txn per producer at its highest seq, never below the table's", () => {
  const s = snapshotWith(3, [{ appId: "b", version: 9, lastUpdated: 0 }]);
  const txns = txnsOf(
    [
      { producer: "a", seq: 2 },
      { producer: "b", seq: 4 },
      { producer: "a", seq: 5 },
      { producer: "a", seq: 3 },
    ],
    s,
    77,
  );
  assert.deepEqual(txns, [
    { appId: "a", version: 5, lastUpdated: 77 },
    { appId: "b", version: 9, lastUpdated: 77 },
  ]);
});

Deno.test("status of a client producer: the next seq is new, beyond it a gap; edges may skip", () => {
  const seqs = createProducerSequences({ producersMax: 10, recentSeqsMax: 4 });
  const p = "lakestrike-client:p";
  const s = snapshotWith(12, [
    { appId: p, version: 5, lastUpdated: 0 },
    { appId: "edge#1", version: 5, lastUpdated: 0 },
  ]);
  assert.deepEqual(seqs.status(p, 6, s, 1), { kind: "new" });
  assert.deepEqual(seqs.status(p, 7, s, 1), { kind: "gap", committedSeq: 5 });
  assert.deepEqual(seqs.status(p, 5, s, 1), { kind: "duplicate", version: 12 });
  assert.deepEqual(seqs.status(p, 4, s, 1), { kind: "stale", committedSeq: 5 });
  assert.deepEqual(seqs.status(p, 99, s, DAY_MS + 1), { kind: "new" }, "expired: starts anywhere");
  assert.deepEqual(seqs.status("lakestrike-client:q", 99, s, 1), { kind: "new" }, "unknown");
  assert.deepEqual(seqs.status("edge#1", 7, s, 1), { kind: "new" });
});

Deno.test("memory stays at producersMax under many producers; the snapshot's txns answer the rest", () => {
  const seqs = createProducerSequences({ producersMax: 1_000, recentSeqsMax: 4 });
  const n = 200_000;
  const txns: Txn[] = [];
  for (let i = 0; i < n; i++) {
    const p = `lakestrike-client:p${i}`;
    seqs.remember(p, 3, 10 + i);
    txns.push({ appId: p, version: 3, lastUpdated: 0 });
  }
  assert.equal(seqs.producers, 1_000);
  const s = snapshotWith(10 + n, txns);
  // Forgotten by the runner, known to the table: still a duplicate, and the next one is new.
  assert.deepEqual(seqs.status("lakestrike-client:p0", 3, s, 1), {
    kind: "duplicate",
    version: 10 + n,
  });
  assert.deepEqual(seqs.status("lakestrike-client:p0", 4, s, 1), { kind: "new" });
  // Remembered: the exact version.
  assert.deepEqual(seqs.status(`lakestrike-client:p${n - 1}`, 3, s, 1), {
    kind: "duplicate",
    version: 10 + n - 1,
  });
});
