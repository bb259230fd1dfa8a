/**
 * The lakestrike client: sends events to an edge as one idempotent producer (ADR 0037) and
 * resolves each `send` once its events are committed. Runtime-neutral: only `fetch`,
 * `AbortController`, `setTimeout` and `crypto`, so it runs in Deno, Node (18+) and browsers.
 *
 * Events wait in a queue; one request is in flight at a time (the producer's sequences must
 * commit in order). When nothing is in flight the queue is sealed into a batch, after `lingerMs`,
 * of whole `send` calls up to `batchEventsMax` events and `batchBytesMax` bytes (a larger single
 * call travels alone), takes the next sequence and is posted with `Lakestrike-Producer` and
 * `Lakestrike-Sequence`. What arrives meanwhile waits for the next batch.
 *
 * ```
 *  send ─▶ queue ─▶ seal (next sequence) ─▶ POST ──200──────────────────▶ resolve (version, duplicate?)
 *          (≤ queueEventsMax)                ▲  │ 429, 5xx, network, timeout
 *                                            │  ▼
 *                                      backoff + jitter, at least Retry-After; same sequence, same body
 *                                               │ 409 and no attempt may have written: take the
 *                                               │ expectedSequence, post again (no wait)
 *                                               │ other 4xx, 502, 409 after an uncertain attempt,
 *                                               ▼ or attemptsMax failures
 *                                            reject (LakestrikeClientError, written "no" | "unknown")
 * ```
 *
 * Every retry carries the same `(producer, sequence)` and the same bytes, so an answer that was
 * lost (a 503 `written: "unknown"`, a timeout, a reset connection) is retried without risk: the
 * table holds the events once and the retry is answered `duplicate: true`. A batch given up after
 * an attempt that may have written it can still commit later; the client then moves to a new
 * producer id (random), so no later batch can be mistaken for it: what was given up is in the
 * table at most once. A batch given up with `written: "no"` left nothing, and its sequence is
 * used again by the next batch.
 *
 * @module
 */
import { PRODUCER_ID_HEADER, PRODUCER_ID_RE, SEQUENCE_HEADER } from "./protocol.ts";

/** An event: one row, as a JSON object. */
export type LakestrikeEvent = Record<string, unknown>;

/** Options of {@linkcode createClient}. */
export interface ClientOptions {
  /** Base URL of an edge, e.g. `https://ingest.example.com`. */
  url: string;
  /** Bearer token granted the table. */
  token: string;
  /** Table name. */
  table: string;
  /**
   * The producer id (default: a random UUID). One client at a time per id. To resume exactly once
   * after a restart, keep the id and pass the sequence of the batch that was in flight as
   * `firstSequence`, and send that batch's events first.
   */
  producerId?: string;
  /** Sequence of the first batch (default 1). */
  firstSequence?: number;
  /** Events of a batch made of several `send` calls (default 1,000). */
  batchEventsMax?: number;
  /** JSON characters of a batch made of several `send` calls (default 1 MiB). */
  batchBytesMax?: number;
  /** Events queued and in flight before `send` rejects with `queue_full` (default 100,000). */
  queueEventsMax?: number;
  /** Wait before sealing a batch when nothing is in flight, to gather calls (default 0). */
  lingerMs?: number;
  /** Deadline of one request (default 15,000; an edge answers by its own deadline, 5 s). */
  requestTimeoutMs?: number;
  /** First retry delay; doubles per attempt (default 50). */
  retryDelayBaseMs?: number;
  /** Largest retry delay from the backoff (default 5,000). */
  retryDelayMaxMs?: number;
  /** Largest `Retry-After` honoured (default 60,000). */
  retryAfterMaxMs?: number;
  /** Attempts of one batch before it is given up (default 20). */
  attemptsMax?: number;
  /** The `fetch` to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Random source in [0, 1) for jitter (default `Math.random`). */
  random?: () => number;
}

/** Defaults of {@linkcode ClientOptions}. */
export const CLIENT_DEFAULTS = {
  firstSequence: 1,
  batchEventsMax: 1_000,
  batchBytesMax: 1024 * 1024,
  queueEventsMax: 100_000,
  lingerMs: 0,
  requestTimeoutMs: 15_000,
  retryDelayBaseMs: 50,
  retryDelayMaxMs: 5_000,
  retryAfterMaxMs: 60_000,
  attemptsMax: 20,
} as const;

/** What a `send` resolves with: its events are committed. */
export interface SendResult {
  /** A table version at which the events are visible. */
  version: number;
  /** True when an earlier attempt had committed them (this answer wrote nothing). */
  duplicate: boolean;
  /** The producer id and sequence the events were committed under. */
  producerId: string;
  sequence: number;
}

