/**
 * The wire contract between the edge and the batch runner (docs/design.md section 4), and an HTTP
 * client for it.
 *
 * `POST {runnerUrl}/v1/tables/{table}/batches` with an Arrow IPC stream body
 * (`application/vnd.apache.arrow.stream`) and the headers
 *
 * * `x-lakestrike-producer`: stable id of the edge;
 * * `x-lakestrike-seq`: per producer and table, strictly increasing (gaps allowed);
 * * `authorization: Bearer <runner token>`.
 *
 * The runner commits the batch with a Delta `txn` action `{appId: producer, version: seq}` and
 * answers `200 {"version": N, "rows": R}`. The retry of a committed batch (its seq is the
 * producer's committed one) is answered `200 {"version", "rows", "duplicate": true}` and is not
 * written twice, which is what makes retries with the same seq safe. A seq below the committed one
 * that the runner cannot show was committed is refused with `409 sequence_conflict` (nothing
 * written): a producer id is unique per edge incarnation (ADR 0022), so the edge answers a 409 by
 * taking a new producer id.
 *
 * A `200` may carry `x-lakestrike-next-commit-in-ms: D` (ADR 0031): the table's next commit
 * cannot start within `D` ms (its ceiling on commits per second), so the edge may hold its next
 * batch that long and send more in it, instead of sending it at once to wait in the runner. An
 * absent or unreadable value means no hold; it never makes an answer fail.
 *
 * Status codes the runner uses and how the edge reads them: 2xx is the answer; 408, 425, 429 and
 * every 5xx are transient (retry with the same seq); any other 4xx is a definitive rejection of the
 * batch (it was not committed). Error bodies are `{error, detail, written}`, where `written` is
 * `"no"` when the batch was certainly not committed and `"unknown"` when it may have been.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Path of the runner's batch endpoint for a table. */
export function batchesPath(table: string): string {
  return `/v1/tables/${encodeURIComponent(table)}/batches`;
}

/** Content type of an Arrow IPC stream. */
export const ARROW_STREAM_CONTENT_TYPE = "application/vnd.apache.arrow.stream";
/** Header carrying the stable id of the producing edge. */
export const PRODUCER_HEADER = "x-lakestrike-producer";
/** Header carrying the per producer and table sequence number of a batch. */
export const SEQ_HEADER = "x-lakestrike-seq";
/** Header of a `200` answer: ms before the table's next commit may start (its ceiling). */
export const NEXT_COMMIT_HEADER = "x-lakestrike-next-commit-in-ms";
/** Largest hold an answer's {@linkcode NEXT_COMMIT_HEADER} is read as (longer ones are cut). */
export const NEXT_COMMIT_IN_MS_MAX = 1_000;

/**
 * SHA-256 digest of a bearer token. The edge and the runner check tokens by comparing digests with
 * {@linkcode digestsEqual}, so the time taken depends neither on the token's length nor on where
 * it first differs.
 *
 * @example
 * ```ts
 * import { digestsEqual, tokenDigest } from "./wire.ts";
 * const expected = await tokenDigest("s3cret");
 * if (!digestsEqual(await tokenDigest("s3cret"), expected)) throw new Error("same token");
 * if (digestsEqual(await tokenDigest("s3cre"), expected)) throw new Error("other token");
 * ```
 */
export function tokenDigest(token: string): Promise<Uint8Array> {
  // node:crypto hashes synchronously in about 5 µs; WebCrypto's promise cost about 30 µs of the
  // event loop per request, twice per event batch (edge and runner), in a CPU profile at 100,000
  // events/s.
  return Promise.resolve(new Uint8Array(createHash("sha256").update(token, "utf8").digest()));
}

/** Compare two digests without an early exit; digests of different lengths are not equal. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i] ?? 0);
  return diff === 0;
}

/** One batch as the edge sends it. */
export interface BatchRequest {
  /** Table name. */
  table: string;
  /** Stable id of the edge (the `txn` appId). */
  producerId: string;
  /** Sequence number (the `txn` version); a retry reuses it. */
  seq: number;
  /** Arrow IPC stream bytes. */
  body: Uint8Array;
}

/** The runner's answer for a committed batch. */
export interface BatchAnswer {
  /** Delta table version that holds the batch. */
  version: number;
  /** Rows the runner committed for the batch. */
  rows: number;
  /** True when the batch was committed by an earlier attempt (nothing written this time). */
  duplicate?: boolean;
  /** Ms before the table's next commit may start (the runner's ceiling); absent: no hold. */
  nextCommitInMs?: number;
}

