/**
 * The edge app: `POST /v1/tables/{table}/events` validates client events against the table's
 * Delta schema, converts them to Arrow, buffers them per table (see `buffer.ts`) and answers
 * `200 {"version": N, "rows": R}` once the runner has committed every one of the request's events.
 * `GET /healthz` answers `200 {"status": "ok" | "stuck", "tables": {name: {stuck, failuresInRow,
 * lastError?}}}`: a table is stuck while the batch in flight has failed `STUCK_FAILURES_MIN` times
 * in a row (it is given up at `batchAttemptsMax`). `GET /metrics` answers the per-table
 * acknowledgement SLA metrics in the Prometheus text format (`ack_guard.ts`, ADR 0040).
 *
 * Bodies: a JSON array of event objects (a single object is one event), NDJSON (one object per
 * line, blank lines skipped), or an Arrow IPC stream or file. Errors are JSON `{error, detail}`:
 *
 * | status | error | when |
 * |---|---|---|
 * | 400 | `invalid_table_name`, `malformed_body`, `empty_body`, `invalid_header` | name outside `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`; unparsable body; no events; bad producer headers |
 * | 401 | `unauthorized` | no bearer token or an unknown one |
 * | 403 | `forbidden` | the token is not granted the table |
 * | 404 | `unknown_table`, `not_found` | table not configured; other paths |
 * | 413 | `payload_too_large` | body over `requestBodyBytesMax` (cut off while reading) or larger than the whole buffer |
 * | 415 | `unsupported_media_type` | other content types |
 * | 409 | `sequence_gap`, `sequence_conflict` | producer headers only: not the producer's next sequence; carries `expectedSequence` |
 * | 422 | `schema_violation` | first invalid event; also carries `row` and `field` |
 * | 429 | `buffer_full` | the table's buffer is full; `Retry-After` in seconds |
 * | 502 | `runner_rejected` | the runner definitively refused the batch (not written) |
 * | 503 | `runner_unavailable` | no commit before the request deadline; `written` is `"no"` or `"unknown"` |
 * | 503 | `deadline_unmeetable` | answered at once: the table's recent commits say the request cannot commit before its deadline (`ack_guard.ts`); `Retry-After`, `written: "no"` |
 *
 * A request with `Lakestrike-Producer` and `Lakestrike-Sequence` is committed at most once per
 * (producer, sequence) and answered `duplicate: true` when it already was (`producer_forward.ts`,
 * ADR 0037).
 *
 * A rejected request writes nothing: validation and conversion finish before anything enters the
 * buffer. Authentication comes before the table lookup so that unknown callers learn nothing about
 * which tables exist.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import { Hono } from "hono";
import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { timeout } from "hono/timeout";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { decodeArrowIpc } from "../core/arrow/decode_arrow_ipc.ts";
import type { StructType } from "../core/schema/types.ts";
import {
  createTableBuffer,
  type SubmitOutcome,
  type TableBuffer,
  type TableBufferStats,
} from "./buffer.ts";
import {
  createConverter,
  type EventConverter,
  recordBatchBytes,
  SchemaViolationError,
  type UnknownFields,
} from "./convert.ts";
import { type EdgeClock, type EdgeTimers, systemEdgeClock, systemTimers } from "./fake_timers.ts";
import { ackSlasOf, createAckGuard } from "./ack_guard.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../core/metrics/prometheus.ts";
import {
  answerSequenced,
  createSequencedForwarder,
  readClientProducer,
} from "./producer_forward.ts";
import {
  ARROW_STREAM_CONTENT_TYPE,
  createHttpForward,
  digestsEqual,
  type ForwardBatch,
  type HttpForwardOptions,
  tokenDigest,
} from "./wire.ts";

/** Configuration of one table the edge accepts events for. */
export interface EdgeTableConfig {
  /** The table's Delta schema. */
  schema: StructType;
  /** Unknown event fields are rejected (default) or dropped. */
  unknownFields?: UnknownFields;
  /**
   * The table's partition columns (default none): an event whose partition value makes no
   * directory name the runner accepts is refused with 422, before it joins a batch.
   */
  partitionColumns?: readonly string[];
  /** Bearer tokens granted this table (in addition to the top-level `tokens`). */
  tokens?: readonly string[];
  /** Acknowledgement SLA in ms (default 250): what answers are counted against (`ack_guard.ts`). */
  ackSlaMs?: number;
}

