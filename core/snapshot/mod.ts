/**
 * Table snapshots: loading (latest, by version, by timestamp), history, protocol support checks
 * and transaction identifiers.
 *
 * @example
 * ```ts
 * import { assertReadSupported } from "./mod.ts";
 * assertReadSupported({ minReaderVersion: 1, minWriterVersion: 2 });
 * ```
 *
 * @module
 */
export type * from "./snapshot.ts";
export * from "./load_snapshot.ts";
export * from "./protocol.ts";
export * from "./txn.ts";
export { applyCommitToSnapshot } from "../log/replay.ts";
