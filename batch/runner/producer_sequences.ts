/**
 * The sequence rules of ADR 0022, apart from the committer that applies them: where a
 * `(producer, seq)` stands against what the table holds, what the committer remembers of its own
 * commits, which batches of a group a failed one holds back, and the `txn` actions a commit writes.
 *
 * Per producer the table holds the highest committed seq `c` (the producer's `txn`). The committer
 * also remembers, per producer, the last `recentSeqsMax` committed `(seq, version)` pairs, for at
 * most `producersMax` producers, least recently committed dropped first. A batch with seq `s`:
 *
 * ```
 *            remembered by this runner?          the table's txn c (not expired)?
 *  (p, s) ──▶ s ≤ remembered seq ─┬─ s listed ──▶ duplicate (its exact version)
 *            │                    └─ not listed ▶ stale (409)
 *            └ otherwise ─────────▶ no txn ─────────────▶ new
 *                                   s > c + 1, client p ─▶ gap (409)
 *                                   s > c ─────────────▶ new
 *                                   s == c ────────────▶ duplicate (the snapshot's version)
 *                                   s < c ─────────────▶ stale (409)
 * ```
 *
 * A client producer (appId `lakestrike-client:<id>`, ADR 0037) sends its seqs without gaps, so for
 * it `s > c + 1` is a `gap` (409 with the expected seq `c + 1`); an edge's may skip seqs.
 *
 * A commit's `txn` carries each producer's highest seq of the group, and every seq at or below it
 * counts as committed from then on: so a batch that failed to write holds back its producer's
 * higher seqs ({@linkcode heldBackSeqs}), and a `txn` is never written below the producer's
 * committed one ({@linkcode txnsOf}).
 *
 * @module
 */
import type { Txn } from "../../core/log/actions.ts";
import { txnVersion } from "../../core/snapshot/mod.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { isClientAppId } from "../../client/protocol.ts";

/** Where a `(producer, seq)` stands against what the table holds (see the module doc). */
export type SeqStatus =
  | { kind: "new" }
  | { kind: "duplicate"; version: number }
  | { kind: "stale"; committedSeq: number }
  /** A client producer's seq beyond `committedSeq + 1` (ADR 0037). */
  | { kind: "gap"; committedSeq: number };

/** How much of its own commits a committer remembers. */
export interface ProducerSequencesLimits {
  /** Producers whose recent commits are remembered. */
  producersMax: number;
  /** Committed seqs remembered per producer. */
  recentSeqsMax: number;
}

/** What a committer remembers of the seqs it committed, and the rules that classify a seq. */
export interface ProducerSequences {
  /** Record that `seq` of `producer` was committed at `version`. */
  remember(producer: string, seq: number, version: number): void;
  /**
   * Where `(producer, seq)` stands: against what this committer remembers first, then against the
   * producer's `txn` in `snapshot` (not expired at `nowMs`). Without a snapshot a seq the committer
   * does not remember is new.
   */
  status(producer: string, seq: number, snapshot: Snapshot | undefined, nowMs: number): SeqStatus;
  /** Producers remembered. */
  readonly producers: number;
}

interface Remembered {
  seq: number;
  version: number;
  recent: { seq: number; version: number }[];
}

/**
 * The seqs a committer remembers, bounded by `limits`.
 *
 * @example
 * ```ts
 * import { createProducerSequences } from "./producer_sequences.ts";
 * const seqs = createProducerSequences({ producersMax: 10, recentSeqsMax: 4 });
 * seqs.remember("edge-1", 5, 12);
 * if (seqs.status("edge-1", 5, undefined, 0).kind !== "duplicate") throw new Error("a retry");
 * if (seqs.status("edge-1", 4, undefined, 0).kind !== "stale") throw new Error("not provably one");
 * if (seqs.status("edge-1", 6, undefined, 0).kind !== "new") throw new Error("new");
 * ```
 */