/**
 * Sends one batch and resolves with the runner's answer. It must reject with a
 * {@linkcode ForwardError} (or any error, read as transient) when the batch was not committed or
 * its fate is unknown, and it should stop when `signal` aborts.
 */
export type ForwardBatch = (batch: BatchRequest, signal: AbortSignal) => Promise<BatchAnswer>;

/** What the runner's error body said, when it said it. */
export interface ForwardErrorBody {
  /** The runner's error code (`write_failed`, `sequence_conflict`, ...). */
  error?: string;
  /** `"no"`: the batch was certainly not committed; `"unknown"`: it may have been. */
  written?: "no" | "unknown";
  /** On a 409: the producer's committed seq. */
  committedSeq?: number;
}

/** Forwarding a batch failed. */
export class ForwardError extends Error {
  /** True when a retry with the same seq may succeed; false when the runner rejected the batch. */
  readonly retryable: boolean;
  /** HTTP status of the runner's answer, when there was one. */
  readonly status: number | undefined;
  /** The runner's error body, when it answered one. */
  readonly body: ForwardErrorBody;
  /** Create the error. */
  constructor(
    message: string,
    retryable: boolean,
    status?: number,
    options?: ErrorOptions & { body?: ForwardErrorBody },
  ) {
    super(message, options);
    this.name = "ForwardError";
    this.retryable = retryable;
    this.status = status;
    this.body = options?.body ?? {};
  }

  /**
   * True when the failed attempt may have committed the batch all the same: a lost answer, a
   * timeout, a malformed answer, or a runner answer that says so (or does not say otherwise).
   * A 429 never took the batch.
   */
  get mayHaveCommitted(): boolean {
    if (this.status === undefined) return true;
    if (this.status === 429) return false;
    if (this.status < 500) return this.body.written === "unknown";
    return this.body.written !== "no";
  }
}

/**
 * Reads the `{error, written, committedSeq}` of a runner's error body (any other text reads as
 * nothing said).
 *
 * @example
 * ```ts
 * import { parseErrorBody } from "./wire.ts";
 * const body = parseErrorBody('{"error":"write_failed","written":"no"}');
 * if (body.error !== "write_failed" || body.written !== "no") throw new Error();
 * if (parseErrorBody("oops").written !== undefined) throw new Error();
 * ```
 */
export function parseErrorBody(text: string): ForwardErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof json !== "object" || json === null) return {};
  const { error, written, committedSeq } = json as Record<string, unknown>;
  const body: ForwardErrorBody = {};
  if (typeof error === "string") body.error = error.slice(0, 100);
  if (written === "no" || written === "unknown") body.written = written;
  if (Number.isSafeInteger(committedSeq)) body.committedSeq = committedSeq as number;
  return body;
}

/** Whether a runner status code is transient. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Options of {@linkcode forwardBatch} and {@linkcode createHttpForward}. */
export interface HttpForwardOptions {
  /** Base URL of the runner, e.g. `http://runner:8080`. */
  runnerUrl: string;
  /** Bearer token the runner expects. */
  runnerToken: string;
  /** The `fetch` to use (injected in tests). Defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/**
 * Reads and checks a runner answer body.
 *
 * @example
 * ```ts
 * import { parseBatchAnswer } from "./wire.ts";
 * if (parseBatchAnswer({ version: 3, rows: 10 })?.version !== 3) throw new Error();
 * if (parseBatchAnswer({ version: -1, rows: 10 }) !== undefined) throw new Error();
 * ```
 */
export function parseBatchAnswer(body: unknown): BatchAnswer | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { version, rows, duplicate } = body as Record<string, unknown>;
  if (!Number.isSafeInteger(version) || (version as number) < 0) return undefined;
  if (!Number.isSafeInteger(rows) || (rows as number) < 0) return undefined;
  const answer: BatchAnswer = { version: version as number, rows: rows as number };
  if (duplicate === true) answer.duplicate = true;
  return answer;
}