/** Counters of a client, since it was created. */
export interface ClientMetrics {
  /** Requests posted (attempts). */
  requests: number;
  /** Attempts that were retried, in all and by cause. */
  retries: number;
  retriesByCause: {
    status429: number;
    status503: number;
    status5xx: number;
    network: number;
    timeout: number;
  };
  /** Waits that honoured a `Retry-After`. */
  retryAfterWaits: number;
  /** Batches and events committed. */
  committedBatches: number;
  committedEvents: number;
  /** Batches answered `duplicate: true`. */
  duplicates: number;
  /** 409s answered by taking the `expectedSequence`. */
  sequenceResets: number;
  /** New producer ids taken after giving up a batch that may have been written. */
  producerRenewals: number;
  /** Batches and events given up (their `send` rejected). */
  gaveUpBatches: number;
  gaveUpEvents: number;
  /** Events waiting, and in flight. */
  queuedEvents: number;
  inFlightEvents: number;
}

/** A `send` that did not commit. */
export class LakestrikeClientError extends Error {
  /** The error code (`queue_full`, `closed`, the edge's code, `network`, `timeout`). */
  readonly code: string;
  /** HTTP status of the last answer, if any. */
  readonly status: number | undefined;
  /** `"no"`: the events are not in the table; `"unknown"`: they may be, at most once. */
  readonly written: "no" | "unknown";
  /** Create the error. */
  constructor(
    message: string,
    code: string,
    written: "no" | "unknown",
    status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "LakestrikeClientError";
    this.code = code;
    this.written = written;
    this.status = status;
  }
}

/** A client of one table. */
export interface LakestrikeClient {
  /**
   * Queue events (one object or an array); resolves once they are committed, rejects with a
   * {@linkcode LakestrikeClientError} when they were given up.
   */
  send(events: LakestrikeEvent | readonly LakestrikeEvent[]): Promise<SendResult>;
  /** Send what waits now; resolves when everything sent before is settled. */
  flush(): Promise<void>;
  /** Refuse further sends and wait until everything queued is settled. */
  close(): Promise<void>;
  /** A copy of the counters. */
  metrics(): ClientMetrics;
  /** The producer id the next batch is sent with. */
  readonly producerId: string;
  /** The sequence the next batch takes. */
  readonly nextSequence: number;
}

interface Entry {
  /** The events' JSON without the array brackets. */
  json: string;
  events: number;
  resolve: (result: SendResult) => void;
  reject: (error: LakestrikeClientError) => void;
}

interface Batch {
  producerId: string;
  sequence: number;
  entries: Entry[];
  events: number;
  body: string;
  attempts: number;
  /** An attempt may have written the batch. */
  uncertain: boolean;
}

type AttemptResult =
  | { kind: "answer"; status: number; body: Record<string, unknown>; retryAfterMs?: number }
  | { kind: "network"; error: unknown }
  | { kind: "timeout" };

function randomProducerId(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === "function") return c.randomUUID();
  const bytes = c.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads a `Retry-After` value (seconds, or an HTTP date) as ms from `nowMs`.
 *
 * @example
 * ```ts
 * import { parseRetryAfterMs } from "./client.ts";
 * if (parseRetryAfterMs("2", 0) !== 2000) throw new Error();
 * if (parseRetryAfterMs("Thu, 01 Jan 1970 00:00:03 GMT", 1000) !== 2000) throw new Error();
 * if (parseRetryAfterMs("soon", 0) !== undefined) throw new Error();
 * ```
 */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0)) {
    throw new RangeError(
      `Cannot create the client: ${name} must be a non-negative number, got ${v}`,
    );
  }
  return v;
}

/**
 * Creates a client.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * const seen: string[] = [];
 * const client = createClient({
 *   url: "http://edge", token: "t", table: "events", producerId: "p-1",
 *   fetch: (_url, init) => {
 *     const h = new Headers(init?.headers);
 *     seen.push(`${h.get("lakestrike-producer")} ${h.get("lakestrike-sequence")}`);
 *     return Promise.resolve(Response.json({ version: 3, rows: 2 }));
 *   },
 * });
 * const result = await client.send([{ n: 1 }, { n: 2 }]);
 * if (result.version !== 3 || seen[0] !== "p-1 1") throw new Error();
 * await client.close();
 * ```
 */
