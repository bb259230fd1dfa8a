/**
 * The committer's queue: a bounded FIFO of batches from which the commit loop takes groups.
 *
 * ```
 *  offer ─▶ [ b1 b2 b3 b4 ... ]  ≤ queueBatchesMax batches, ≤ queueBytesMax bytes (else refused)
 *            └── takeGroup ──┘   ≤ groupBatchesMax batches, ≤ groupRowsMax rows, ≤ groupBytesMax
 *                                bytes, always at least one (a large batch commits alone)
 * ```
 *
 * A group is taken from the head in arrival order and stops before the first batch that would
 * pass a group limit, so batches are never reordered. The queue only counts: answering a refused
 * or taken batch is the committer's.
 *
 * @module
 */

/** The limits of a {@linkcode GroupQueue}. */
export interface GroupQueueLimits {
  /** Batches waiting at most. */
  queueBatchesMax: number;
  /** Bytes waiting at most. */
  queueBytesMax: number;
  /** Batches per group at most. */
  groupBatchesMax: number;
  /** Rows per group at most (a larger single batch still makes a group alone). */
  groupRowsMax: number;
  /** Bytes per group at most (a larger single batch still makes a group alone). */
  groupBytesMax: number;
}

/** The size of a queued item. */
export interface QueuedSize {
  /** Rows of the batch. */
  rows: number;
  /** Bytes of the batch (its request body). */
  bytes: number;
}

/** A bounded FIFO that hands out groups (see the module doc). */
export interface GroupQueue<T> {
  /** Queue `item`; false (nothing queued) when it would pass `queueBatchesMax` or `queueBytesMax`. */
  offer(item: T): boolean;
  /** Take the next group from the head: empty only when the queue is. */
  takeGroup(): T[];
  /** Items waiting. */
  readonly length: number;
  /** Bytes waiting. */
  readonly bytes: number;
}

/**
 * A queue of items whose size `sizeOf` tells, bounded by `limits`.
 *
 * @example
 * ```ts
 * import { createGroupQueue } from "./group_queue.ts";
 * const queue = createGroupQueue<number>({
 *   queueBatchesMax: 3, queueBytesMax: 1_000, groupBatchesMax: 2, groupRowsMax: 100, groupBytesMax: 1_000,
 * }, (rows) => ({ rows, bytes: 10 }));
 * for (const rows of [60, 30, 20]) if (!queue.offer(rows)) throw new Error("room for three");
 * if (queue.offer(1)) throw new Error("full at three");
 * if (queue.takeGroup().join() !== "60,30") throw new Error("two batches, 90 rows");
 * if (queue.takeGroup().join() !== "20" || queue.length !== 0) throw new Error("the rest");
 * ```
 */
export function createGroupQueue<T>(
  limits: GroupQueueLimits,
  sizeOf: (item: T) => QueuedSize,
): GroupQueue<T> {
  const items: { item: T; size: QueuedSize }[] = [];
  let bytes = 0;
  return {
    offer(item) {
      const size = sizeOf(item);
      if (items.length >= limits.queueBatchesMax || bytes + size.bytes > limits.queueBytesMax) {
        return false;
      }
      items.push({ item, size });
      bytes += size.bytes;
      return true;
    },
    takeGroup() {
      const group: T[] = [];
      let groupRows = 0;
      let groupBytes = 0;
      while (items.length > 0 && group.length < limits.groupBatchesMax) {
        const { item, size } = items[0]!;
        if (
          group.length > 0 &&
          (groupRows + size.rows > limits.groupRowsMax ||
            groupBytes + size.bytes > limits.groupBytesMax)
        ) {
          break;
        }
        items.shift();
        bytes -= size.bytes;
        group.push(item);
        groupRows += size.rows;
        groupBytes += size.bytes;
      }
      return group;
    },
    get length() {
      return items.length;
    },
    get bytes() {
      return bytes;
    },
  };
}
