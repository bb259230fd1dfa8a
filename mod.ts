/**
 * lakestrike: a low-latency ingestion service for Delta Lake tables.
 *
 * The public API of the core: storage backends, the Delta log (actions, replay, commits,
 * checkpoints), snapshots, schemas, Parquet, scans and the append writer.
 *
 * @example
 * ```ts
 * import { createMemoryStorage, createTable, loadSnapshot } from "./mod.ts";
 * const storage = createMemoryStorage();
 * await createTable(storage, {
 *   schema: { type: "struct", fields: [{ name: "id", type: "long", nullable: false, metadata: {} }] },
 * });
 * const snapshot = await loadSnapshot(storage);
 * if (snapshot.version !== 0) throw new Error("expected version 0");
 * ```
 *
 * @module
 */
export * from "./core/errors.ts";
export * from "./core/clock.ts";
export * from "./core/storage/mod.ts";
export * from "./core/log/mod.ts";
export * from "./core/snapshot/mod.ts";
export * from "./core/schema/mod.ts";
export * from "./core/parquet/mod.ts";
export * from "./core/scan/mod.ts";
export * from "./core/write/mod.ts";
// Both scan and parquet have a `formatDecimal`; the public one formats a scanned decimal value.
export { formatDecimal } from "./core/scan/mod.ts";
