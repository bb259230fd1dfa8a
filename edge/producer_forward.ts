/**
 * Requests of idempotent client producers at the edge (ADR 0037): a request that carries
 * `Lakestrike-Producer` and `Lakestrike-Sequence` (`client/protocol.ts`) does not join the table's
 * buffer. It is forwarded alone, once, as a batch whose producer is the client's `txn` appId
 * (`lakestrike-client:<id>`) and whose seq is the client's sequence, and the runner's answer is
 * the client's:
 *
 * ```
 *  request (validated, converted) ──▶ one forward, deadline = the request's ──┬─ 200 ─▶ 200 {version, rows, duplicate?}
 *     │ bytes in flight over bufferBytesMax: 429                               ├─ 409 ─▶ 409 {expectedSequence}
 *                                                                              ├─ 429 ─▶ 429 (Retry-After)
 *                                                                              ├─ 4xx ─▶ 502 (not written)
 *                                                                              └─ 5xx, network, deadline ─▶ 503 {written}
 * ```
 *
 * The edge does not retry: the client does, with the same `(producer, sequence)`, which is safe
 * because the runner commits each at most once. Buffering would not help either: the commit that
 * writes the request must carry the client's own `txn`, and the client batches already.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import type { Context } from "hono";
import {
  clientAppId,
  parseSequence,
  PRODUCER_ID_HEADER,
  PRODUCER_ID_RE,
  SEQUENCE_HEADER,
} from "../client/protocol.ts";
import type { EdgeClock, EdgeTimers } from "./fake_timers.ts";
import { type BatchAnswer, type ForwardBatch, ForwardError } from "./wire.ts";

/** The producer headers of a request. */
export interface ClientProducer {
  /** `Lakestrike-Producer`. */
  producerId: string;
  /** `Lakestrike-Sequence`. */
  sequence: number;
}

/**
 * Reads the producer headers: `undefined` when neither is given, an error message when they are
 * invalid or only one is given.
 *
 * @example
 * ```ts
 * import { readClientProducer } from "./producer_forward.ts";
 * const h = new Headers({ "lakestrike-producer": "p-1", "lakestrike-sequence": "3" });
 * const p = readClientProducer((name) => h.get(name) ?? undefined);
 * if (typeof p !== "object" || p.sequence !== 3) throw new Error();
 * if (readClientProducer(() => undefined) !== undefined) throw new Error();
 * ```
 */
export function readClientProducer(
  header: (name: string) => string | undefined,
): ClientProducer | string | undefined {
  const producerId = header(PRODUCER_ID_HEADER);
  const sequenceText = header(SEQUENCE_HEADER);
  if (producerId === undefined && sequenceText === undefined) return undefined;
  if (producerId === undefined || sequenceText === undefined) {
    return `Cannot accept the request: give both ${PRODUCER_ID_HEADER} and ${SEQUENCE_HEADER}, or neither`;
  }
  if (!PRODUCER_ID_RE.test(producerId)) {
    return `Cannot accept ${PRODUCER_ID_HEADER} ${
      JSON.stringify(producerId.slice(0, 140))
    }: 1 to 128 of A-Z a-z 0-9 . _ ~ -, starting with a letter or digit`;
  }
  const sequence = parseSequence(sequenceText.trim());
  if (sequence === undefined) {
    return `Cannot accept ${SEQUENCE_HEADER} ${
      JSON.stringify(sequenceText.slice(0, 40))
    }: a positive integer`;
  }
  return { producerId, sequence };
}

/** How a producer's request ended. */
export type SequencedOutcome =
  | { status: "committed"; version: number; rows: number; duplicate: boolean }
  | { status: "sequence"; error: string; detail: string; expectedSequence: number | undefined }
  | { status: "busy"; detail: string }
  | { status: "rejected"; detail: string }
  | { status: "unavailable"; written: "no" | "unknown"; detail: string };

/** One producer's request, validated and converted. */
export interface SequencedRequest {
  table: string;
  schema: arrow.Schema;
  batches: readonly arrow.RecordBatch[];
  bytes: number;
  producer: ClientProducer;
  /** Clock time by which it must be answered. */
  deadlineMs: number;
}

/** Options of {@linkcode createSequencedForwarder}. */
export interface SequencedForwarderOptions {
  forward: ForwardBatch;
  clock: EdgeClock;
  timers: EdgeTimers;
  /** Bytes of producers' requests in flight per table above which new ones get 429. */
  bytesInFlightMax: number;
}

/** Forwards producers' requests. */
export interface SequencedForwarder {
  /** `undefined` when the table has too many bytes in flight (429). */
  submit(request: SequencedRequest): Promise<SequencedOutcome> | undefined;
  /** Aborts the forwards in flight (their clients get 503 `written: "unknown"`). */
  close(): void;
}

