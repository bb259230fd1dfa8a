/**
 * lakestrike: a low-latency ingestion service for Delta Lake tables.
 *
 * @module
 */
export * from "./core/errors.ts";
export * from "./core/clock.ts";
export type * from "./core/storage/storage.ts";
export type * from "./core/log/actions.ts";
export type * from "./core/schema/types.ts";
export type * from "./core/snapshot/snapshot.ts";