/** Dependencies and settings of {@linkcode createEdgeApp}. */
export interface EdgeDeps {
  /** Tables by name. */
  tables: ReadonlyMap<string, EdgeTableConfig> | Readonly<Record<string, EdgeTableConfig>>;
  /** Bearer token to the tables it may write, `"*"` for all. */
  tokens?: Readonly<Record<string, readonly string[] | "*">>;
  /**
   * Name of this edge. The producer id sent to the runner (`x-lakestrike-producer`, the `txn`
   * appId) is `{producerId}#{incarnation}`, with a random incarnation per app (ADR 0022), so two
   * edges configured alike, or one edge restarted, never share an identity.
   */
  producerId: string;
  /** The incarnation suffix (default: 128 random bits in hex); called again after a 409. */
  newIncarnation?: () => string;
  /** Sends batches to the runner; give this or `runner`. */
  forward?: ForwardBatch;
  /** Runner URL, token and fetch for the HTTP forwarder; used when `forward` is absent. */
  runner?: HttpForwardOptions;
  /** Clock for deadlines (default: system clock). */
  clock?: EdgeClock;
  /** Timers (default: the runtime's). */
  timers?: EdgeTimers;
  /** Random source for backoff jitter (default `Math.random`). */
  random?: () => number;
  /**
   * The longest a request is held when the runner says its table's next commit cannot start
   * sooner (default 50). Otherwise nothing waits for a timer: a table forwards at once when
   * nothing is in flight, and what arrives meanwhile goes in the next batch (ADR 0030, 0031).
   */
  flushIntervalMs?: number;
  /** Rows of the largest batch made of several requests (default 50,000; ADR 0050). */
  flushRowsMax?: number;
  /** Bytes of the largest batch made of several requests (default 16 MiB). */
  flushBytesMax?: number;
  /** Bytes a table buffers (waiting plus in flight) before answering 429 (default 64 MiB). */
  bufferBytesMax?: number;
  /** Largest request body (default 8 MiB). */
  requestBodyBytesMax?: number;
  /** Deadline of a request, from arrival to answer (default 5,000). */
  requestTimeoutMs?: number;
  /** Deadline of one forward attempt (default 2,000). */
  attemptTimeoutMs?: number;
  /** First retry delay (default 10). */
  retryDelayBaseMs?: number;
  /** Largest retry delay (default 1,000). */
  retryDelayMaxMs?: number;
  /** Attempts of a batch failing the same way in a row before it is given up (default 10). */
  batchAttemptsMax?: number;
  /** First sequence number of every table and producer id (default 1). */
  seqStart?: number;
}

/** Defaults of {@linkcode EdgeDeps} (docs/design.md section 7). */
export const EDGE_DEFAULTS = {
  flushIntervalMs: 50,
  flushRowsMax: 50_000,
  flushBytesMax: 16 * 1024 * 1024,
  bufferBytesMax: 64 * 1024 * 1024,
  requestBodyBytesMax: 8 * 1024 * 1024,
  requestTimeoutMs: 5_000,
  attemptTimeoutMs: 2_000,
  retryDelayBaseMs: 10,
  retryDelayMaxMs: 1_000,
  batchAttemptsMax: 10,
} as const;

/** Failures in a row after which `/healthz` reports a table as stuck. */
export const STUCK_FAILURES_MIN = 3;

