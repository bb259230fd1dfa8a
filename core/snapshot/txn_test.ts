import assert from "node:assert/strict";
import fc from "fast-check";
import type { Txn } from "../log/actions.ts";
import { isTxnExpired, txnRetentionMs, txnVersion, unexpiredTxns } from "./txn.ts";
import type { Snapshot } from "./snapshot.ts";

const DAY = 86_400_000;
const KEY = "delta.setTransactionRetentionDuration";

function snapshotWith(configuration: Record<string, string>, txns: Txn[]): Snapshot {
  return {
    metadata: { configuration },
    txns: new Map(txns.map((t) => [t.appId, t])),
  } as unknown as Snapshot;
}

Deno.test("txnRetentionMs: absent, unparsable or negative means txns never expire", () => {
  assert.equal(txnRetentionMs(snapshotWith({ [KEY]: "interval 7 days" }, [])), 7 * DAY);
  assert.equal(txnRetentionMs(snapshotWith({ [KEY]: "interval 0 seconds" }, [])), 0);
  for (const v of ["interval -1 days", "soon", "", "interval 1 day -2 days"]) {
    assert.equal(txnRetentionMs(snapshotWith({ [KEY]: v }, [])), undefined, v);
  }
  assert.equal(txnRetentionMs(snapshotWith({}, [])), undefined);
});

Deno.test("isTxnExpired: expired at or before now - retention, as Spark and delta-kernel-rs", () => {
  const s = snapshotWith({ [KEY]: "interval 1 days" }, []);
  const now = 10 * DAY;
  const at = (lastUpdated: number) => ({ appId: "a", version: 1, lastUpdated });
  assert.equal(isTxnExpired(s, at(now - DAY), now), true);
  assert.equal(isTxnExpired(s, at(now - DAY + 1), now), false);
  assert.equal(isTxnExpired(s, { appId: "a", version: 1 }, 1e15), false);
  assert.equal(isTxnExpired(s, { appId: "a", version: 1, lastUpdated: null }, 1e15), false);
  assert.equal(isTxnExpired(snapshotWith({}, []), at(0), 1e15), false);
});

Deno.test("unexpiredTxns keeps exactly the txns txnVersion still answers for", () => {
  fc.assert(
    fc.property(
      fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
      fc.array(fc.option(fc.integer({ min: 0, max: 20 * DAY }), { nil: undefined }), {
        maxLength: 8,
      }),
      fc.integer({ min: 0, max: 20 * DAY }),
      (days, lastUpdates, now) => {
        const txns = lastUpdates.map((lastUpdated, i): Txn =>
          lastUpdated === undefined
            ? { appId: `p${i}`, version: i }
            : { appId: `p${i}`, version: i, lastUpdated }
        );
        const s = snapshotWith(days === undefined ? {} : { [KEY]: `interval ${days} days` }, txns);
        const kept = new Set(unexpiredTxns(s, now).map((t) => t.appId));
        for (const t of txns) {
          assert.equal(kept.has(t.appId), txnVersion(s, t.appId, now) === t.version);
        }
      },
    ),
  );
});
