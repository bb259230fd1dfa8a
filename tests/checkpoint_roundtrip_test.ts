// A table written by lakestrike with checkpoints every 10 versions loads from its newest checkpoint
// to the same state as a replay of the JSON commits alone; DuckDB and hyparquet read the checkpoint.
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { parquetMetadata, parquetSchema } from "hyparquet";
import { createManualClock } from "../core/clock.ts";
import { NotFoundError } from "../core/errors.ts";
import type { Remove } from "../core/log/actions.ts";
import { unexpiredTombstones } from "../core/log/checkpoint_write.ts";
import { commitActions } from "../core/log/commit.ts";
import { classicCheckpointPath, LAST_CHECKPOINT_PATH } from "../core/log/paths.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import type { StructType } from "../core/schema/types.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { appendBatch, createTable, maybeCheckpoint } from "../core/write/mod.ts";

const DAY_MS = 86_400_000;

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "payload", type: "string", nullable: true, metadata: {} },
    { name: "region", type: "string", nullable: true, metadata: {} },
  ],
};

/** The same storage with every checkpoint and `_last_checkpoint` hidden: a pure JSON replay. */
function withoutCheckpoints(storage: ObjectStorage): ObjectStorage {
  const hidden = (p: string) => p.includes(".checkpoint.") || p === LAST_CHECKPOINT_PATH;
  return {
    location: storage.location,
    get: (p) => (hidden(p) ? Promise.reject(new NotFoundError(p)) : storage.get(p)),
    getRange: (p, o, l) => storage.getRange(p, o, l),
    head: async (p) => (hidden(p) ? undefined : await storage.head(p)),
    list: async (prefix, options) =>
      (await storage.list(prefix, options)).filter((m) => !hidden(m.path)),
    put: (p, b, o) => storage.put(p, b, o),
    delete: (ps) => storage.delete(ps),
  };
}

