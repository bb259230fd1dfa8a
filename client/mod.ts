/**
 * `lakestrike/client`: send events to a lakestrike edge exactly once, from Deno, Node or a
 * browser. Each `send` resolves once its events are committed; lost answers and overloads are
 * retried with the same `(producer, sequence)`, which the table commits at most once (ADR 0037).
 *
 * @example
 * ```ts
 * import { createClient } from "./mod.ts";
 * const client = createClient({
 *   url: "http://edge",
 *   token: "t",
 *   table: "events",
 *   fetch: () => Promise.resolve(Response.json({ version: 1, rows: 1 })),
 * });
 * const { version } = await client.send({ device: "d-1", value: 3 });
 * if (version !== 1) throw new Error();
 * await client.close();
 * if (client.metrics().committedEvents !== 1) throw new Error();
 * ```
 *
 * @module
 */
export {
  CLIENT_DEFAULTS,
  type ClientMetrics,
  type ClientOptions,
  createClient,
  type LakestrikeClient,
  LakestrikeClientError,
  type LakestrikeEvent,
  parseRetryAfterMs,
  type SendResult,
} from "./client.ts";
export {
  CLIENT_APP_ID_PREFIX,
  clientAppId,
  PRODUCER_ID_HEADER,
  SEQUENCE_HEADER,
} from "./protocol.ts";