export function createProducerSequences(limits: ProducerSequencesLimits): ProducerSequences {
  // Map order is least recently committed first: a producer is re-inserted at every commit.
  const remembered = new Map<string, Remembered>();
  return {
    remember(producer, seq, version) {
      const r = remembered.get(producer) ?? { seq, version, recent: [] };
      remembered.delete(producer);
      if (seq >= r.seq) {
        r.seq = seq;
        r.version = version;
      }
      r.recent.push({ seq, version });
      if (r.recent.length > limits.recentSeqsMax) r.recent.shift();
      remembered.set(producer, r);
      if (remembered.size > limits.producersMax) {
        remembered.delete(remembered.keys().next().value!);
      }
    },
    status(producer, seq, snapshot, nowMs) {
      const r = remembered.get(producer);
      if (r !== undefined && seq <= r.seq) {
        const exact = r.recent.find((x) => x.seq === seq);
        if (exact !== undefined) return { kind: "duplicate", version: exact.version };
        return { kind: "stale", committedSeq: r.seq };
      }
      if (snapshot === undefined) return { kind: "new" };
      const committed = txnVersion(snapshot, producer, nowMs);
      if (committed === undefined) return { kind: "new" };
      if (seq > committed + 1 && isClientAppId(producer)) {
        return { kind: "gap", committedSeq: committed };
      }
      if (seq > committed) return { kind: "new" };
      if (seq === committed) return { kind: "duplicate", version: snapshot.version };
      return { kind: "stale", committedSeq: committed };
    },
    get producers() {
      return remembered.size;
    },
  };
}

/** A batch as the sequence rules see it. */
export interface ProducerSeq {
  /** The producer id (the `txn` appId). */
  producer: string;
  /** The batch's seq. */
  seq: number;
}

/**
 * The batches of `written` that may not commit because a batch of the same producer with a lower
 * seq failed (it is in `candidates` but not in `written`), each with that lowest failed seq. The
 * rest of `written` may commit.
 *
 * @example
 * ```ts
 * import { heldBackSeqs } from "./producer_sequences.ts";
 * const a1 = { producer: "a", seq: 1 }, a2 = { producer: "a", seq: 2 }, b1 = { producer: "b", seq: 1 };
 * const held = heldBackSeqs([a1, a2, b1], [a2, b1]);
 * if (held.size !== 1 || held.get(a2) !== 1) throw new Error("a2 waits for a1");
 * ```
 */
export function heldBackSeqs<T extends ProducerSeq>(
  candidates: readonly T[],
  written: readonly T[],
): Map<T, number> {
  const ok = new Set(written);
  const lowestFailed = new Map<string, number>();
  for (const c of candidates) {
    if (ok.has(c)) continue;
    lowestFailed.set(c.producer, Math.min(lowestFailed.get(c.producer) ?? Infinity, c.seq));
  }
  const held = new Map<T, number>();
  if (lowestFailed.size === 0) return held;
  for (const w of written) {
    const failedSeq = lowestFailed.get(w.producer);
    if (failedSeq !== undefined && w.seq >= failedSeq) held.set(w, failedSeq);
  }
  return held;
}

/**
 * The `txn` actions of a commit of `batches`: one per producer, at its highest seq, never below the
 * producer's `txn` in `snapshot` (replay keeps the newest `txn`, so a late retry of an old, expired
 * seq must not move the producer's position backwards).
 *
 * @example
 * ```ts
 * import { txnsOf } from "./producer_sequences.ts";
 * const txns = txnsOf([{ producer: "a", seq: 3 }, { producer: "a", seq: 5 }], { txns: new Map() }, 7);
 * if (txns.length !== 1 || txns[0]?.version !== 5 || txns[0]?.lastUpdated !== 7) throw new Error("bad");
 * ```
 */
export function txnsOf(
  batches: readonly ProducerSeq[],
  snapshot: Pick<Snapshot, "txns">,
  lastUpdated: number,
): Txn[] {
  const maxSeq = new Map<string, number>();
  for (const { producer, seq } of batches) {
    maxSeq.set(producer, Math.max(maxSeq.get(producer) ?? -1, seq));
  }
  return [...maxSeq].map(([appId, seq]) => ({
    appId,
    version: Math.max(seq, snapshot.txns.get(appId)?.version ?? -1),
    lastUpdated,
  }));
}
