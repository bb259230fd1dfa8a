/**
 * Conflict detection between a commit we are about to write and the commits that won the race for
 * the versions we wanted (Delta's optimistic concurrency, as Spark's `ConflictChecker` and delta-rs's
 * conflict checker define it, at the `WriteSerializable` isolation level).
 *
 * The rules, in the order they are checked:
 *
 * 1. A winning `protocol` action conflicts with every commit (`protocol_changed`).
 * 2. A winning `metaData` action conflicts with every commit (`metadata_changed`).
 * 3. Our own `protocol` or `metaData` change conflicts with every concurrent commit: it was decided on
 *    a table state that no longer exists (`metadata_changed` / `protocol_changed`).
 * 4. A winning `txn` with an `appId` we also write conflicts (`concurrent_transaction`), so an
 *    application's idempotency token is never written twice.
 * 5. A winning `domainMetadata` of a domain we also write conflicts (`concurrent_domain_metadata`).
 * 6. A winning `remove` of a file we remove conflicts (`concurrent_delete_delete`). This is the only
 *    rule that can stop a compaction (`dataChange: false` removes and adds).
 * 7. When we rewrite data (`remove` with `dataChange: true`, e.g. a delete or an overwrite), a winning
 *    commit that removed one of the files we read conflicts (`concurrent_delete_read`); since we do
 *    not track read predicates we treat our removed files as the files we read, and a winning commit
 *    that is not a blind append and added data conflicts too (`concurrent_append`), as Spark does at
 *    `WriteSerializable` for commits that are not blind appends.
 *
 * Blind appends (only `add` with `dataChange: true`, plus `txn` and `commitInfo`) therefore only
 * conflict through rules 1, 2, 4 and 5.
 *
 * @module
 */
import type { Action, Add, Remove } from "./actions.ts";

/** What a commit we want to write holds; `commitInfo` is added by the commit loop. */
export interface CommitDraft {
  /** The operation name written into `commitInfo.operation`, e.g. `WRITE`, `CREATE TABLE`. */
  operation: string;
  /** Written into `commitInfo.operationParameters`. */
  operationParameters?: Record<string, unknown>;
  /** Extra `commitInfo` fields (tags of plugins); the loop's own fields win on a clash. */
  commitInfo?: Record<string, unknown>;
  /** The actions of the commit, without `commitInfo`. */
  actions: Action[];
}

/** Why a commit cannot be written on top of the winning commits. */
export type ConflictKind =
  | "protocol_changed"
  | "metadata_changed"
  | "concurrent_transaction"
  | "concurrent_domain_metadata"
  | "concurrent_delete_delete"
  | "concurrent_delete_read"
  | "concurrent_append";

/** Result of {@linkcode checkConflict}: a conflict is a value, not an exception. */
export type ConflictResult =
  | { ok: true }
  | { ok: false; kind: ConflictKind; version: number; reason: string };

/** One commit that won a version we wanted. */
export interface WinningCommit {
  version: number;
  actions: Action[];
}

/**
 * True when the actions only add data files (plus `txn`, `commitInfo`): Delta's "blind append".
 *
 * @example
 * ```ts
 * import { isBlindAppend } from "./conflict.ts";
 * const add = { path: "a.parquet", partitionValues: {}, size: 1, modificationTime: 0, dataChange: true };
 * if (!isBlindAppend([{ add }])) throw new Error("an add alone is a blind append");
 * if (isBlindAppend([{ remove: { path: "a.parquet", dataChange: true } }])) throw new Error("remove");
 * ```
 */
export function isBlindAppend(actions: readonly Action[]): boolean {
  let adds = 0;
  for (const a of actions) {
    if ("add" in a) {
      if (!a.add.dataChange) return false;
      adds++;
    } else if (!("txn" in a) && !("commitInfo" in a)) {
      return false;
    }
  }
  return adds > 0;
}

interface Summary {
  protocol: boolean;
  metadata: boolean;
  appIds: Set<string>;
  domains: Set<string>;
  removed: Map<string, Remove>;
  dataChangeRemoves: boolean;
  dataAdds: Add[];
  blindAppend: boolean;
}

