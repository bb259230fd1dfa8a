/**
 * Transaction identifiers (Delta PROTOCOL, "Transaction Identifiers") and their expiration by
 * `delta.setTransactionRetentionDuration`.
 *
 * A snapshot keeps every `txn` it replayed; expiration is applied when a writer asks for the version
 * of an application ({@linkcode txnVersion}) and when a checkpoint is written (expired txns are
 * left out, so they do not pile up forever), both with {@linkcode isTxnExpired} and the clock the
 * caller passes, so a checkpoint never changes an answer of `txnVersion`.
 *
 * The rule is Spark's and delta-kernel-rs's: with a retention set, a txn whose `lastUpdated` is at
 * or before `now - retention` has expired; without the property nothing expires. A txn without
 * `lastUpdated` never expires (as delta-kernel-rs; Spark drops those when a retention is set):
 * keeping a dedupe entry is the safe side, and lakestrike always writes `lastUpdated`.
 *
 * @module
 */
import type { Txn } from "../log/actions.ts";
import type { Snapshot } from "./snapshot.ts";

const UNIT_MS: Record<string, number> = {
  millisecond: 1,
  milliseconds: 1,
  ms: 1,
  second: 1000,
  seconds: 1000,
  sec: 1000,
  minute: 60_000,
  minutes: 60_000,
  min: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

/**
 * Parse a Delta interval table property (`"interval 1 days"`, `"168 hours"`, `"interval 2 weeks
 * 3 days"`) into milliseconds, or `undefined` when it cannot be parsed.
 *
 * @example
 * ```ts
 * import { parseIntervalMs } from "./txn.ts";
 * if (parseIntervalMs("interval 1 days") !== 86_400_000) throw new Error("bad");
 * if (parseIntervalMs("interval 2 weeks 1 hour") !== 2 * 604_800_000 + 3_600_000) throw new Error("bad");
 * ```
 */
export function parseIntervalMs(text: string): number | undefined {
  const words = text.trim().toLowerCase().split(/\s+/);
  if (words[0] === "interval") words.shift();
  if (words.length === 0 || words.length % 2 !== 0) return undefined;
  let total = 0;
  for (let i = 0; i < words.length; i += 2) {
    const n = Number(words[i]);
    const unit = UNIT_MS[words[i + 1]!];
    if (!Number.isFinite(n) || unit === undefined) return undefined;
    total += n * unit;
  }
  return total;
}

/**
 * Retention of `txn` actions of a snapshot's table in ms, or `undefined` when they never expire:
 * `delta.setTransactionRetentionDuration` is absent, or holds a value that cannot be parsed or is
 * negative (tables other engines wrote may; expiring everything would lose every dedupe entry).
 *
 * @example
 * ```ts
 * import { txnRetentionMs } from "./txn.ts";
 * const of = (v?: string) => ({
 *   metadata: { configuration: v === undefined ? {} : { "delta.setTransactionRetentionDuration": v } },
 * });
 * // deno-lint-ignore no-explicit-any
 * const ms = (v?: string) => txnRetentionMs(of(v) as any);
 * if (ms("interval 7 days") !== 7 * 86_400_000) throw new Error("parsed");
 * if (ms() !== undefined || ms("interval -1 days") !== undefined) throw new Error("never expires");
 * ```
 */
export function txnRetentionMs(snapshot: Pick<Snapshot, "metadata">): number | undefined {
  const text = snapshot.metadata.configuration["delta.setTransactionRetentionDuration"];
  const ms = text === undefined ? undefined : parseIntervalMs(text);
  return ms === undefined || !Number.isFinite(ms) || ms < 0 ? undefined : ms;
}

/**
 * True when `txn` has expired at `nowMs`: the table sets `delta.setTransactionRetentionDuration`
 * and the txn's `lastUpdated` is at or before `nowMs - retention` (Spark keeps a txn whose
 * `lastUpdated` is after that instant). A txn without `lastUpdated` never expires.
 */
export function isTxnExpired(
  snapshot: Pick<Snapshot, "metadata">,
  txn: Txn,
  nowMs: number,
): boolean {
  const retentionMs = txnRetentionMs(snapshot);
  if (retentionMs === undefined) return false;
  if (txn.lastUpdated === undefined || txn.lastUpdated === null) return false;
  return txn.lastUpdated <= nowMs - retentionMs;
}

/**
 * The txns of `snapshot` that have not expired at `nowMs`: what a checkpoint written at `nowMs`
 * keeps (Delta PROTOCOL, "Action Reconciliation": expired transaction identifiers may be dropped).
 *
 * @example
 * ```ts
 * import { unexpiredTxns } from "./txn.ts";
 * const snapshot = {
 *   metadata: { configuration: { "delta.setTransactionRetentionDuration": "interval 1 days" } },
 *   txns: new Map([["old", { appId: "old", version: 1, lastUpdated: 0 }],
 *     ["new", { appId: "new", version: 2, lastUpdated: 86_400_000 }]]),
 * };
 * // deno-lint-ignore no-explicit-any
 * const kept = unexpiredTxns(snapshot as any, 86_400_000).map((t) => t.appId);
 * if (kept.join() !== "new") throw new Error(`kept ${kept}`);
 * ```
 */
export function unexpiredTxns(snapshot: Pick<Snapshot, "metadata" | "txns">, nowMs: number): Txn[] {
  return [...snapshot.txns.values()].filter((t) => !isTxnExpired(snapshot, t, nowMs));
}

/**
 * The latest committed version of application `appId`, or `undefined` when it has none or its
 * `txn` expired.
 *
 * @example
 * ```ts
 * import { txnVersion } from "./txn.ts";
 * const snapshot = {
 *   metadata: { configuration: { "delta.setTransactionRetentionDuration": "interval 1 days" } },
 *   txns: new Map([["a", { appId: "a", version: 4, lastUpdated: 1000 }], ["b", { appId: "b", version: 2 }]]),
 * };
 * // deno-lint-ignore no-explicit-any
 * const s = snapshot as any;
 * if (txnVersion(s, "a", 2000) !== 4) throw new Error("not yet expired");
 * if (txnVersion(s, "a", 1000 + 86_400_001) !== undefined) throw new Error("must expire");
 * if (txnVersion(s, "b", 1e15) !== 2) throw new Error("no lastUpdated never expires");
 * ```
 */
export function txnVersion(snapshot: Snapshot, appId: string, nowMs: number): number | undefined {
  const txn = snapshot.txns.get(appId);
  if (!txn || isTxnExpired(snapshot, txn, nowMs)) return undefined;
  return txn.version;
}
