/**
 * The per-table buffer of the edge: a small state machine that turns many client requests into a
 * few ordered, retry-safe batches for the runner.
 *
 * A request that passed validation is *submitted* as one entry (its Arrow record batches, rows and
 * bytes). Batching is natural (ADR 0030): when nothing is in flight for the table, the buffer
 * *seals* what waits at once, takes the next sequence number, encodes the batch as one Arrow IPC
 * stream and sends it, so a request that reaches an idle edge is forwarded without any timer. The
 * requests that arrive while a batch is in flight wait in a FIFO and group into the next batch,
 * sealed the moment the batch in flight is answered. The busier the runner, the longer a batch is
 * in flight and the larger the next one: no timer sets the pace, the commit does. A batch holds
 * whole entries, up to `flushRowsMax` rows and `flushBytesMax` bytes, except that a single entry
 * larger than that travels alone; what does not fit waits for the batch after. A request's events
 * never split across batches, so every request is answered by exactly one commit, after all its
 * events are committed, with its own row count.
 *
 * **The runner's pace** (ADR 0031). A runner spaces a table's commits (its ceiling on commits per
 * second) and says in an answer how long before the next commit may start (`nextCommitInMs`).
 * Sending the next batch sooner would only make it wait in the runner while newer requests wait
 * here for a whole further commit, so the buffer *holds* what waits for that long after the
 * answer, but never longer than `flushIntervalMs`, and seals it all in one batch; reaching
 * `flushRowsMax` or `flushBytesMax` ends a hold at once. So `flushIntervalMs` is the longest the
 * edge itself makes a request wait, not the shortest. A hold is a timer only (no clock reading), so
 * a clock that stands still or steps back cannot stretch it.
 *
 * ```
 *            submit, nothing in flight: seal at once
 *   idle ───────────────────────────────────────────────────────────────▶ in flight ──┐
 *    ▲                                                                      │  ▲    │ transient
 *    │         submit while in flight                                       │  └────┘ error: backoff,
 *    │       ─────────────────────────▶ waiting (FIFO)                      │      same seq, same bytes
 *    │                                   │ deadline: entry removed, 503 (not written)
 *    │                                   │ held until the runner's next commit (≤ flushIntervalMs)
 *    │                                   │                                   │
 *    └──── commit: every live entry of the batch gets 200 {version, rows} ◀─┤
 *          then, if entries wait, the next batch is sealed and sent at once │
 *                                     definitive 4xx rejection: entries get 502 ◀┘
 * ```
 *
 * At most one batch is in flight per table, so sequence numbers commit in order. A transient
 * failure (network error, timeout of an attempt, 408/425/429/5xx, malformed answer) is retried with
 * jittered exponential backoff, with the same seq and the same bytes, so a lost answer never
 * duplicates rows: the runner answers the retry of a committed seq as a duplicate.
 *
 * **A batch whose fate is unknown.** When a request's deadline passes while its batch is in flight,
 * the client gets 503 and the events are not acknowledged — but the batch may already be committed
 * (the answer was lost) or may still commit. The buffer goes on retrying the same seq with the same
 * bytes (backoff capped at `retryDelayMaxMs`) and sends nothing newer meanwhile, so the runner's
 * view stays a simple prefix of sequence numbers. Entries still waiting in the FIFO when their
 * deadline passes are removed, so their 503 means "not written". While the runner is down the FIFO
 * fills up and new requests get 429 (`bufferBytesMax` counts waiting and in-flight bytes).
 *
 * **The retry cap.** A batch that fails the same way `batchAttemptsMax` times in a row (same
 * status and error code, or the same kind of transport failure; 429 does not count) is given up:
 * its requests are answered — 502 "not written" when no attempt may have committed it (the runner
 * says `written: "no"`), else 503 `written: "unknown"` — and the next batch takes the next seq. A
 * later seq never overtakes the abandoned one: once the next seq commits, a late copy of the
 * abandoned one is below the producer's committed seq and the runner refuses it (409), so it either
 * committed before the next one or never will. A table is thus stuck for at most the cap.
 *
 * **Producer identity** (ADR 0022). The producer id is unique per edge incarnation (the app makes
 * it from the configured name and a random suffix), and sequence numbers start at `seqStart` (1)
 * and grow by one per batch. A runner's 409 means the table holds a higher seq for this id than
 * this edge ever sent: the buffer takes a new id from `renewProducerId`, restarts the seqs, and
 * sends the batch again under it — unless an earlier attempt may have committed it, in which case
 * its requests get 503 `written: "unknown"`.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import type { BatchAnswer, ForwardBatch } from "./wire.ts";
import { ForwardError } from "./wire.ts";
import { concatFlatBatches } from "../core/arrow/concat_flat_batches.ts";
import type { EdgeClock, EdgeTimers } from "./fake_timers.ts";

/** How a submitted request ended. */
export type SubmitOutcome =
  | { status: "committed"; version: number; rows: number }
  | { status: "timeout"; written: "no" | "unknown" }
  | { status: "rejected"; detail: string };

