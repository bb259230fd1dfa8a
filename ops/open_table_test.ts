import assert from "node:assert/strict";
import { isLakestrikeError } from "../core/errors.ts";
import { createPutIfAbsentProtocol } from "../core/log/commit_protocol.ts";
import { logRetentionMsOf } from "../core/log/log_cleanup.ts";
import { deletedFileRetentionMsOf } from "../core/write/table_properties.ts";
import { commitPath } from "../core/log/paths.ts";
import {
  registerCommitProtocol,
  resolveCommitProtocol,
} from "../core/log/resolve_commit_protocol.ts";
import type { StructType } from "../core/schema/types.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { openStorage, registerStorageScheme } from "../core/storage/open.ts";
import { createTable } from "../core/write/create_table.ts";
import { openTable } from "./open_table.ts";

const schema: StructType = {
  type: "struct",
  fields: [{ name: "n", type: "long", nullable: true, metadata: {} }],
};

function uniqueUri(): string {
  return `memory://open-table-test-${crypto.randomUUID()}`;
}

Deno.test("openTable: creates a missing table when asked, then opens it as it is", async () => {
  const uri = uniqueUri();
  await assert.rejects(openTable(uri), (e) => isLakestrikeError(e, "TABLE_NOT_FOUND"));
  const first = await openTable(uri, {
    createIfMissing: { schema, configuration: { "delta.checkpointInterval": "5" }, name: "t" },
  });
  assert.equal(first.created, true);
  assert.equal(first.protocol.name, "local");
  assert.equal(first.snapshot.metadata.configuration["lakestrike.commitProtocol"], "local");
  const again = await openTable(uri, { createIfMissing: { schema } });
  assert.equal(again.created, false);
  assert.equal(again.snapshot.metadata.configuration["delta.checkpointInterval"], "5");
  // A version is never created.
  await assert.rejects(
    openTable(uniqueUri(), { version: 0, createIfMissing: { schema } }),
    (e) => isLakestrikeError(e, "TABLE_NOT_FOUND"),
  );
});

Deno.test("openTable: the commands follow the recorded protocol; the runner checks it", async () => {
  const uri = uniqueUri();
  // A table recorded with 's3' (put-if-absent too) where the location's default is 'local'.
  const storage = openStorage(uri);
  const protocol = await resolveCommitProtocol(storage, undefined, { protocol: "s3" });
  await createTable(storage, { schema, protocol });
  assert.equal((await openTable(uri)).protocol.name, "s3");
  await assert.rejects(
    openTable(uri, { recorded: "check" }),
    /commits through 's3' but this writer uses 'local'/,
  );
  assert.equal((await openTable(uri, { recorded: "check", protocol: "s3" })).protocol.name, "s3");
});

Deno.test("openTable: a table another process created first is loaded through the protocol", async () => {
  // Another runner creates the table between our load (not found) and our create.
  let raced = false;
  let creating = false;
  const storage = createMemoryStorage({
    location: "racing://t",
    faults: {
      async before(op, path) {
        if (op !== "put" || path !== commitPath(0) || raced || creating) return;
        creating = true;
        await createTable(storage, { schema });
        creating = false;
        raced = true;
      },
    },
  });
  let repairsAfterRace = 0;
  const restoreStorage = registerStorageScheme("racing", () => storage);
  // 'local' with a repair step, as s3-dynamodb has one: every load must go through it.
  const restoreProtocol = registerCommitProtocol("local", (s) =>
    Promise.resolve({
      ...createPutIfAbsentProtocol(s, "local"),
      repair: () => {
        if (raced) repairsAfterRace++;
        return Promise.resolve();
      },
    }));
  try {
    const opened = await openTable("racing://t", { createIfMissing: { schema } });
    assert.equal(raced, true);
    assert.equal(opened.created, false, "the other process created it");
    assert.equal(opened.snapshot.version, 0);
    assert.equal(repairsAfterRace, 1, "the table it found was loaded through the protocol");
  } finally {
    restoreProtocol();
    restoreStorage();
  }
});

Deno.test("openTable: a table it creates keeps 1 day of log and checkpoints every 100 versions unless the config says otherwise", async () => {
  const created = await openTable(uniqueUri(), { createIfMissing: { schema } });
  const configuration = created.snapshot.metadata.configuration;
  assert.equal(configuration["delta.logRetentionDuration"], "interval 1 days");
  assert.equal(logRetentionMsOf(configuration), 86_400_000);
  assert.equal(configuration["delta.checkpointInterval"], "100");
  assert.equal(configuration["delta.setTransactionRetentionDuration"], "interval 7 days");
  const own = await openTable(uniqueUri(), {
    createIfMissing: {
      schema,
      configuration: { "delta.logRetentionDuration": "interval 30 days" },
    },
  });
  assert.equal(logRetentionMsOf(own.snapshot.metadata.configuration), 30 * 86_400_000);
  assert.equal(own.snapshot.metadata.configuration["delta.checkpointInterval"], "100");
});

Deno.test("openTable: a table it creates keeps tombstones 1 day, as its log, unless the config says otherwise", async () => {
  const created = await openTable(uniqueUri(), { createIfMissing: { schema } });
  const configuration = created.snapshot.metadata.configuration;
  assert.equal(configuration["delta.deletedFileRetentionDuration"], "interval 1 days");
  assert.equal(deletedFileRetentionMsOf(configuration), logRetentionMsOf(configuration));
  const own = await openTable(uniqueUri(), {
    createIfMissing: {
      schema,
      configuration: { "delta.deletedFileRetentionDuration": "interval 7 days" },
    },
  });
  assert.equal(deletedFileRetentionMsOf(own.snapshot.metadata.configuration), 7 * 86_400_000);
});
