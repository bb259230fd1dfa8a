import assert from "node:assert/strict";
import { createManualClock } from "../../core/clock.ts";
import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
import type { StructType } from "../../core/schema/types.ts";
import { createMemoryStorage } from "../../core/storage/memory.ts";
import { loadSnapshot } from "../../core/snapshot/mod.ts";
import { appendBatch, createTable } from "../../core/write/mod.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { createMemoryLogger, type MemoryLogger } from "../logger.ts";
import { createPluginRegistry } from "../registry.ts";
import type { WriteContext } from "../types.ts";
import { checkpointPlugin } from "./checkpoint_plugin.ts";
import { encodeCheckpointParquet } from "../../core/log/checkpoint_write.ts";

const schema: StructType = {
  type: "struct",
  fields: [{ name: "n", type: "long", nullable: true, metadata: {} }],
};

function ctxFor(
  storage: WriteContext["storage"],
  snapshot: Snapshot,
): WriteContext & { logger: MemoryLogger } {
  return {
    table: { name: "t", uri: "memory://t" },
    snapshot,
    storage,
    clock: createManualClock(1_000),
    signal: new AbortController().signal,
    limits: { groupRowsMax: 1_000, groupBytesMax: 1 << 20, writeBatchesConcurrencyMax: 2 },
    logger: createMemoryLogger(),
    operation: "write",
    dryRun: false,
  };
}

async function appendN(storage: ReturnType<typeof createMemoryStorage>, n: number) {
  let s: Snapshot = await createTable(storage, {
    schema,
    configuration: { "delta.checkpointInterval": "2" },
  });
  const versions: Snapshot[] = [];
  for (let i = 0; i < n; i++) {
    const r = await appendBatch(storage, s, createArrowTable(schema, [{ n: i }]));
    assert.ok(r.ok);
    s = r.snapshot;
    versions.push(s);
  }
  return versions;
}

Deno.test("checkpointPlugin: checkpoints at the table's interval only", async () => {
  const storage = createMemoryStorage();
  const [v1, v2] = await appendN(storage, 2);
  const written: number[] = [];
  const registry = createPluginRegistry([
    checkpointPlugin({ onCheckpoint: (c) => written.push(c.version) }),
  ]).freeze();
  const ctx = ctxFor(storage, v1!);
  await registry.runAfterCommit({ version: 1, snapshot: v1!, actions: [] }, ctx);
  assert.equal(await storage.head("_delta_log/_last_checkpoint"), undefined);
  await registry.runAfterCommit({ version: 2, snapshot: v2!, actions: [] }, ctx);
  assert.deepEqual(written, [2]);
  assert.ok(await storage.head("_delta_log/00000000000000000002.checkpoint.parquet"));
  const loaded = await loadSnapshot(storage);
  assert.equal(loaded.checkpointUsed?.version, 2);
  assert.equal(loaded.files.length, 2);
});

Deno.test("checkpointPlugin: a failing checkpoint is logged, never thrown", async () => {
  const storage = createMemoryStorage();
  const [, v2] = await appendN(storage, 2);
  const failing = {
    ...storage,
    location: storage.location,
    put: () => Promise.reject(new Error("disk full")),
  };
  const registry = createPluginRegistry([checkpointPlugin()]).freeze();
  const ctx = ctxFor(failing, v2!);
  const failures = await registry.runAfterCommit({ version: 2, snapshot: v2!, actions: [] }, ctx);
  assert.deepEqual(failures, []);
  const rec = ctx.logger.records.find((r) => r.level === "error");
  assert.ok(rec, "the failure is logged");
  assert.match(String(rec.fields.error), /disk full/);
});