/**
 * Sends one batch to the runner over HTTP.
 *
 * @throws {ForwardError} retryable on network errors, transient statuses and malformed answers
 * (fate unknown); not retryable on other 4xx statuses.
 *
 * @example
 * ```ts
 * import { forwardBatch, SEQ_HEADER } from "./wire.ts";
 * const fakeFetch: typeof fetch = (input, init) => {
 *   const seq = new Headers(init?.headers).get(SEQ_HEADER);
 *   return Promise.resolve(Response.json({ version: Number(seq), rows: 1 }));
 * };
 * const answer = await forwardBatch(
 *   { table: "events", producerId: "edge-1", seq: 7, body: new Uint8Array() },
 *   { runnerUrl: "http://runner", runnerToken: "t", fetch: fakeFetch },
 * );
 * if (answer.version !== 7) throw new Error("unexpected");
 * ```
 */
export async function forwardBatch(
  batch: BatchRequest,
  options: HttpForwardOptions & { signal?: AbortSignal },
): Promise<BatchAnswer> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = options.runnerUrl.replace(/\/+$/, "") + batchesPath(batch.table);
  let response: Response;
  try {
    const init: RequestInit = {
      method: "POST",
      headers: {
        "content-type": ARROW_STREAM_CONTENT_TYPE,
        [PRODUCER_HEADER]: batch.producerId,
        [SEQ_HEADER]: String(batch.seq),
        authorization: `Bearer ${options.runnerToken}`,
      },
      body: batch.body as Uint8Array<ArrayBuffer>,
    };
    if (options.signal !== undefined) init.signal = options.signal;
    response = await doFetch(url, init);
  } catch (e) {
    throw new ForwardError(
      `Cannot forward batch ${batch.seq} of ${batch.table}: ${String(e)}`,
      true,
      undefined,
      { cause: e },
    );
  }
  const text = await response.text().catch(() => "");
  if (!response.ok) {
    throw new ForwardError(
      `Cannot forward batch ${batch.seq} of ${batch.table}: runner answered ${response.status} ${
        text.slice(0, 200)
      }`,
      isRetryableStatus(response.status),
      response.status,
      { body: parseErrorBody(text) },
    );
  }
  let answer: BatchAnswer | undefined;
  try {
    answer = parseBatchAnswer(JSON.parse(text));
  } catch {
    answer = undefined;
  }
  if (answer === undefined) {
    throw new ForwardError(
      `Cannot forward batch ${batch.seq} of ${batch.table}: malformed runner answer`,
      true,
      response.status,
    );
  }
  const nextCommitInMs = parseNextCommitInMs(response.headers.get(NEXT_COMMIT_HEADER));
  if (nextCommitInMs !== undefined) answer.nextCommitInMs = nextCommitInMs;
  return answer;
}

/**
 * Reads a {@linkcode NEXT_COMMIT_HEADER} value: a whole number of ms, cut to
 * {@linkcode NEXT_COMMIT_IN_MS_MAX}; `undefined` when absent, zero or unreadable (no hold).
 *
 * @example
 * ```ts
 * import { parseNextCommitInMs } from "./wire.ts";
 * if (parseNextCommitInMs("35") !== 35) throw new Error();
 * if (parseNextCommitInMs("99999") !== 1000) throw new Error("cut");
 * if (parseNextCommitInMs("soon") !== undefined || parseNextCommitInMs(null) !== undefined) {
 *   throw new Error("no hold");
 * }
 * ```
 */
export function parseNextCommitInMs(value: string | null): number | undefined {
  if (value === null || !/^\d{1,9}$/.test(value.trim())) return undefined;
  const ms = Number(value.trim());
  return ms > 0 ? Math.min(ms, NEXT_COMMIT_IN_MS_MAX) : undefined;
}

/**
 * Creates a {@linkcode ForwardBatch} that posts to a runner over HTTP.
 *
 * @example
 * ```ts
 * import { createHttpForward } from "./wire.ts";
 * const forward = createHttpForward({
 *   runnerUrl: "http://runner",
 *   runnerToken: "t",
 *   fetch: () => Promise.resolve(Response.json({ version: 1, rows: 2 })),
 * });
 * const answer = await forward(
 *   { table: "events", producerId: "edge-1", seq: 1, body: new Uint8Array() },
 *   new AbortController().signal,
 * );
 * if (answer.rows !== 2) throw new Error("unexpected");
 * ```
 */
export function createHttpForward(options: HttpForwardOptions): ForwardBatch {
  return (batch, signal) => forwardBatch(batch, { ...options, signal });
}