export function createClient(options: ClientOptions): LakestrikeClient {
  const o = { ...CLIENT_DEFAULTS };
  for (const key of Object.keys(CLIENT_DEFAULTS) as (keyof typeof CLIENT_DEFAULTS)[]) {
    const v = options[key];
    if (v !== undefined) (o as Record<string, number>)[key] = positive(key, v);
  }
  if (!Number.isSafeInteger(o.firstSequence) || o.firstSequence < 1) {
    throw new RangeError("Cannot create the client: firstSequence must be a positive integer");
  }
  if (options.producerId !== undefined && !PRODUCER_ID_RE.test(options.producerId)) {
    throw new TypeError(
      `Cannot create the client: producerId ${
        JSON.stringify(options.producerId)
      } is not 1 to 128 of A-Z a-z 0-9 . _ ~ -`,
    );
  }
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const random = options.random ?? Math.random;
  const url = `${options.url.replace(/\/+$/, "")}/v1/tables/${
    encodeURIComponent(options.table)
  }/events`;
  let producerId = options.producerId ?? randomProducerId();
  let nextSequence: number = o.firstSequence;
  /** Highest sequence acknowledged under `producerId` (0: none). */
  let ackedUpTo = 0;
  const waiting: Entry[] = [];
  let waitingEvents = 0;
  let inFlight: Batch | undefined;
  let linger: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  /** One promise per `send` not yet settled, settling with it (never rejecting). */
  const unsettled = new Set<Promise<void>>();
  const m: ClientMetrics = {
    requests: 0,
    retries: 0,
    retriesByCause: { status429: 0, status503: 0, status5xx: 0, network: 0, timeout: 0 },
    retryAfterWaits: 0,
    committedBatches: 0,
    committedEvents: 0,
    duplicates: 0,
    sequenceResets: 0,
    producerRenewals: 0,
    gaveUpBatches: 0,
    gaveUpEvents: 0,
    queuedEvents: 0,
    inFlightEvents: 0,
  };

  const seal = (): Batch => {
    const entries: Entry[] = [];
    let events = 0, bytes = 0;
    while (waiting.length > 0) {
      const e = waiting[0]!;
      const over = events + e.events > o.batchEventsMax || bytes + e.json.length > o.batchBytesMax;
      if (entries.length > 0 && over) break;
      waiting.shift();
      entries.push(e);
      events += e.events;
      bytes += e.json.length + 1;
    }
    waitingEvents -= events;
    const body = `[${entries.map((e) => e.json).join(",")}]`;
    const batch = {
      producerId,
      sequence: nextSequence++,
      entries,
      events,
      body,
      attempts: 0,
      uncertain: false,
    };
    return batch;
  };

  const maybeSend = (now = false) => {
    if (inFlight !== undefined || waiting.length === 0) return;
    if (!now && o.lingerMs > 0) {
      linger ??= setTimeout(() => {
        linger = undefined;
        maybeSend(true);
      }, o.lingerMs);
      return;
    }
    if (linger !== undefined) clearTimeout(linger);
    linger = undefined;
    inFlight = seal();
    void run(inFlight);
  };

  const attempt = async (batch: Batch): Promise<AttemptResult> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), o.requestTimeoutMs);
    m.requests++;
    try {
      const res = await doFetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${options.token}`,
          "content-type": "application/json",
          [PRODUCER_ID_HEADER]: batch.producerId,
          [SEQUENCE_HEADER]: String(batch.sequence),
        },
        body: batch.body,
        signal: controller.signal,
      });
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        const parsed = JSON.parse(text);
        if (typeof parsed === "object" && parsed !== null) body = parsed;
      } catch { /* not JSON: an answer from something in between */ }
      const retryAfterMs = parseRetryAfterMs(res.headers.get("retry-after"), Date.now());
      return retryAfterMs === undefined
        ? { kind: "answer", status: res.status, body }
        : { kind: "answer", status: res.status, body, retryAfterMs };
    } catch (error) {
      return controller.signal.aborted ? { kind: "timeout" } : { kind: "network", error };
    } finally {
      clearTimeout(timer);
    }
  };

  const finish = (batch: Batch) => {
    if (inFlight === batch) inFlight = undefined;
    maybeSend();
  };

  const giveUp = (batch: Batch, error: LakestrikeClientError) => {
    m.gaveUpBatches++;
    m.gaveUpEvents += batch.events;
    if (error.written === "unknown") {
      // The batch may still commit under (producer, sequence): never send anything else under it.
      producerId = randomProducerId();
      nextSequence = o.firstSequence;
      ackedUpTo = 0;
      m.producerRenewals++;
    } else if (batch.producerId === producerId && nextSequence === batch.sequence + 1) {
      nextSequence = batch.sequence; // nothing took it
    }
    for (const e of batch.entries) e.reject(error);
    finish(batch);
  };

  const run = async (batch: Batch) => {
    for (;;) {
      batch.attempts++;
      const r = await attempt(batch);
      if (r.kind === "answer" && r.status >= 200 && r.status < 300) {
        const version = r.body.version;
        if (typeof version === "number" && Number.isSafeInteger(version)) {
          const duplicate = r.body.duplicate === true;
          if (batch.producerId === producerId) ackedUpTo = Math.max(ackedUpTo, batch.sequence);
          m.committedBatches++;
          m.committedEvents += batch.events;
          if (duplicate) m.duplicates++;
          const result = {
            version,
            duplicate,
            producerId: batch.producerId,
            sequence: batch.sequence,
          };
          for (const e of batch.entries) e.resolve(result);
          finish(batch);
          return;
        }
      }
      const status = r.kind === "answer" ? r.status : undefined;
      const code = r.kind === "answer"
        ? (typeof r.body.error === "string" ? r.body.error : `http_${r.status}`)
        : r.kind;
      const detail = r.kind === "answer"
        ? (typeof r.body.detail === "string" ? r.body.detail : `answered ${r.status}`)
        : r.kind === "timeout"
        ? `no answer within ${o.requestTimeoutMs} ms`
        : String(r.error);
      const what = `Cannot send batch ${batch.sequence} of producer ${batch.producerId}`;
      if (status === 409) {
        const expected = r.kind === "answer" ? r.body.expectedSequence : undefined;
        if (
          !batch.uncertain && typeof expected === "number" && Number.isSafeInteger(expected) &&
          expected > ackedUpTo
        ) {
          // Nothing of this batch was written and nothing of it is in flight: renumber it. Never
          // to a sequence this client was told is committed: that would be answered "duplicate".
          m.sequenceResets++;
          batch.sequence = expected;
          nextSequence = expected + 1;
          if (batch.attempts < o.attemptsMax) continue;
        }
      }
      // A 2xx here had an unreadable body: its fate is unknown too.
      const retryable = status === undefined || status < 300 || status === 408 ||
        status === 425 || status === 429 || (status >= 500 && status !== 502);
      // A 4xx, or a 5xx that says "written: no", left nothing; anything else may have written.
      const wroteNothing = (status !== undefined && status >= 400 && status < 500) ||
        (r.kind === "answer" && r.body.written === "no");
      if (!wroteNothing) batch.uncertain = true;
      const written = batch.uncertain ? "unknown" : "no";
      if (!retryable || batch.attempts >= o.attemptsMax) {
        giveUp(
          batch,
          new LakestrikeClientError(
            `${what} (attempt ${batch.attempts}): ${detail}`,
            code,
            written,
            status,
            r.kind === "network" ? { cause: r.error } : undefined,
          ),
        );
        return;
      }
      m.retries++;
      const causes = m.retriesByCause;
      if (status === 429) causes.status429++;
      else if (status === 503) causes.status503++;
      else if (status !== undefined) causes.status5xx++;
      else if (r.kind === "timeout") causes.timeout++;
      else causes.network++;
      // Equal jitter: half the exponential delay plus a random half, at least the Retry-After.
      const ceiling = Math.min(o.retryDelayMaxMs, o.retryDelayBaseMs * 2 ** (batch.attempts - 1));
      let delay = ceiling / 2 + random() * ceiling / 2;
      const retryAfterMs = r.kind === "answer" ? r.retryAfterMs : undefined;
      if (retryAfterMs !== undefined && retryAfterMs > delay) {
        m.retryAfterWaits++;
        delay = Math.min(retryAfterMs, o.retryAfterMaxMs);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };

  const settledNow = async () => {
    await Promise.all([...unsettled]);
  };

  return {
    send(events) {
      const list = Array.isArray(events) ? events : [events];
      if (closed) {
        return Promise.reject(
          new LakestrikeClientError("Cannot send: the client is closed", "closed", "no"),
        );
      }
      if (list.length === 0) {
        return Promise.reject(
          new LakestrikeClientError("Cannot send no events", "empty_body", "no"),
        );
      }
      const inFlightEvents = inFlight?.events ?? 0;
      if (waitingEvents + inFlightEvents + list.length > o.queueEventsMax) {
        return Promise.reject(
          new LakestrikeClientError(
            `Cannot queue ${list.length} events: ${
              waitingEvents + inFlightEvents
            } wait (queueEventsMax ${o.queueEventsMax})`,
            "queue_full",
            "no",
          ),
        );
      }
      const json = JSON.stringify(list).slice(1, -1);
      const promise = new Promise<SendResult>((resolve, reject) => {
        waiting.push({ json, events: list.length, resolve, reject });
        waitingEvents += list.length;
      });
      const settled = promise.then(() => {}, () => {});
      unsettled.add(settled);
      void settled.then(() => unsettled.delete(settled));
      maybeSend();
      return promise;
    },
    flush() {
      maybeSend(true);
      return settledNow();
    },
    close() {
      closed = true;
      maybeSend(true);
      return settledNow();
    },
    metrics() {
      return {
        ...m,
        retriesByCause: { ...m.retriesByCause },
        queuedEvents: waitingEvents,
        inFlightEvents: inFlight?.events ?? 0,
      };
    },
    get producerId() {
      return producerId;
    },
    get nextSequence() {
      return nextSequence;
    },
  };
}