function summarize(actions: readonly Action[]): Summary {
  const s: Summary = {
    protocol: false,
    metadata: false,
    appIds: new Set(),
    domains: new Set(),
    removed: new Map(),
    dataChangeRemoves: false,
    dataAdds: [],
    blindAppend: isBlindAppend(actions),
  };
  for (const a of actions) {
    if ("protocol" in a) s.protocol = true;
    else if ("metaData" in a) s.metadata = true;
    else if ("txn" in a) s.appIds.add(a.txn.appId);
    else if ("domainMetadata" in a) s.domains.add(a.domainMetadata.domain);
    else if ("remove" in a) {
      s.removed.set(a.remove.path, a.remove);
      if (a.remove.dataChange) s.dataChangeRemoves = true;
    } else if ("add" in a && a.add.dataChange) s.dataAdds.push(a.add);
  }
  return s;
}

/**
 * Check the commit we want to write against the commits that won the versions in between, by
 * Delta's conflict rules (see the module documentation). `winning` is in version order.
 *
 * @example
 * ```ts
 * import { checkConflict } from "./conflict.ts";
 * const add = (path: string) => ({
 *   add: { path, partitionValues: {}, size: 1, modificationTime: 0, dataChange: true },
 * });
 * const ours = { operation: "WRITE", actions: [add("b.parquet")] };
 * // Two blind appends never conflict.
 * const r1 = checkConflict(ours, [{ version: 3, actions: [add("a.parquet")] }]);
 * if (!r1.ok) throw new Error(r1.reason);
 * // A concurrent schema change stops every commit.
 * const meta = {
 *   id: "t", format: { provider: "parquet" }, schemaString: "{}", partitionColumns: [],
 *   configuration: {},
 * };
 * const r2 = checkConflict(ours, [{ version: 3, actions: [{ metaData: meta }] }]);
 * if (r2.ok || r2.kind !== "metadata_changed") throw new Error("expected a conflict");
 * ```
 */
export function checkConflict(
  ours: CommitDraft,
  winning: readonly WinningCommit[],
): ConflictResult {
  const mine = summarize(ours.actions);
  for (const w of winning) {
    const theirs = summarize(w.actions);
    const v = w.version;
    if (theirs.protocol) {
      return fail("protocol_changed", v, `version ${v} changed the protocol`);
    }
    if (theirs.metadata) {
      return fail("metadata_changed", v, `version ${v} changed the table metadata`);
    }
    if (mine.protocol) {
      return fail(
        "protocol_changed",
        v,
        `our protocol change was based on an older table state than version ${v}`,
      );
    }
    if (mine.metadata) {
      return fail(
        "metadata_changed",
        v,
        `our metadata change was based on an older table state than version ${v}`,
      );
    }
    for (const appId of theirs.appIds) {
      if (mine.appIds.has(appId)) {
        return fail(
          "concurrent_transaction",
          v,
          `version ${v} committed a transaction of application ${JSON.stringify(appId)}`,
        );
      }
    }
    for (const domain of theirs.domains) {
      if (mine.domains.has(domain)) {
        return fail(
          "concurrent_domain_metadata",
          v,
          `version ${v} changed domain metadata ${JSON.stringify(domain)}`,
        );
      }
    }
    for (const path of theirs.removed.keys()) {
      if (mine.removed.has(path)) {
        const kind = mine.dataChangeRemoves ? "concurrent_delete_read" : "concurrent_delete_delete";
        return fail(kind, v, `version ${v} removed file ${JSON.stringify(path)} that we remove`);
      }
    }
    if (mine.dataChangeRemoves && !theirs.blindAppend && theirs.dataAdds.length > 0) {
      const path = theirs.dataAdds[0]!.path;
      return fail(
        "concurrent_append",
        v,
        `version ${v} added data (e.g. ${JSON.stringify(path)}) that our rewrite did not read`,
      );
    }
  }
  return { ok: true };
}

function fail(kind: ConflictKind, version: number, reason: string): ConflictResult {
  return { ok: false, kind, version, reason };
}
