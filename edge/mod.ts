/**
 * The edge of lakestrike: a Hono app that validates client events against Delta schemas, buffers
 * them per table and forwards Arrow IPC batches to the batch runner, answering each client after
 * the commit. Runs on any runtime with Web standard APIs; only `main.ts` uses `Deno.*`.
 *
 * @example
 * ```ts
 * import { createEdgeApp } from "./mod.ts";
 * const app = createEdgeApp({
 *   tables: { t: { schema: { type: "struct", fields: [{ name: "x", type: "integer", nullable: true, metadata: {} }] } } },
 *   tokens: { tok: ["t"] },
 *   producerId: "edge-1",
 *   forward: () => Promise.resolve({ version: 1, rows: 1 }),
 * });
 * const res = await app.request("/healthz");
 * if (res.status !== 200) throw new Error("unexpected");
 * app.close();
 * ```
 *
 * @module
 */
export {
  createEdgeApp,
  EDGE_DEFAULTS,
  type EdgeApp,
  type EdgeDeps,
  type EdgeTableConfig,
  TABLE_NAME_RE,
} from "./app.ts";
export {
  createTableBuffer,
  type SubmitOutcome,
  type SubmitResult,
  type TableBuffer,
  type TableBufferOptions,
  type TableBufferStats,
} from "./buffer.ts";
export {
  type ConverterOptions,
  createConverter,
  type EventConverter,
  recordBatchBytes,
  SchemaViolationError,
  type UnknownFields,
} from "./convert.ts";
export { DECIMAL_PRECISION_MAX, edgeArrowSchema, edgeArrowType } from "./arrow_schema.ts";
export {
  type EdgeConfig,
  type EdgeConfigTable,
  loadEdgeConfig,
  validateEdgeConfig,
  validateEdgeTablesFile,
} from "./config.ts";
export {
  createFakeTimers,
  type EdgeClock,
  type EdgeTimers,
  type FakeTimers,
  systemEdgeClock,
  systemTimers,
} from "./fake_timers.ts";
export * from "./wire.ts";
