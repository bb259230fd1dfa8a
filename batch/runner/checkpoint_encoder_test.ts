import assert from "node:assert/strict";
import { buildCheckpointTable, encodeCheckpointParquet } from "../../core/log/checkpoint_write.ts";
import type { Action } from "../../core/log/actions.ts";
import { createCheckpointCache } from "../../core/log/checkpoint_cache.ts";
import {
  applyActions,
  applyCommitToSnapshot,
  createReplayState,
  finishReplay,
} from "../../core/log/replay.ts";
import { createWorkerCheckpointEncoder } from "./checkpoint_encoder.ts";

const NOW_MS = 10 * 86_400_000;

/** A snapshot with adds (stats, tags, partition values) and a few thousand tombstones. */
function snapshot() {
  const state = createReplayState();
  applyActions(state, 7, [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: "t",
        format: { provider: "parquet" },
        partitionColumns: ["p"],
        configuration: { "delta.checkpointInterval": "100" },
        schemaString:
          '{"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}}]}',
      },
    },
    { txn: { appId: "edge-1", version: 41, lastUpdated: NOW_MS } },
    ...Array.from({ length: 50 }, (_, i): Action => ({
      add: {
        path: `p=${i % 3}/f ${i}.parquet`,
        partitionValues: { p: i % 5 === 0 ? null : String(i % 3) },
        size: 100 + i,
        modificationTime: NOW_MS,
        dataChange: true,
        stats: `{"numRecords":${i}}`,
        ...(i % 2 === 0 ? { tags: { k: `v${i}` } } : {}),
      },
    })),
    ...Array.from({ length: 4_500 }, (_, i): Action => ({
      remove: {
        path: `p=0/old-${i}.parquet`,
        deletionTimestamp: NOW_MS - i,
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: { p: "0" },
        size: i,
      },
    })),
  ]);
  return finishReplay(state, { timestampMs: NOW_MS });
}

const checkpointTable = () => buildCheckpointTable(snapshot(), NOW_MS);

Deno.test("createWorkerCheckpointEncoder: the worker's bytes are those encodeCheckpointParquet gives", async () => {
  const table = checkpointTable();
  const encoder = createWorkerCheckpointEncoder();
  try {
    const [first, second] = [await encoder.encode(table), await encoder.encode(table)];
    const expected = encodeCheckpointParquet(table);
    assert.deepEqual(first, expected);
    assert.deepEqual(second, expected);
  } finally {
    encoder.close();
  }
});

Deno.test("createWorkerCheckpointEncoder: the caller's event loop runs while the worker encodes", async () => {
  const table = checkpointTable();
  const encoder = createWorkerCheckpointEncoder();
  try {
    // Encoding on this thread, no timer can fire before the bytes are there.
    let turns = 0;
    const count = () => {
      turns++;
      if (counting) setTimeout(count, 0);
    };
    let counting = true;
    setTimeout(count, 0);
    await Promise.resolve(encodeCheckpointParquet(table));
    assert.equal(turns, 0);
    // In the worker (its start included), the timer fires while the encode runs.
    await encoder.encode(table);
    counting = false;
    assert.ok(turns > 0, `no event-loop turn during the worker's encode`);
  } finally {
    encoder.close();
  }
});

Deno.test("createWorkerCheckpointEncoder: close fails the encodes still waiting; the next encode starts a new worker", async () => {
  const table = checkpointTable();
  const encoder = createWorkerCheckpointEncoder();
  try {
    const waiting = encoder.encode(table);
    encoder.close();
    await assert.rejects(waiting, /encoder is closed/);
    const bytes = await encoder.encode(table);
    assert.deepEqual(bytes, encodeCheckpointParquet(table));
  } finally {
    encoder.close();
  }
});

Deno.test("createWorkerCheckpointEncoder: checkpoints of later versions, sharing batches with earlier ones, encode as on this thread", async () => {
  const cache = createCheckpointCache(700);
  const encoder = createWorkerCheckpointEncoder();
  try {
    let s = snapshot();
    for (let v = 8; v < 12; v++) {
      const table = buildCheckpointTable(s, NOW_MS, cache);
      assert.deepEqual(await encoder.encode(table), encodeCheckpointParquet(table), `version ${v}`);
      // Files compacted away, their tombstones appended, old tombstones re-added as files.
      s = applyCommitToSnapshot(s, v, [
        ...s.files.slice(0, 5).map((a): Action => ({
          remove: { path: a.path, deletionTimestamp: NOW_MS, dataChange: false },
        })),
        ...s.tombstones.slice(100 * v, 100 * v + 3).map((r): Action => ({
          add: {
            path: r.path,
            partitionValues: {},
            size: 1,
            modificationTime: 0,
            dataChange: true,
          },
        })),
      ], NOW_MS);
    }
  } finally {
    encoder.close();
  }
});

Deno.test("createWorkerCheckpointEncoder: ready resolves once the worker answers, and encodes follow as usual", async () => {
  const table = checkpointTable();
  const encoder = createWorkerCheckpointEncoder();
  try {
    await encoder.ready();
    assert.deepEqual(await encoder.encode(table), encodeCheckpointParquet(table));
    await encoder.ready();
    assert.deepEqual(await encoder.encode(table), encodeCheckpointParquet(table));
  } finally {
    encoder.close();
  }
});