function outcomeOfError(e: ForwardError): SequencedOutcome {
  if (e.status === 409) {
    const c = e.body.committedSeq;
    return {
      status: "sequence",
      error: e.body.error ?? "sequence_conflict",
      detail: e.message,
      expectedSequence: c === undefined ? undefined : c + 1,
    };
  }
  if (e.status === 429) return { status: "busy", detail: e.message };
  if (!e.retryable) return { status: "rejected", detail: e.message };
  return {
    status: "unavailable",
    written: e.mayHaveCommitted ? "unknown" : "no",
    detail: e.message,
  };
}

/**
 * Creates the forwarder of producers' requests.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { createSequencedForwarder } from "./producer_forward.ts";
 * import { createFakeTimers } from "./fake_timers.ts";
 * const timers = createFakeTimers(0);
 * const seen: string[] = [];
 * const forwarder = createSequencedForwarder({
 *   clock: timers, timers, bytesInFlightMax: 1 << 20,
 *   forward: (b) => { seen.push(`${b.producerId} ${b.seq}`); return Promise.resolve({ version: 4, rows: 1 }); },
 * });
 * const t = arrow.tableFromArrays({ n: Int32Array.of(1) });
 * const outcome = await forwarder.submit({
 *   table: "t", schema: t.schema, batches: t.batches, bytes: 4,
 *   producer: { producerId: "p", sequence: 9 }, deadlineMs: 1000,
 * });
 * if (outcome?.status !== "committed" || seen[0] !== "lakestrike-client:p 9") throw new Error();
 * ```
 */
export function createSequencedForwarder(options: SequencedForwarderOptions): SequencedForwarder {
  const o = options;
  const bytesInFlight = new Map<string, number>();
  const inFlight = new Set<AbortController>();
  let closed = false;

  const forwardOnce = async (r: SequencedRequest): Promise<BatchAnswer | ForwardError> => {
    const controller = new AbortController();
    inFlight.add(controller);
    let timer: unknown;
    const ms = Math.max(0, r.deadlineMs - o.clock.nowMs());
    const expired = new Promise<never>((_, reject) => {
      timer = o.timers.setTimeout(() => {
        const error = new ForwardError(`no answer within the request's deadline (${ms} ms)`, true);
        controller.abort(error);
        reject(error);
      }, ms);
    });
    try {
      const body = arrow.tableToIPC(new arrow.Table(r.schema, [...r.batches]), "stream");
      const batch = {
        table: r.table,
        producerId: clientAppId(r.producer.producerId),
        seq: r.producer.sequence,
        body,
      };
      return await Promise.race([o.forward(batch, controller.signal), expired]);
    } catch (e) {
      return e instanceof ForwardError ? e : new ForwardError(String(e), true, undefined, {
        cause: e,
      });
    } finally {
      o.timers.clearTimeout(timer);
      inFlight.delete(controller);
    }
  };

  return {
    submit(r) {
      const held = bytesInFlight.get(r.table) ?? 0;
      if (closed || (held > 0 && held + r.bytes > o.bytesInFlightMax)) return undefined;
      bytesInFlight.set(r.table, held + r.bytes);
      return forwardOnce(r).then((result): SequencedOutcome => {
        if (result instanceof ForwardError) return outcomeOfError(result);
        return {
          status: "committed",
          version: result.version,
          rows: result.rows,
          duplicate: result.duplicate === true,
        };
      }).finally(() => {
        const left = (bytesInFlight.get(r.table) ?? 0) - r.bytes;
        if (left > 0) bytesInFlight.set(r.table, left);
        else bytesInFlight.delete(r.table);
      });
    },
    close() {
      closed = true;
      for (const c of inFlight) c.abort(new ForwardError("the edge is closing", true));
    },
  };
}

/**
 * The HTTP answer of a producer's request (the table in ADR 0037 and the README's guarantees).
 */
export function answerSequenced(c: Context, outcome: SequencedOutcome): Response {
  switch (outcome.status) {
    case "committed":
      return c.json(
        outcome.duplicate
          ? { version: outcome.version, rows: outcome.rows, duplicate: true }
          : { version: outcome.version, rows: outcome.rows },
        200,
      );
    case "sequence":
      return c.json({
        error: outcome.error,
        detail: outcome.detail,
        written: "no",
        ...(outcome.expectedSequence === undefined
          ? {}
          : { expectedSequence: outcome.expectedSequence }),
      }, 409);
    case "busy":
      c.header("Retry-After", "1");
      return c.json({ error: "buffer_full", detail: outcome.detail, written: "no" }, 429);
    case "rejected":
      return c.json({
        error: "runner_rejected",
        detail: `Cannot commit the events: ${outcome.detail}`,
        written: "no",
      }, 502);
    case "unavailable":
      c.header("Retry-After", "1");
      return c.json({
        error: "runner_unavailable",
        detail: outcome.written === "no"
          ? `Cannot commit now, the events were not written: ${outcome.detail}`
          : `Cannot confirm the commit, the events may be committed: ${outcome.detail}`,
        written: outcome.written,
      }, 503);
  }
}
