/**
 * The table a maintenance operation runs on: what its caller opened (the CLIs with `openTable`, the
 * runner with its own opener), reduced to what compaction and vacuum need.
 *
 * @module
 */
import type { CommitProtocol } from "../core/log/commit_protocol.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";

/** A table opened by the caller of `applyCompaction` or `applyVacuum`. */
export interface MaintainedTable {
  /** Storage scoped to the table root. */
  storage: ObjectStorage;
  /** The table's commit protocol; default put-if-absent on `storage`. */
  protocol?: CommitProtocol | undefined;
  /** The name plugins and logs see; default the last path segment of `storage.location`. */
  name?: string | undefined;
  /** The URI plugins see; default `storage.location`. */
  uri?: string | undefined;
}

/**
 * The table as plugins see it (`ctx.table`): one default for every operation.
 *
 * @example
 * ```ts
 * import { createMemoryStorage } from "../core/storage/memory.ts";
 * import { pluginTableOf } from "./maintained_table.ts";
 * const storage = createMemoryStorage({ location: "memory://lake/events/" });
 * const t = pluginTableOf({ storage });
 * if (t.name !== "events" || t.uri !== "memory://lake/events/") throw new Error(JSON.stringify(t));
 * ```
 */
export function pluginTableOf(table: MaintainedTable): { name: string; uri: string } {
  const uri = table.uri ?? table.storage.location;
  const location = table.storage.location;
  const name = table.name ?? (location.replace(/\/+$/, "").split("/").at(-1) || location);
  return { name, uri };
}

/** The `protocol` option of core calls: absent when the table uses the default. */
export function protocolOptionOf(table: MaintainedTable): { protocol?: CommitProtocol } {
  return table.protocol ? { protocol: table.protocol } : {};
}
