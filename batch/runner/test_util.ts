/**
 * Helpers for the runner tests: a table, a runner on it, and requests in the wire format.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import type { StructType } from "../../core/schema/types.ts";
import { createMemoryStorage, type MemoryStorage } from "../../core/storage/memory.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import { createTable } from "../../core/write/create_table.ts";
import { createPluginRegistry } from "../../plugins/registry.ts";
import type { Plugin } from "../../plugins/types.ts";
import { writerPlugin } from "../../plugins/writer/mod.ts";
import { ARROW_STREAM_CONTENT_TYPE, PRODUCER_HEADER, SEQ_HEADER } from "../../edge/wire.ts";
import { createRunner, type Runner, type RunnerLimits } from "./runner.ts";

/** The token of every test runner. */
export const TOKEN = "runner-secret";

/** Schema of the test table, partitioned by `region`. */
export const SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "region", type: "string", nullable: true, metadata: {} },
    { name: "v", type: "double", nullable: true, metadata: {} },
  ],
};

/** `n` rows starting at id `from`, regions alternating eu/us. */
export function rows(n: number, from = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: from + i,
    region: (from + i) % 2 === 0 ? "eu" : "us",
    v: (from + i) / 4,
  }));
}

/** Arrow IPC stream bytes of `data` rows of {@linkcode SCHEMA}. */
export function ipc(data: Record<string, unknown>[]): Uint8Array {
  return arrow.tableToIPC(createArrowTable(SCHEMA, data), "stream");
}

/** Create the test table in `storage` (a fresh memory storage by default). */
export async function createTestTable(
  storage: MemoryStorage = createMemoryStorage(),
  configuration: Record<string, string> = {},
): Promise<MemoryStorage> {
  await createTable(storage, { schema: SCHEMA, partitionColumns: ["region"], configuration });
  return storage;
}

/** A runner over one table `events` in `storage`. */
export function testRunner(
  storage: ObjectStorage,
  options: { limits?: Partial<RunnerLimits>; plugins?: Plugin[] } = {},
): Runner {
  return createRunner({
    tables: { events: { storage, uri: "memory://events" } },
    registry: createPluginRegistry(options.plugins ?? [writerPlugin()]).freeze(),
    runnerToken: TOKEN,
    limits: options.limits ?? {},
  });
}

/** Options of {@linkcode post}. */
export interface PostOptions {
  producer?: string | undefined;
  seq?: string | number | undefined;
  token?: string | undefined;
  contentType?: string | undefined;
  table?: string;
  body?: Uint8Array;
  rows?: Record<string, unknown>[];
}

/** POST a batch to the runner; `undefined` options leave a header out. */
export function post(runner: Runner, options: PostOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  const has = (k: keyof PostOptions) => Object.hasOwn(options, k);
  const token = has("token") ? options.token : TOKEN;
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const contentType = has("contentType") ? options.contentType : ARROW_STREAM_CONTENT_TYPE;
  if (contentType !== undefined) headers["content-type"] = contentType;
  const producer = has("producer") ? options.producer : "edge-1";
  if (producer !== undefined) headers[PRODUCER_HEADER] = producer;
  const seq = has("seq") ? options.seq : 1;
  if (seq !== undefined) headers[SEQ_HEADER] = String(seq);
  const body = options.body ?? ipc(options.rows ?? rows(3));
  return Promise.resolve(
    runner.app.request(`/v1/tables/${options.table ?? "events"}/batches`, {
      method: "POST",
      headers,
      body: body as Uint8Array<ArrayBuffer>,
    }),
  );
}

/** Paths of the data files in storage (everything outside `_delta_log/`). */
export function dataFiles(storage: MemoryStorage): string[] {
  return storage.snapshotPaths().filter((p) => !p.startsWith("_delta_log/"));
}

/** Wait until `condition()` holds, yielding to timers; fails after `triesMax` tries. */
export async function until(condition: () => boolean, triesMax = 5_000): Promise<void> {
  for (let i = 0; i < triesMax; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("Cannot wait any longer: the condition never held");
}

/** A promise with its resolve function. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