const byPath = <T extends { path: string }>(xs: readonly T[]) =>
  [...xs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

function tombstoneKey(r: Remove) {
  return {
    path: r.path,
    deletionTimestamp: r.deletionTimestamp,
    partitionValues: r.partitionValues,
    size: r.size,
  };
}

async function buildTable(dir: string) {
  const storage = createLocalStorage(dir);
  const clock = createManualClock(1_700_000_000_000);
  let snapshot: Snapshot = await createTable(storage, {
    schema,
    partitionColumns: ["region"],
    configuration: { "delta.checkpointInterval": "10" },
    clock,
  });
  const checkpoints: number[] = [];
  const after = async (s: Snapshot) => {
    const c = await maybeCheckpoint(storage, s, { clock });
    if (c.written) checkpoints.push(c.checkpoint.version);
  };
  for (let i = 0; i < 35; i++) {
    clock.advance(60_000);
    const regions = ["eu", "us", null, "a/b c"];
    const rows = Array.from({ length: 3 }, (_, k) => ({
      id: BigInt(i * 10 + k),
      payload: k === 1 ? null : `p-${i}-${k}`,
      region: regions[(i + k) % regions.length] ?? null,
    }));
    const r = await appendBatch(storage, snapshot, createArrowTable(schema, rows), {
      txn: { appId: `writer-${i % 3}`, version: i },
      clock,
    });
    assert.ok(r.ok, !r.ok ? r.reason : "");
    snapshot = r.snapshot;
    await after(snapshot);
    if (i === 12 || i === 25) {
      // A hand-crafted delete: remove two files, one of them "deleted" 30 days ago (an expired
      // tombstone by the 1-week default retention).
      const [f1, f2] = snapshot.files;
      const del = await commitActions(storage, snapshot, {
        operation: "DELETE",
        actions: [
          {
            remove: {
              path: f1!.path,
              deletionTimestamp: clock.nowMs(),
              dataChange: true,
              extendedFileMetadata: true,
              partitionValues: f1!.partitionValues,
              size: f1!.size,
            },
          },
          {
            remove: {
              path: f2!.path,
              deletionTimestamp: clock.nowMs() - 30 * DAY_MS,
              dataChange: true,
            },
          },
        ],
      }, { clock });
      assert.ok(del.ok);
      snapshot = del.snapshot;
      await after(snapshot);
    }
  }
  return { storage, snapshot, checkpoints, clock };
}

Deno.test("checkpoint round trip: loading from the checkpoint equals a JSON replay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-cp-" });
  try {
    const { storage, snapshot, checkpoints, clock } = await buildTable(dir);
    assert.equal(snapshot.version, 37);
    assert.deepEqual(checkpoints, [10, 20, 30]);
    const last = JSON.parse(new TextDecoder().decode(await storage.get(LAST_CHECKPOINT_PATH)));
    assert.equal(last.version, 30);

    const fromCheckpoint = await loadSnapshot(storage);
    const fromJson = await loadSnapshot(withoutCheckpoints(storage));
    assert.equal(fromCheckpoint.checkpointUsed?.version, 30);
    assert.equal(fromJson.checkpointUsed, undefined);
    assert.equal(fromCheckpoint.version, fromJson.version);
    assert.deepEqual(fromCheckpoint.protocol, fromJson.protocol);
    assert.deepEqual(fromCheckpoint.metadata, fromJson.metadata);
    assert.deepEqual(byPath(fromCheckpoint.files), byPath(fromJson.files));
    assert.deepEqual(
      new Map([...fromCheckpoint.txns].map(([k, t]) => [k, t.version])),
      new Map([...fromJson.txns].map(([k, t]) => [k, t.version])),
    );
    assert.equal(fromJson.tombstones.length, 4);
    assert.deepEqual(
      byPath(fromCheckpoint.tombstones).map(tombstoneKey),
      byPath(unexpiredTombstones(fromJson, clock.nowMs())).map(tombstoneKey),
    );
    assert.equal(fromCheckpoint.tombstones.length, 2);
    // The writer's own advanced snapshot agrees too.
    assert.deepEqual(byPath(snapshot.files), byPath(fromJson.files));

    // Each checkpoint on its own reconstructs its version.
    for (const v of checkpoints) {
      const at = await loadSnapshot(storage, { version: v });
      const json = await loadSnapshot(withoutCheckpoints(storage), { version: v });
      assert.equal(at.checkpointUsed?.version, v);
      assert.deepEqual(byPath(at.files), byPath(json.files));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpoint round trip: DuckDB reads the checkpoint; its Parquet schema is Delta's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-cp-" });
  try {
    const { storage } = await buildTable(dir);
    const path = `${dir}/${classicCheckpointPath(30)}`;
    const json = await loadSnapshot(withoutCheckpoints(storage), { version: 30 });

    const instance = await DuckDBInstance.create(":memory:");
    const conn = await instance.connect();
    try {
      const counts = (await conn.runAndReadAll(
        `SELECT count(*) FILTER (WHERE add IS NOT NULL) AS adds,
                count(*) FILTER (WHERE remove IS NOT NULL) AS removes,
                count(*) FILTER (WHERE txn IS NOT NULL) AS txns,
                count(*) FILTER (WHERE metaData IS NOT NULL) AS metas,
                count(*) FILTER (WHERE protocol IS NOT NULL) AS protocols
         FROM read_parquet('${path}')`,
      )).getRowObjectsJson()[0]!;
      assert.deepEqual(
        Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)])),
        { adds: json.files.length, removes: 2, txns: 3, metas: 1, protocols: 1 },
      );
      const adds = (await conn.runAndReadAll(
        `SELECT add.path AS path, add.partitionValues['region'] AS region, add.size AS size,
                add.dataChange AS dc, json_extract(add.stats, '$.numRecords') AS n
         FROM read_parquet('${path}') WHERE add IS NOT NULL ORDER BY add.path`,
      )).getRowObjectsJson();
      const expected = byPath(json.files);
      assert.equal(adds.length, expected.length);
      adds.forEach((row, i) => {
        const f = expected[i]!;
        // Paths are percent-encoded as in the log.
        assert.equal(decodeURIComponent(String(row.path)), f.path);
        assert.equal(row.region ?? null, f.partitionValues.region ?? null);
        assert.equal(Number(row.size), f.size);
        assert.equal(row.dc, true);
        assert.ok(Number(row.n) >= 1);
      });
      const meta = (await conn.runAndReadAll(
        `SELECT metaData.partitionColumns AS pc, metaData.configuration['delta.checkpointInterval'] AS ci,
                metaData.format.provider AS provider, protocol
         FROM read_parquet('${path}') WHERE metaData IS NOT NULL OR protocol IS NOT NULL`,
      )).getRowObjectsJson();
      assert.ok(meta.some((m) => JSON.stringify(m.pc) === '["region"]' && m.ci === "10"));
    } finally {
      conn.closeSync();
      instance.closeSync();
    }

    const bytes = await Deno.readFile(path);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const metadata = parquetMetadata(buffer as ArrayBuffer);
    const tree = parquetSchema(metadata);
    const top = tree.children.map((c) => c.element.name);
    assert.deepEqual(top, ["txn", "add", "remove", "metaData", "protocol"]);
    const child = (node: typeof tree, ...names: string[]) => {
      let n = node;
      for (const name of names) n = n.children.find((c) => c.element.name === name)!;
      return n;
    };
    for (const name of top) {
      assert.equal(child(tree, name).element.repetition_type, "OPTIONAL", `${name} is nullable`);
    }
    const pv = child(tree, "add", "partitionValues");
    assert.equal(pv.element.converted_type, "MAP");
    assert.equal(pv.children[0]!.element.repetition_type, "REPEATED");
    assert.deepEqual(pv.children[0]!.children.map((c) => c.element.name), ["key", "value"]);
    assert.equal(pv.children[0]!.children[0]!.element.repetition_type, "REQUIRED");
    assert.equal(child(tree, "add", "size").element.type, "INT64");
    assert.equal(child(tree, "add", "modificationTime").element.type, "INT64");
    assert.equal(child(tree, "add", "dataChange").element.type, "BOOLEAN");
    assert.equal(child(tree, "add", "stats").element.type, "BYTE_ARRAY");
    assert.equal(child(tree, "add", "deletionVector", "cardinality").element.type, "INT64");
    assert.equal(child(tree, "remove", "deletionTimestamp").element.type, "INT64");
    assert.equal(child(tree, "protocol", "minReaderVersion").element.type, "INT32");
    assert.equal(child(tree, "metaData", "partitionColumns").element.converted_type, "LIST");
    assert.equal(child(tree, "metaData", "format", "options").element.converted_type, "MAP");
    assert.equal(child(tree, "metaData", "createdTime").element.type, "INT64");
    assert.equal(child(tree, "txn", "version").element.type, "INT64");
    assert.equal(Number(metadata.num_rows), 2 + 3 + json.files.length + 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
