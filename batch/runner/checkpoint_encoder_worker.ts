/**
 * The thread of the runner's checkpoint encoder (`checkpoint_encoder.ts`): it keeps the record
 * batches of the latest checkpoint by id, takes the new ones of each request, and encodes the
 * request's batches, in order, as one Parquet file, whose bytes it transfers back. The Parquet
 * encode (tens to hundreds of milliseconds of one block of CPU for tens of thousands of
 * tombstones) so does not hold the runner's event loop. It does no IO: the runner writes the
 * bytes.
 *
 * ```
 *  runner ──{ id, order: batch ids, sent: new batches as IPC }──▶ worker
 *  runner ◀──{ id, ok: true, bytes } or { id, ok: false, message }── worker
 * ```
 *
 * @module
 */
import { type RecordBatch, Table, tableFromIPC } from "apache-arrow";
import { encodeCheckpointParquet } from "../../core/log/checkpoint_write.ts";
import { type EncodeReply, type EncodeRequest, ownBuffer } from "./checkpoint_encoder.ts";

// A module run as a worker has `self` as its global scope; typed here for `deno check`.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<EncodeRequest>) => void) | null;
  postMessage(reply: EncodeReply, transfer?: Transferable[]): void;
};

/** The batches of the latest request, by id. */
let batches = new Map<number, RecordBatch[]>();

scope.onmessage = (e) => {
  const { id, order, sent } = e.data;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    for (const s of sent) batches.set(s.id, tableFromIPC(s.ipc).batches);
    const kept = new Map<number, RecordBatch[]>();
    for (const b of order) {
      const got = batches.get(b);
      if (got === undefined) throw new Error(`batch ${b} was never sent`);
      kept.set(b, got);
    }
    batches = kept;
    bytes = order.length === 0
      ? new Uint8Array(0)
      : ownBuffer(encodeCheckpointParquet(new Table(order.flatMap((b) => kept.get(b)!))));
  } catch (err) {
    scope.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
    return;
  }
  scope.postMessage({ id, ok: true, bytes }, [bytes.buffer]);
};
