/**
 * The demo `events` table's schema: the 6-column event schema that `deno task dev`, the tests and the
 * benchmarks share (timestamp, device id, int32, double, payload string, date partition).
 *
 * @module
 */
import type { StructType } from "../core/schema/types.ts";

/** Schema of the demo `events` table: the 6-column event schema used across tests and benchmarks. */
export const DEMO_EVENTS_SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "ts", type: "timestamp", nullable: false, metadata: {} },
    { name: "device_id", type: "string", nullable: false, metadata: {} },
    { name: "value_i", type: "integer", nullable: true, metadata: {} },
    { name: "value_d", type: "double", nullable: true, metadata: {} },
    { name: "payload", type: "string", nullable: true, metadata: {} },
    { name: "date", type: "date", nullable: false, metadata: {} },
  ],
};