/** What {@linkcode TableBuffer.submit} returns. */
export type SubmitResult =
  | { accepted: true; outcome: Promise<SubmitOutcome> }
  | { accepted: false; reason: "full" | "too_large" };

/** Options of {@linkcode createTableBuffer}. */
export interface TableBufferOptions {
  /** Table name (sent with every batch). */
  table: string;
  /** The producer id of this edge incarnation (unique; ADR 0022). */
  producerId: string;
  /** A new unique producer id, taken when the runner answers 409 (without it, 409 is final). */
  renewProducerId?: () => string;
  /** The Arrow schema of every batch. */
  schema: arrow.Schema;
  /** Sends a batch to the runner. */
  forward: ForwardBatch;
  /** Time source for deadlines. */
  clock: EdgeClock;
  /** Timers for deadlines, holds, attempt timeouts and backoff. */
  timers: EdgeTimers;
  /** Random source in [0, 1) for backoff jitter. */
  random: () => number;
  /**
   * The longest the buffer holds a request when the runner's answer says the table's next commit
   * cannot start sooner (`nextCommitInMs`); without such an answer nothing is held.
   */
  flushIntervalMs: number;
  /** Rows of the largest batch made of several requests; reaching it ends a hold. */
  flushRowsMax: number;
  /** Bytes of the largest batch made of several requests; reaching it ends a hold. */
  flushBytesMax: number;
  /** Waiting plus in-flight bytes above which new requests are refused. */
  bufferBytesMax: number;
  /** Deadline of one attempt to forward a batch. */
  attemptTimeoutMs: number;
  /** First retry delay; doubles per attempt. */
  retryDelayBaseMs: number;
  /** Largest retry delay. */
  retryDelayMaxMs: number;
  /** Attempts of one batch failing the same way in a row before it is given up (the retry cap). */
  batchAttemptsMax: number;
  /** Sequence number of the first batch (and of the first after a new producer id). */
  seqStart: number;
}

/** A snapshot of a buffer's state, for tests and health checks. */
export interface TableBufferStats {
  /** Entries waiting to be sealed. */
  waitingRequests: number;
  /** Rows waiting to be sealed. */
  waitingRows: number;
  /** Bytes waiting plus in flight. */
  bufferedBytes: number;
  /** Sequence number of the batch in flight, if any. */
  inFlightSeq: number | undefined;
  /** Attempts made so far for the batch in flight. */
  inFlightAttempts: number;
  /** Sequence number the next batch will take. */
  nextSeq: number;
  /** The producer id batches are sent with. */
  producerId: string;
  /** Failures in a row of the batch in flight that failed the same way (0 when none failed). */
  failuresInRow: number;
  /** The last failure of the batch in flight. */
  lastError: string | undefined;
  /** Batches given up at the retry cap since the buffer was created. */
  batchesGivenUp: number;
}