Deno.test("checkpointPlugin: makes its encoder in setup, encodes with it, and closes it when disposed", async () => {
  const storage = createMemoryStorage();
  const versions = await appendN(storage, 4);
  const calls: string[] = [];
  const registry = createPluginRegistry([
    checkpointPlugin({
      createEncoder: () => {
        calls.push("create");
        return {
          ready: () => {
            calls.push("ready");
            return Promise.resolve();
          },
          encode: (table) => {
            calls.push(`encode ${table.numRows}`);
            return Promise.resolve(encodeCheckpointParquet(table));
          },
          close: () => calls.push("close"),
        };
      },
    }),
  ]).freeze();
  const ctx = ctxFor(storage, versions[1]!);
  // Not set up: the plugin encodes on this thread.
  await registry.runAfterCommit({ version: 2, snapshot: versions[1]!, actions: [] }, ctx);
  assert.deepEqual(calls, []);
  await registry.runSetup(ctx);
  assert.deepEqual(calls, ["create", "ready"]);
  await registry.runAfterCommit({ version: 4, snapshot: versions[3]!, actions: [] }, ctx);
  // protocol, metaData and four adds.
  assert.deepEqual(calls, ["create", "ready", "encode 6"]);
  const loaded = await loadSnapshot(storage);
  assert.equal(loaded.checkpointUsed?.version, 4);
  assert.deepEqual(loaded.files.map((f) => f.path), versions[3]!.files.map((f) => f.path));
  await registry.dispose();
  assert.deepEqual(calls, ["create", "ready", "encode 6", "close"]);
});

Deno.test("checkpointPlugin: an encoder that cannot start is closed and checkpoints are encoded on this thread", async () => {
  const storage = createMemoryStorage();
  const versions = await appendN(storage, 2);
  const calls: string[] = [];
  const registry = createPluginRegistry([
    checkpointPlugin({
      createEncoder: () => ({
        ready: () => Promise.reject(new Error("no worker here")),
        encode: () => {
          calls.push("encode");
          return Promise.reject(new Error("not started"));
        },
        close: () => calls.push("close"),
      }),
    }),
  ]).freeze();
  const ctx = ctxFor(storage, versions[1]!);
  await registry.runSetup(ctx);
  assert.deepEqual(calls, ["close"]);
  assert.ok(ctx.logger.records.some((r) => r.message.startsWith("Cannot start the checkpoint")));
  await registry.runAfterCommit({ version: 2, snapshot: versions[1]!, actions: [] }, ctx);
  assert.equal((await loadSnapshot(storage)).checkpointUsed?.version, 2);
  await registry.dispose();
  assert.deepEqual(calls, ["close"]);
});

Deno.test("checkpointPlugin: in the background, the hook returns before the checkpoint is written, a due version meanwhile is skipped, dispose waits", async () => {
  const storage = createMemoryStorage();
  const versions = await appendN(storage, 6);
  // An encoder that holds each encode until the test releases it.
  const held: (() => void)[] = [];
  const written: number[] = [];
  const registry = createPluginRegistry([
    checkpointPlugin({
      background: true,
      onCheckpoint: (c) => written.push(c.version),
      createEncoder: () => ({
        encode: (table) =>
          new Promise((resolve) => held.push(() => resolve(encodeCheckpointParquet(table)))),
        close: () => {},
      }),
    }),
  ]).freeze();
  const ctx = ctxFor(storage, versions[1]!);
  await registry.runSetup(ctx);
  const commit = (i: number) =>
    registry.runAfterCommit({ version: i + 1, snapshot: versions[i]!, actions: [] }, ctx);
  await commit(1); // version 2 is due: its checkpoint starts
  await commit(2); // version 3 is not due
  await commit(3); // version 4 is due while 2 is being written: skipped
  while (held.length === 0) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(written, []);
  assert.equal(await storage.head("_delta_log/_last_checkpoint"), undefined);
  assert.ok(ctx.logger.records.some((r) => r.message.startsWith("checkpoint skipped")));
  held.shift()!();
  while (written.length === 0) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(written, [2]);
  await commit(5); // version 6: the previous one is written, this one starts
  while (held.length === 0) await new Promise((r) => setTimeout(r, 1));
  const disposed = registry.dispose();
  held.shift()!();
  await disposed;
  assert.deepEqual(written, [2, 6]);
  assert.equal((await loadSnapshot(storage)).checkpointUsed?.version, 6);
});
