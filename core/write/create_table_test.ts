import assert from "node:assert/strict";
import { createManualClock } from "../clock.ts";
import { isLakestrikeError } from "../errors.ts";
import { parseActions } from "../log/actions.ts";
import { commitPath } from "../log/paths.ts";
import { loadSnapshot } from "../snapshot/load_snapshot.ts";
import type { StructType } from "../schema/types.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { createTable } from "./create_table.ts";
import { txnRetentionMs } from "../snapshot/txn.ts";
import {
  DEFAULT_SET_TRANSACTION_RETENTION,
  SET_TRANSACTION_RETENTION_PROPERTY,
} from "./table_properties.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    {
      name: "tags",
      type: { type: "array", elementType: "string", containsNull: true },
      nullable: true,
      metadata: {},
    },
    { name: "date", type: "date", nullable: true, metadata: {} },
  ],
};

Deno.test("createTable: version 0 with protocol 1/2, metaData, commitInfo; loads back", async () => {
  const storage = createMemoryStorage();
  const clock = createManualClock(1_700_000_000_000);
  const v0 = await createTable(storage, {
    schema,
    partitionColumns: ["date"],
    configuration: { "delta.checkpointInterval": "10", "app.owner": "ingest" },
    name: "events",
    description: "edge events",
    clock,
  });
  assert.equal(v0.version, 0);
  assert.deepEqual(v0.protocol, { minReaderVersion: 1, minWriterVersion: 2 });
  assert.match(
    v0.metadata.id,
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.equal(v0.metadata.createdTime, 1_700_000_000_000);
  assert.equal(v0.metadata.name, "events");
  assert.equal(v0.metadata.format.provider, "parquet");
  assert.deepEqual(v0.schema, schema);
  const actions = parseActions(new TextDecoder().decode(await storage.get(commitPath(0))), "v0");
  assert.deepEqual(actions.map((a) => Object.keys(a)[0]), ["commitInfo", "protocol", "metaData"]);
  const ci = (actions[0] as { commitInfo: Record<string, unknown> }).commitInfo;
  assert.equal(ci.operation, "CREATE TABLE");
  assert.equal(ci.engineInfo, "lakestrike/0.1.0");
  const loaded = await loadSnapshot(storage);
  assert.equal(loaded.version, 0);
  assert.deepEqual(loaded.metadata, v0.metadata);
  assert.deepEqual(loaded.protocol, v0.protocol);
});

Deno.test("createTable: refuses an existing table with TABLE_EXISTS", async () => {
  const storage = createMemoryStorage();
  await createTable(storage, { schema });
  await assert.rejects(createTable(storage, { schema }), (e) => {
    assert.ok(isLakestrikeError(e, "TABLE_EXISTS"));
    assert.match(
      (e as Error).message,
      /^Cannot create table at memory:\/\/: a Delta table already exists/,
    );
    return true;
  });
  // A log that starts at a checkpoint (commits cleaned up) is a table too.
  const cleaned = createMemoryStorage();
  await cleaned.put("_delta_log/00000000000000000010.checkpoint.parquet", new Uint8Array([1]));
  await assert.rejects(
    createTable(cleaned, { schema }),
    (e) => isLakestrikeError(e, "TABLE_EXISTS"),
  );
});

Deno.test("createTable: two concurrent creators, exactly one wins", async () => {
  const storage = createMemoryStorage({
    faults: { before: () => new Promise((r) => setTimeout(r, Math.random() * 3)) },
  });
  const results = await Promise.allSettled(
    [1, 2, 3, 4].map(() => createTable(storage, { schema })),
  );
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  for (const r of results) {
    if (r.status === "rejected") assert.ok(isLakestrikeError(r.reason, "TABLE_EXISTS"));
  }
});

Deno.test("createTable: validates partition columns", async () => {
  const storage = createMemoryStorage();
  await assert.rejects(
    createTable(storage, { schema, partitionColumns: ["nope"] }),
    /partition column nope is not in the schema/,
  );
  await assert.rejects(
    createTable(storage, { schema, partitionColumns: ["tags"] }),
    /partition column tags has nested type array; partition columns must be primitive/,
  );
  await assert.rejects(
    createTable(storage, { schema, partitionColumns: ["date", "date"] }),
    /listed twice/,
  );
  await assert.rejects(
    createTable(storage, {
      schema: { type: "struct", fields: [schema.fields[0]!] },
      partitionColumns: ["id"],
    }),
    /every column is a partition column/,
  );
  await assert.rejects(
    createTable(storage, {
      schema: { type: "struct", fields: [schema.fields[0]!, schema.fields[0]!] },
    }),
    /duplicate column id/,
  );
  assert.equal(storage.size, 0);
});

Deno.test("createTable: validates table properties", async () => {
  const storage = createMemoryStorage();
  for (const bad of ["0", "-3", "1.5", "ten", ""]) {
    await assert.rejects(
      createTable(storage, { schema, configuration: { "delta.checkpointInterval": bad } }),
      /property delta.checkpointInterval must be a positive integer/,
    );
  }
  await assert.rejects(
    createTable(storage, {
      schema,
      configuration: { "delta.deletedFileRetentionDuration": "soon" },
    }),
    /must be an interval/,
  );
  await assert.rejects(
    createTable(storage, { schema, configuration: { "delta.enableChangeDataFeed": "true" } }),
    /change data feed is not supported/,
  );
  await assert.rejects(
    createTable(storage, { schema, configuration: { "delta.noSuchThing": "1" } }),
    /unknown table property delta.noSuchThing/,
  );
  await assert.rejects(
    createTable(storage, { schema, configuration: { "delta.dataSkippingNumIndexedCols": "-2" } }),
    /an integer >= -1/,
  );
  assert.equal(storage.size, 0);
  const ok = await createTable(storage, {
    schema,
    configuration: {
      "delta.checkpointInterval": "25",
      "delta.deletedFileRetentionDuration": "interval 2 days",
      "delta.dataSkippingNumIndexedCols": "-1",
    },
  });
  assert.equal(ok.metadata.configuration["delta.checkpointInterval"], "25");
});

Deno.test("createTable: txns expire after 7 days unless the creator sets a retention", async () => {
  const created = await createTable(createMemoryStorage(), { schema });
  assert.equal(
    created.metadata.configuration[SET_TRANSACTION_RETENTION_PROPERTY],
    DEFAULT_SET_TRANSACTION_RETENTION,
  );
  assert.equal(txnRetentionMs(created), 7 * 86_400_000);
  const own = await createTable(createMemoryStorage(), {
    schema,
    configuration: { [SET_TRANSACTION_RETENTION_PROPERTY]: "interval 30 days" },
  });
  assert.equal(txnRetentionMs(own), 30 * 86_400_000);
  await assert.rejects(
    createTable(createMemoryStorage(), {
      schema,
      configuration: { [SET_TRANSACTION_RETENTION_PROPERTY]: "interval -1 days" },
    }),
    /delta.setTransactionRetentionDuration must be an interval/,
  );
});
