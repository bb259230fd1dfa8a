/**
 * Transaction identifiers (Delta PROTOCOL, "Transaction Identifiers") and their expiration by
 * `delta.setTransactionRetentionDuration`.
 *
 * A snapshot keeps every `txn` it replayed (as Spark and delta-kernel-rs do); expiration is applied
 * when a writer asks for the version of an application, relative to the clock it passes.
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

/** Retention of `txn` actions of a snapshot's table in ms, or `undefined` when they never expire. */
export function txnRetentionMs(snapshot: Snapshot): number | undefined {
  const text = snapshot.metadata.configuration["delta.setTransactionRetentionDuration"];
  return text === undefined ? undefined : parseIntervalMs(text);
}

/**
 * True when `txn` has expired at `nowMs`: the table sets `delta.setTransactionRetentionDuration`
 * and the txn's `lastUpdated` is older than that. A txn without `lastUpdated` never expires.
 */
export function isTxnExpired(snapshot: Snapshot, txn: Txn, nowMs: number): boolean {
  const retentionMs = txnRetentionMs(snapshot);
  if (retentionMs === undefined) return false;
  if (txn.lastUpdated === undefined || txn.lastUpdated === null) return false;
  return txn.lastUpdated < nowMs - retentionMs;
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
