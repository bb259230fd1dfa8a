/**
 * The edge of lakestrike: a Hono app that validates client events against Delta schemas, buffers
 * them per table and forwards Arrow IPC batches to the batch runner, answering each client after
 * the commit. Runs on any runtime with Web standard APIs (Deno, Deno Deploy, Cloudflare Workers,
 * Node: `edge/node_test.ts` serves it under Node); only `main.ts`, which serves it with `Deno.serve`,
 * uses `Deno.*`, and nothing here loads the runner, the plugins or AWS.
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
export type { TableBufferStats } from "./buffer.ts";
export type { UnknownFields } from "./convert.ts";
export {
  type EdgeConfig,
  type EdgeConfigTable,
  edgeDepsFromConfig,
  loadEdgeConfig,
  validateEdgeConfig,
  validateEdgeTablesFile,
} from "./config.ts";
export type { EdgeClock, EdgeTimers } from "./fake_timers.ts";
export {
  ARROW_STREAM_CONTENT_TYPE,
  type BatchAnswer,
  batchesPath,
  type BatchRequest,
  createHttpForward,
  type ForwardBatch,
  ForwardError,
  type HttpForwardOptions,
  PRODUCER_HEADER,
  SEQ_HEADER,
} from "./wire.ts";