/** 128 random bits in hex: the default incarnation of an edge's producer id. */
export function randomIncarnation(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Valid table names: no slashes, no leading dot, at most 128 characters. */
export const TABLE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Extra time the outer Hono `timeout` gives a request beyond its deadline (slow bodies). */
const TIMEOUT_GUARD_MS = 1_000;

type Grants = "*" | ReadonlySet<string>;
type Env = { Variables: { grants: Grants; requestId: string } };

interface TableState {
  converter: EventConverter;
  buffer: TableBuffer;
}

/** The Hono app of the edge, plus `stats()` and `close()` of its buffers. */
export type EdgeApp = Hono<Env> & {
  /** State of a table's buffer, `undefined` for an unknown table. */
  stats(table: string): TableBufferStats | undefined;
  /** Stops timers and retries of every table; waiting requests get 503. */
  close(): void;
};

function errorBody(
  c: Context,
  status: ContentfulStatusCode,
  error: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Response {
  return c.json({ error, detail, ...extra }, status);
}

function httpError(status: ContentfulStatusCode, error: string, detail: string): HTTPException {
  return new HTTPException(status, {
    res: Response.json({ error, detail }, { status }),
  });
}

function collectGrants(deps: EdgeDeps, tables: Map<string, EdgeTableConfig>): Map<string, Grants> {
  const grants = new Map<string, "*" | Set<string>>();
  const add = (token: string, table: string | "*") => {
    const g = grants.get(token);
    if (g === "*") return;
    if (table === "*") grants.set(token, "*");
    else if (g === undefined) grants.set(token, new Set([table]));
    else g.add(table);
  };
  for (const [token, allowed] of Object.entries(deps.tokens ?? {})) {
    if (allowed === "*") add(token, "*");
    else for (const t of allowed) add(token, t);
  }
  for (const [name, config] of tables) for (const token of config.tokens ?? []) add(token, name);
  return grants;
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

const JSON_TYPES = new Set(["application/json"]);
const NDJSON_TYPES = new Set(["application/x-ndjson", "application/ndjson", "application/jsonl"]);
const ARROW_TYPES = new Set([ARROW_STREAM_CONTENT_TYPE, "application/vnd.apache.arrow.file"]);

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Lenient = new TextDecoder("utf-8");

/**
 * Decodes a body as UTF-8, or throws. The lenient decoder is several times faster than the fatal one
 * (it makes the string without a separate check); a body it decodes with no U+FFFD in it was valid,
 * and one with a U+FFFD (a replaced byte, or a client's own U+FFFD) is decoded again by the fatal one.
 */
function decodeUtf8(bytes: Uint8Array): string {
  const text = utf8Lenient.decode(bytes);
  return text.includes("\uFFFD") ? utf8.decode(bytes) : text;
}

/** Reads the events of a JSON or NDJSON body; throws an HTTPException 400. */
function parseJsonEvents(bytes: Uint8Array, ndjson: boolean): unknown[] {
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw httpError(400, "malformed_body", "Cannot read body: invalid UTF-8");
  }
  if (!ndjson) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw httpError(400, "malformed_body", `Cannot parse JSON body: ${(e as Error).message}`);
    }
    if (Array.isArray(value)) return value;
    if (typeof value === "object" && value !== null) return [value];
    throw httpError(400, "malformed_body", "Cannot read body: expected a JSON array of events");
  }
  const events: unknown[] = [];
  let line = 0;
  for (let start = 0; start <= text.length; line++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    if (raw === "") continue;
    try {
      events.push(JSON.parse(raw));
    } catch (e) {
      throw httpError(
        400,
        "malformed_body",
        `Cannot parse NDJSON line ${line + 1}: ${(e as Error).message}`,
      );
    }
  }
  return events;
}

/**
 * Creates the edge app.
 *
 * @example
 * ```ts
 * import { createEdgeApp } from "./app.ts";
 * const app = createEdgeApp({
 *   tables: {
 *     events: {
 *       schema: { type: "struct", fields: [{ name: "id", type: "long", nullable: false, metadata: {} }] },
 *     },
 *   },
 *   tokens: { secret: "*" },
 *   producerId: "edge-1",
 *   forward: (batch) => Promise.resolve({ version: 7, rows: 2 }),
 * });
 * const res = await app.request("/v1/tables/events/events", {
 *   method: "POST",
 *   headers: { authorization: "Bearer secret", "content-type": "application/json" },
 *   body: JSON.stringify([{ id: 1 }, { id: 2 }]),
 * });
 * const body = await res.json();
 * if (res.status !== 200 || body.version !== 7 || body.rows !== 2) throw new Error("unexpected");
 * app.close();
 * ```
 */