/** The buffer of one table. */
export interface TableBuffer {
  /**
   * Submits the record batches of one validated request. Nothing is kept when the result is not
   * accepted. The outcome resolves after the commit of the batch holding the request, or at
   * `deadlineMs` (clock time), whichever comes first.
   */
  submit(batches: readonly arrow.RecordBatch[], bytes: number, deadlineMs: number): SubmitResult;
  /** The current state. */
  stats(): TableBufferStats;
  /** Stops timers and retries; unsettled requests get 503 ("unknown" if in flight). */
  close(): void;
}

interface Entry {
  batches: readonly arrow.RecordBatch[];
  rows: number;
  bytes: number;
  settled: boolean;
  deadlineTimer: unknown;
  sealed: boolean;
  resolve: (outcome: SubmitOutcome) => void;
}

interface Batch {
  producerId: string;
  seq: number;
  entries: Entry[];
  rows: number;
  bytes: number;
  body: Uint8Array;
  attempts: number;
}

/** The "way" a forward failed, for the retry cap: status and error code, or the transport kind. */
function failureWay(e: ForwardError): string {
  if (e.status !== undefined) return `${e.status} ${e.body.error ?? ""}`;
  return e.message.startsWith("attempt timed out") ? "timeout" : "network";
}

/**
 * Creates the buffer of one table.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { createTableBuffer } from "./buffer.ts";
 * import { createFakeTimers } from "./fake_timers.ts";
 * const timers = createFakeTimers(0);
 * const schema = new arrow.Schema([new arrow.Field("n", new arrow.Int32(), false)]);
 * const seen: number[] = [];
 * const buffer = createTableBuffer({
 *   table: "t", producerId: "edge-1", schema, clock: timers, timers, random: () => 0.5,
 *   forward: (batch) => { seen.push(batch.seq); return Promise.resolve({ version: 1, rows: 2 }); },
 *   flushIntervalMs: 50, flushRowsMax: 10_000, flushBytesMax: 1 << 22, bufferBytesMax: 1 << 26,
 *   attemptTimeoutMs: 1000, retryDelayBaseMs: 10, retryDelayMaxMs: 1000, batchAttemptsMax: 10,
 *   seqStart: 100,
 * });
 * const rows = arrow.tableFromArrays({ n: Int32Array.of(1, 2) }).batches;
 * const result = buffer.submit(rows, 8, 5000);
 * if (!result.accepted) throw new Error("refused"); // nothing in flight: forwarded at once
 * const outcome = await result.outcome;
 * if (outcome.status !== "committed" || outcome.rows !== 2 || seen[0] !== 100) throw new Error();
 * ```
 */
