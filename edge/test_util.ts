/**
 * Helpers for the edge's tests.
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import type { DataType, StructType } from "../core/schema/types.ts";

const field = (name: string, type: DataType, nullable = true) => ({
  name,
  type,
  nullable,
  metadata: {},
});

/** The schema of the device events of issue 9: timestamps, dates, a double, a map. */
export const devSchema: StructType = {
  type: "struct",
  fields: [
    field("ts", "timestamp", false),
    field("device_id", "string", false),
    field("value_d", "double"),
    field("date", "date", false),
    field("tsn", "timestamp_ntz"),
    field("attrs", { type: "map", keyType: "string", valueType: "long", valueContainsNull: true }),
  ],
};

/**
 * Bytes of the `ArrayBuffer`s a batch keeps alive, each counted once: what `recordBatchBytes` must
 * charge at least, computed apart from it.
 */
export function retainedBytes(batch: arrow.RecordBatch): number {
  const seen = new Set<ArrayBufferLike>();
  const visit = (d: arrow.Data) => {
    for (const b of [d.values, d.valueOffsets, d.nullBitmap] as (ArrayBufferView | undefined)[]) {
      if (b !== undefined && b !== null) seen.add(b.buffer);
    }
    d.children.forEach(visit);
  };
  visit(batch.data);
  let n = 0;
  for (const b of seen) n += b.byteLength;
  return n;
}