export function createEdgeApp(deps: EdgeDeps): EdgeApp {
  const settings = { ...EDGE_DEFAULTS };
  for (const key of Object.keys(EDGE_DEFAULTS) as (keyof typeof EDGE_DEFAULTS)[]) {
    const v = deps[key];
    if (v !== undefined) {
      if (!(Number.isFinite(v) && v > 0)) {
        throw new RangeError(`Cannot create the edge app: ${key} must be positive, got ${v}`);
      }
      (settings as Record<string, number>)[key] = v;
    }
  }
  const clock = deps.clock ?? systemEdgeClock;
  const timers = deps.timers ?? systemTimers;
  const random = deps.random ?? Math.random;
  let forward = deps.forward;
  if (forward === undefined) {
    if (deps.runner === undefined) {
      throw new TypeError("Cannot create the edge app: give either forward or runner");
    }
    forward = createHttpForward(deps.runner);
  }
  // Times forwards (the floor of a table's commits) and meters answers against the SLA.
  const ackGuard = createAckGuard(ackSlasOf(deps.tables), { clock });
  forward = ackGuard.timed(forward);
  const sequenced = createSequencedForwarder({
    forward,
    clock,
    timers,
    bytesInFlightMax: settings.bufferBytesMax,
  });
  const tableConfigs = new Map(
    deps.tables instanceof Map ? deps.tables : Object.entries(deps.tables),
  );
  const seqStart = deps.seqStart ?? 1;
  const newIncarnation = deps.newIncarnation ?? randomIncarnation;
  const newProducerId = () => `${deps.producerId}#${newIncarnation()}`;
  const tables = new Map<string, TableState>();
  for (const [name, config] of tableConfigs) {
    if (!TABLE_NAME_RE.test(name)) {
      throw new TypeError(`Cannot create the edge app: invalid table name "${name}"`);
    }
    const converter = createConverter(config.schema, {
      unknownFields: config.unknownFields ?? "reject",
      partitionColumns: config.partitionColumns ?? [],
    });
    const buffer = createTableBuffer({
      table: name,
      producerId: newProducerId(),
      renewProducerId: newProducerId,
      schema: converter.arrowSchema,
      forward,
      clock,
      timers,
      random,
      flushIntervalMs: settings.flushIntervalMs,
      flushRowsMax: settings.flushRowsMax,
      flushBytesMax: settings.flushBytesMax,
      bufferBytesMax: settings.bufferBytesMax,
      attemptTimeoutMs: settings.attemptTimeoutMs,
      retryDelayBaseMs: settings.retryDelayBaseMs,
      retryDelayMaxMs: settings.retryDelayMaxMs,
      batchAttemptsMax: settings.batchAttemptsMax,
      seqStart,
    });
    tables.set(name, { converter, buffer });
  }
  const grantsByToken = collectGrants(deps, tableConfigs);
  const tokenDigests = Promise.all(
    [...grantsByToken].map(async ([token, grants]) => ({
      digest: await tokenDigest(token),
      grants,
    })),
  );

  const app = new Hono<Env>();
  app.use(requestId());
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    return errorBody(c, 500, "internal", `Cannot handle the request: ${String(err)}`);
  });
  app.notFound((c) => errorBody(c, 404, "not_found", `Cannot find ${c.req.method} ${c.req.path}`));

  app.get("/healthz", (c) => {
    const report: Record<string, { stuck: boolean; failuresInRow: number; lastError?: string }> =
      {};
    let stuck = false;
    for (const [name, t] of tables) {
      const s = t.buffer.stats();
      const tableStuck = s.failuresInRow >= STUCK_FAILURES_MIN;
      stuck ||= tableStuck;
      report[name] = s.lastError === undefined
        ? { stuck: tableStuck, failuresInRow: s.failuresInRow }
        : { stuck: tableStuck, failuresInRow: s.failuresInRow, lastError: s.lastError };
    }
    return c.json({ status: stuck ? "stuck" : "ok", tables: report });
  });

  app.get(
    "/metrics",
    (c) => c.body(ackGuard.registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );

  const unauthorized = (c: Context) =>
    errorBody(c, 401, "unauthorized", "Cannot authenticate: a valid bearer token is required");

  app.post(
    "/v1/tables/:table/events",
    timeout(
      settings.requestTimeoutMs + TIMEOUT_GUARD_MS,
      () =>
        httpError(
          503,
          "runner_unavailable",
          "Cannot answer in time: the events may still be committed",
        ),
    ),
    async (c, next) => {
      const table = c.req.param("table");
      if (!TABLE_NAME_RE.test(table)) {
        return errorBody(c, 400, "invalid_table_name", `Cannot accept table name "${table}"`);
      }
      await next();
    },
    bearerAuth({
      verifyToken: async (token, c) => {
        const digest = await tokenDigest(token);
        let grants: Grants | undefined;
        for (const candidate of await tokenDigests) {
          // Every candidate is compared, so the time does not depend on which one matches.
          if (digestsEqual(digest, candidate.digest)) grants = candidate.grants;
        }
        if (grants === undefined) return false;
        (c as Context<Env>).set("grants", grants);
        return true;
      },
      noAuthenticationHeader: { message: unauthorized },
      invalidAuthenticationHeader: { message: unauthorized },
      invalidToken: { message: unauthorized },
    }),
    async (c, next) => {
      const table = c.req.param("table");
      const grants = c.get("grants");
      if (grants !== "*" && !grants.has(table)) {
        return errorBody(c, 403, "forbidden", `Cannot write table "${table}" with this token`);
      }
      if (!tables.has(table)) {
        return errorBody(c, 404, "unknown_table", `Cannot find table "${table}"`);
      }
      const type = mediaType(c.req.header("content-type"));
      if (!JSON_TYPES.has(type) && !NDJSON_TYPES.has(type) && !ARROW_TYPES.has(type)) {
        return errorBody(
          c,
          415,
          "unsupported_media_type",
          `Cannot read content type "${type}": use application/json, application/x-ndjson or ${ARROW_STREAM_CONTENT_TYPE}`,
        );
      }
      await next();
    },
    bodyLimit({
      maxSize: settings.requestBodyBytesMax,
      onError: (c) =>
        errorBody(
          c,
          413,
          "payload_too_large",
          `Cannot accept a body over ${settings.requestBodyBytesMax} bytes`,
        ),
    }),
    async (c) => {
      const deadlineMs = clock.nowMs() + settings.requestTimeoutMs;
      const tableName = c.req.param("table");
      const state = tables.get(tableName)!;
      const type = mediaType(c.req.header("content-type"));
      const producer = readClientProducer((name) => c.req.header(name));
      if (typeof producer === "string") return errorBody(c, 400, "invalid_header", producer);
      const bytes = new Uint8Array(await c.req.arrayBuffer());

      let batches: arrow.RecordBatch[];
      try {
        if (ARROW_TYPES.has(type)) {
          let table: arrow.Table;
          try {
            // Checked before Arrow JS decodes it: a corrupt header must not exhaust memory.
            table = decodeArrowIpc(bytes);
          } catch (e) {
            return errorBody(c, 400, "malformed_body", `Cannot read Arrow IPC body: ${String(e)}`);
          }
          batches = state.converter.fromArrow(table);
        } else {
          const events = parseJsonEvents(bytes, NDJSON_TYPES.has(type));
          batches = events.length === 0 ? [] : [state.converter.fromEvents(events)];
        }
      } catch (e) {
        if (e instanceof SchemaViolationError) {
          return errorBody(c, 422, "schema_violation", e.message, { row: e.row, field: e.field });
        }
        throw e;
      }
      batches = batches.filter((b) => b.numRows > 0);
      if (batches.length === 0) {
        return errorBody(c, 400, "empty_body", "Cannot accept a request without events");
      }
      if (clock.nowMs() >= deadlineMs) {
        return errorBody(
          c,
          503,
          "runner_unavailable",
          "Cannot accept the request: deadline passed while reading it",
          { written: "no" },
        );
      }
      const refused = ackGuard.refusal(tableName, deadlineMs);
      if (refused !== undefined) {
        c.header("Retry-After", String(refused.retryAfterS));
        return errorBody(
          c,
          503,
          "deadline_unmeetable",
          `Cannot commit before the deadline: table "${tableName}" takes at least ${refused.soonestMs} ms now`,
          { written: "no" },
        );
      }
      let bytesTotal = 0;
      for (const b of batches) bytesTotal += recordBatchBytes(b);
      if (producer !== undefined) {
        const schema = state.converter.arrowSchema;
        const request = {
          table: tableName,
          schema,
          batches,
          bytes: bytesTotal,
          producer,
          deadlineMs,
        };
        const outcome = sequenced.submit(request);
        if (outcome !== undefined) return answerSequenced(c, await outcome);
        c.header("Retry-After", "1");
        return errorBody(c, 429, "buffer_full", `Cannot forward more events for "${tableName}"`);
      }
      const result = state.buffer.submit(batches, bytesTotal, deadlineMs);
      if (!result.accepted) {
        if (result.reason === "too_large") {
          return errorBody(
            c,
            413,
            "payload_too_large",
            "Cannot buffer a request larger than the table's buffer",
          );
        }
        // A batch in flight is answered within a commit: a second is plenty to find room again.
        c.header("Retry-After", "1");
        return errorBody(
          c,
          429,
          "buffer_full",
          `Cannot buffer more events for table "${tableName}": retry later`,
        );
      }
      const outcome = await result.outcome;
      if (outcome.status === "committed") {
        ackGuard.observe(tableName, clock.nowMs() - (deadlineMs - settings.requestTimeoutMs));
      }
      return answer(c, outcome);
    },
  );

  const answer = (c: Context, outcome: SubmitOutcome): Response => {
    switch (outcome.status) {
      case "committed":
        return c.json({ version: outcome.version, rows: outcome.rows }, 200);
      case "rejected":
        return errorBody(c, 502, "runner_rejected", `Cannot commit the events: ${outcome.detail}`);
      case "timeout":
        c.header("Retry-After", "1");
        return errorBody(
          c,
          503,
          "runner_unavailable",
          outcome.written === "no"
            ? "Cannot commit in time: the events were not written"
            : "Cannot confirm the commit in time: the events may still be committed",
          { written: outcome.written },
        );
    }
  };

  return Object.assign(app, {
    stats(table: string) {
      return tables.get(table)?.buffer.stats();
    },
    close() {
      for (const t of tables.values()) t.buffer.close();
      sequenced.close();
    },
  });
}
