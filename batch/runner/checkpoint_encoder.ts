/**
 * The runner's checkpoint encoder: the Parquet encode of a checkpoint in a worker thread
 * (`checkpoint_encoder_worker.ts`), so that it does not hold the runner's event loop while the
 * acks, commits and requests of every table wait (ADR 0048).
 *
 * The runner's thread builds the checkpoint's Arrow table, reusing the record batches of the
 * previous checkpoint whose actions did not change (`createCheckpointCache`). The worker keeps the
 * batches it was sent, each under an id, so the runner sends only the batches the worker does not
 * hold yet (each as an Arrow IPC stream of its own, transferred, not copied) and the ids of all of
 * them in order. Sending the whole table instead cost the runner's thread 40 ms at 20,000
 * tombstones (Arrow JS's IPC writer) and as much again to copy the bytes into the message; both
 * grew with the tombstones.
 *
 * ```
 *  afterCommit (runner thread)                         worker thread
 *   build Arrow table (cached batches)
 *   batches new to the worker ─▶ IPC ─{ id, order, sent }─▶ keep sent batches by id, drop the
 *                                                         ids not in order; encode the batches
 *   put checkpoint ◀───────────────── { id, bytes } ─────┘ of `order` as one Parquet file
 *   put _last_checkpoint
 * ```
 *
 * The worker starts when the encoder is created (starting a worker held the creating thread's
 * event loop 40 to 60 ms here, and loading its modules took seconds on a busy machine: the runner
 * creates its encoder and waits for `ready` before it serves), and again at the next encode after
 * a failure. The two sides move in lockstep: after each request the worker holds exactly the batches of that
 * request's `order`, and the runner remembers those ids, so the next request sends the others.
 * Requests are answered in order. An error of the worker (a failed decode or encode included)
 * stops it and fails the encodes waiting; the next encode starts a new worker, which is sent every
 * batch.
 *
 * What is written, when, and how does not change: the checkpoint plugin still puts the checkpoint
 * and then `_last_checkpoint`, from the runner's thread, for a version the runner committed. The
 * worker does no IO, so a crash of the worker or of the process leaves at worst no checkpoint,
 * never a partial one.
 *
 * @module
 */
import { type RecordBatch, Table, tableToIPC } from "apache-arrow";

/** What the runner sends the worker. */
export interface EncodeRequest {
  id: number;
  /** Ids of the checkpoint's record batches, in order; none asks only for an answer. */
  order: number[];
  /** The batches of `order` the worker does not hold yet, each as an Arrow IPC stream. */
  sent: { id: number; ipc: Uint8Array<ArrayBuffer> }[];
}

/** What the worker answers. */
export type EncodeReply =
  | { id: number; ok: true; bytes: Uint8Array }
  | { id: number; ok: false; message: string };

/** A checkpoint encoder off the calling thread. */
export interface CheckpointEncoder {
  /** The checkpoint's Parquet bytes (snappy), as `encodeCheckpointParquet` would give them. */
  encode(table: Table): Promise<Uint8Array>;
  /** Resolves once the worker has loaded its modules and answers. */
  ready(): Promise<void>;
  /** Stop the worker; encodes still waiting fail. */
  close(): void;
}

/**
 * `bytes` on a buffer of its own, so the buffer can be transferred whole.
 *
 * @example
 * ```ts
 * import { ownBuffer } from "./checkpoint_encoder.ts";
 * const view = new Uint8Array(8).subarray(2, 4);
 * if (ownBuffer(view).buffer.byteLength !== 2) throw new Error("not its own buffer");
 * ```
 */
export function ownBuffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength &&
      bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
}

/**
 * Create the worker-thread checkpoint encoder and start its worker.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { createWorkerCheckpointEncoder } from "./checkpoint_encoder.ts";
 * const encoder = createWorkerCheckpointEncoder();
 * try {
 *   const bytes = await encoder.encode(arrow.tableFromArrays({ n: new Int32Array([1, 2]) }));
 *   if (new TextDecoder().decode(bytes.subarray(0, 4)) !== "PAR1") throw new Error("not Parquet");
 * } finally {
 *   encoder.close();
 * }
 * ```
 */
export function createWorkerCheckpointEncoder(): CheckpointEncoder {
  let worker: Worker | undefined;
  let nextRequestId = 0;
  let nextBatchId = 0;
  const waiting = new Map<number, PromiseWithResolvers<Uint8Array>>();
  // An id per record batch, for as long as the batch lives (the checkpoint cache keeps those of
  // the latest checkpoint).
  const batchIds = new WeakMap<RecordBatch, number>();
  // The ids the worker holds once it has read the requests sent so far.
  let held = new Set<number>();

  const fail = (error: Error) => {
    worker?.terminate();
    worker = undefined;
    held = new Set();
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };

  const start = (): Worker => {
    const w = new Worker(new URL("./checkpoint_encoder_worker.ts", import.meta.url), {
      type: "module",
    });
    w.onmessage = (e: MessageEvent<EncodeReply>) => {
      const reply = e.data;
      const pending = waiting.get(reply.id);
      if (pending === undefined) return;
      waiting.delete(reply.id);
      if (reply.ok) pending.resolve(reply.bytes);
      else {
        // The worker's batches may be half updated: start over with a new worker.
        const error = new Error(`Cannot encode checkpoint: ${reply.message}`);
        pending.reject(error);
        fail(error);
      }
    };
    w.onerror = (e) => {
      e.preventDefault();
      fail(new Error(`Cannot encode checkpoint: the encoder's worker failed: ${e.message}`));
    };
    w.onmessageerror = () => fail(new Error("Cannot encode checkpoint: a message was unreadable"));
    return w;
  };

  const idOf = (batch: RecordBatch) => {
    let id = batchIds.get(batch);
    if (id === undefined) batchIds.set(batch, id = nextBatchId++);
    return id;
  };

  const send = (order: number[], sent: EncodeRequest["sent"]) => {
    worker ??= start();
    held = new Set(order);
    const id = nextRequestId++;
    const pending = Promise.withResolvers<Uint8Array>();
    waiting.set(id, pending);
    const request: EncodeRequest = { id, order, sent };
    worker.postMessage(request, sent.map((s) => s.ipc.buffer));
    return pending.promise;
  };

  worker = start();
  return {
    encode(table) {
      worker ??= start();
      const order = table.batches.map(idOf);
      const sent: EncodeRequest["sent"] = [];
      table.batches.forEach((batch, i) => {
        const id = order[i]!;
        if (held.has(id) || sent.some((s) => s.id === id)) return;
        sent.push({ id, ipc: ownBuffer(tableToIPC(new Table(batch), "stream")) });
      });
      return send(order, sent);
    },
    async ready() {
      // An empty request: the worker answers it without encoding (and then holds no batch).
      await send([], []);
    },
    close() {
      fail(new Error("Cannot encode checkpoint: the encoder is closed"));
    },
  };
}
