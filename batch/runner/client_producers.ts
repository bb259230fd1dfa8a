/**
 * What the runner adds for client producers (ADR 0037) to the sequence rules of
 * `producer_sequences.ts`: the answer that refuses a gap, and the fresh look at the table a gap
 * needs before it is refused.
 *
 * A client sends `(p, c + 2)` only after `(p, c + 1)` was acknowledged, perhaps by another runner
 * through another edge. This runner's in-memory snapshot may predate that commit, so a gap against
 * it proves nothing: the intake reloads the table ({@linkcode createFreshSnapshots}) and classifies
 * the seq again before it answers 409. The acknowledgement came after the commit file was durable
 * and the reload lists the log after the request arrived, so the reload sees the commit (Delta's
 * consistent listing). Two runners racing on one `(p, s)` are decided by Delta's conflict rules: the
 * loser's commit meets a winning `txn` with its appId (`concurrent_transaction`), re-reads the
 * table and classifies the seq again (duplicate, or 409), as `commit_group.ts` does for any producer.
 *
 * @module
 */
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import type { BatchEntry, BatchOutcome } from "./commit_group.ts";

/** The 409 of a client producer's seq beyond `committedSeq + 1`; nothing was written. */
export function gapOutcome(
  entry: Pick<BatchEntry, "producer" | "seq">,
  committedSeq: number,
): Extract<BatchOutcome, { ok: false }> {
  return {
    ok: false,
    status: 409,
    error: "sequence_gap",
    detail: `Cannot accept batch ${entry.seq} of producer ${entry.producer}: the table holds its ` +
      `seq ${committedSeq}, so the next one is ${
        committedSeq + 1
      }; nothing was written (send the ` +
      `missing sequences first)`,
    written: "no",
    committedSeq,
  };
}

/**
 * Loads of the table that start after the caller asked: a caller never joins a load that started
 * before it, but the callers that arrive while one runs share the next, so gaps arriving together
 * cost one load.
 */
export interface FreshSnapshots {
  /** A snapshot listed after this call began. */
  load(): Promise<Snapshot>;
}

/**
 * Coalesces `load` calls so that each caller gets a snapshot loaded after it asked.
 *
 * @example
 * ```ts
 * import { createFreshSnapshots } from "./client_producers.ts";
 * import type { Snapshot } from "../../core/snapshot/snapshot.ts";
 * let loads = 0;
 * const fresh = createFreshSnapshots(async () => ({ version: ++loads }) as unknown as Snapshot);
 * const [a, b, c] = await Promise.all([fresh.load(), fresh.load(), fresh.load()]);
 * // The first starts a load; the two that came while it ran share the next one.
 * if (a.version !== 1 || b.version !== 2 || c.version !== 2 || loads !== 2) throw new Error();
 * ```
 */
export function createFreshSnapshots(load: () => Promise<Snapshot>): FreshSnapshots {
  let running: Promise<Snapshot> | undefined;
  let next: Promise<Snapshot> | undefined;
  const start = (): Promise<Snapshot> => {
    const p = load();
    running = p;
    const clear = () => {
      if (running === p) running = undefined;
    };
    p.then(clear, clear);
    return p;
  };
  return {
    load() {
      if (running === undefined) return start();
      next ??= running.then(() => {}, () => {}).then(() => {
        next = undefined;
        return start();
      });
      return next;
    },
  };
}