export function createTableBuffer(options: TableBufferOptions): TableBuffer {
  const o = options;
  const waiting: Entry[] = [];
  let waitingRows = 0;
  let waitingBytes = 0;
  let inFlight: Batch | undefined;
  /** Armed while the runner's pace holds the next batch (its answer's `nextCommitInMs`). */
  let holdTimer: unknown;
  let nextSeq = o.seqStart;
  let producerId = o.producerId;
  let failuresInRow = 0;
  let lastError: string | undefined;
  let batchesGivenUp = 0;
  let closed = false;
  const sleeps = new Set<{ handle: unknown; wake: () => void }>();

  const settle = (entry: Entry, outcome: SubmitOutcome) => {
    if (entry.settled) return;
    entry.settled = true;
    o.timers.clearTimeout(entry.deadlineTimer);
    entry.resolve(outcome);
  };

  const onDeadline = (entry: Entry) => {
    if (entry.settled) return;
    if (!entry.sealed) {
      const k = waiting.indexOf(entry);
      if (k >= 0) {
        waiting.splice(k, 1);
        waitingRows -= entry.rows;
        waitingBytes -= entry.bytes;
      }
      settle(entry, { status: "timeout", written: "no" });
    } else {
      settle(entry, { status: "timeout", written: "unknown" });
    }
  };

  const seal = (): Batch => {
    const entries: Entry[] = [];
    let rows = 0, bytes = 0;
    while (waiting.length > 0) {
      const e = waiting[0]!;
      if (
        entries.length > 0 && (rows + e.rows > o.flushRowsMax || bytes + e.bytes > o.flushBytesMax)
      ) {
        break;
      }
      waiting.shift();
      e.sealed = true;
      entries.push(e);
      rows += e.rows;
      bytes += e.bytes;
    }
    waitingRows -= rows;
    waitingBytes -= bytes;
    const recordBatches = entries.flatMap((e) => e.batches);
    // One IPC message instead of one per request: Arrow JS's writer pays per message.
    const one = concatFlatBatches(o.schema, recordBatches);
    const table = new arrow.Table(o.schema, one === undefined ? recordBatches : [one]);
    const body = arrow.tableToIPC(table, "stream");
    return { producerId, seq: nextSeq++, entries, rows, bytes, body, attempts: 0 };
  };

  const clearHold = () => {
    if (holdTimer !== undefined) o.timers.clearTimeout(holdTimer);
    holdTimer = undefined;
  };

  /** Holds the next batch `ms` (at most `flushIntervalMs`): the runner's next commit is that far. */
  const startHold = (ms: number) => {
    clearHold();
    holdTimer = o.timers.setTimeout(() => {
      holdTimer = undefined;
      maybeSend();
    }, Math.min(ms, o.flushIntervalMs));
  };

  /**
   * Seals and sends what waits, unless a batch is in flight (its answer calls this again) or the
   * runner's pace holds it (the hold's timer calls this again).
   */
  const maybeSend = () => {
    if (closed || inFlight !== undefined || waiting.length === 0) return;
    const full = waitingRows >= o.flushRowsMax || waitingBytes >= o.flushBytesMax;
    if (holdTimer !== undefined && !full) return;
    clearHold();
    const batch = seal();
    inFlight = batch;
    // Entries left behind (over flushRowsMax or flushBytesMax) keep their place and go in the
    // batch sealed when this one is answered.
    void send(batch);
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const sleeper = { handle: undefined as unknown, wake: resolve };
      sleeper.handle = o.timers.setTimeout(() => {
        sleeps.delete(sleeper);
        resolve();
      }, ms);
      sleeps.add(sleeper);
    });

  const attempt = async (batch: Batch): Promise<BatchAnswer | ForwardError> => {
    const controller = new AbortController();
    // The race makes the attempt deadline hold even for a forward that ignores its signal.
    let timer: unknown;
    const expired = new Promise<never>((_, reject) => {
      timer = o.timers.setTimeout(() => {
        const error = new ForwardError(`attempt timed out after ${o.attemptTimeoutMs} ms`, true);
        controller.abort(error);
        reject(error);
      }, o.attemptTimeoutMs);
    });
    try {
      const request = {
        table: o.table,
        producerId: batch.producerId,
        seq: batch.seq,
        body: batch.body,
      };
      return await Promise.race([o.forward(request, controller.signal), expired]);
    } catch (e) {
      return e instanceof ForwardError ? e : new ForwardError(String(e), true, undefined, {
        cause: e,
      });
    } finally {
      o.timers.clearTimeout(timer);
    }
  };

  const send = async (batch: Batch) => {
    // Once an attempt failed in a way that may have committed the batch (a lost answer, a timeout,
    // a runner error that does not say "written: no"), a later definitive refusal no longer proves
    // that nothing was written: the clients then learn "outcome unknown".
    let uncertain = false;
    let renewed = false;
    let lastWay = "";
    for (;;) {
      batch.attempts++;
      const result = await attempt(batch);
      if (!(result instanceof ForwardError)) {
        if (!closed && result.nextCommitInMs !== undefined && result.nextCommitInMs > 0) {
          startHold(result.nextCommitInMs);
        }
        finish(batch, { status: "committed", version: result.version, rows: 0 });
        return;
      }
      const way = failureWay(result);
      failuresInRow = way === lastWay ? failuresInRow + 1 : 1;
      lastWay = way;
      lastError = result.message;
      if (result.status === 409 && o.renewProducerId !== undefined) {
        // The table holds a higher seq for this id than this edge sent: take a new identity.
        producerId = o.renewProducerId();
        nextSeq = o.seqStart;
        if (!uncertain && !renewed) {
          renewed = true;
          batch.producerId = producerId;
          batch.seq = nextSeq++;
          continue;
        }
      }
      if (!result.retryable) {
        finish(
          batch,
          uncertain
            ? { status: "timeout", written: "unknown" }
            : { status: "rejected", detail: result.message },
        );
        return;
      }
      if (result.mayHaveCommitted) uncertain = true;
      if (closed) return;
      if (result.status !== 429 && failuresInRow >= o.batchAttemptsMax) {
        batchesGivenUp++;
        finish(
          batch,
          uncertain ? { status: "timeout", written: "unknown" } : {
            status: "rejected",
            detail:
              `gave up after ${failuresInRow} attempts failing the same way: ${result.message}`,
          },
        );
        return;
      }
      // Equal jitter: half the exponential delay plus a random half, capped.
      const ceiling = Math.min(o.retryDelayMaxMs, o.retryDelayBaseMs * 2 ** (batch.attempts - 1));
      await sleep(ceiling / 2 + o.random() * ceiling / 2);
      if (closed) return;
    }
  };

  const finish = (batch: Batch, outcome: SubmitOutcome) => {
    if (inFlight !== batch) return;
    inFlight = undefined;
    failuresInRow = 0;
    lastError = undefined;
    for (const e of batch.entries) {
      settle(e, outcome.status === "committed" ? { ...outcome, rows: e.rows } : outcome);
    }
    maybeSend();
  };

  return {
    submit(batches, bytes, deadlineMs) {
      if (bytes > o.bufferBytesMax) return { accepted: false, reason: "too_large" };
      const buffered = waitingBytes + (inFlight?.bytes ?? 0);
      if (closed || buffered + bytes > o.bufferBytesMax) return { accepted: false, reason: "full" };
      let rows = 0;
      for (const b of batches) rows += b.numRows;
      let resolve!: (outcome: SubmitOutcome) => void;
      const outcome = new Promise<SubmitOutcome>((r) => (resolve = r));
      const entry: Entry = {
        batches,
        rows,
        bytes,
        settled: false,
        sealed: false,
        deadlineTimer: undefined,
        resolve,
      };
      entry.deadlineTimer = o.timers.setTimeout(
        () => onDeadline(entry),
        Math.max(0, deadlineMs - o.clock.nowMs()),
      );
      waiting.push(entry);
      waitingRows += rows;
      waitingBytes += bytes;
      maybeSend();
      return { accepted: true, outcome };
    },
    stats() {
      return {
        waitingRequests: waiting.length,
        waitingRows,
        bufferedBytes: waitingBytes + (inFlight?.bytes ?? 0),
        inFlightSeq: inFlight?.seq,
        inFlightAttempts: inFlight?.attempts ?? 0,
        nextSeq,
        producerId,
        failuresInRow,
        lastError,
        batchesGivenUp,
      };
    },
    close() {
      if (closed) return;
      closed = true;
      clearHold();
      for (const s of sleeps) {
        o.timers.clearTimeout(s.handle);
        s.wake();
      }
      sleeps.clear();
      for (const e of waiting.splice(0)) settle(e, { status: "timeout", written: "no" });
      waitingRows = waitingBytes = 0;
      for (const e of inFlight?.entries ?? []) settle(e, { status: "timeout", written: "unknown" });
    },
  };
}
