import assert from "node:assert/strict";
import fc from "fast-check";
import { isLakestrikeError } from "../errors.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { loadSnapshot } from "../snapshot/load_snapshot.ts";
import { createTable } from "../write/create_table.ts";
import { validateTableProperties } from "../write/table_properties.ts";
import {
  assertCommitProtocol,
  COMMIT_PROTOCOL_PROPERTY,
  type CommitProtocol,
  CommitProtocolMismatchError,
  createPutIfAbsentProtocol,
  defaultCommitProtocolName,
  parseCommitProtocolName,
} from "./commit_protocol.ts";
import {
  CommitProtocolUnknownError,
  registerCommitProtocol,
  resolveCommitProtocol,
} from "./resolve_commit_protocol.ts";
import { commitActions } from "./commit.ts";
import { commitPath } from "./paths.ts";

const SCHEMA = {
  type: "struct" as const,
  fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
};
const encoder = new TextEncoder();

Deno.test("defaultCommitProtocolName: s3 for s3:// and s3a://, local otherwise", () => {
  assert.equal(defaultCommitProtocolName("s3://b/t"), "s3");
  assert.equal(defaultCommitProtocolName("S3A://b/t"), "s3");
  assert.equal(defaultCommitProtocolName("file:///t"), "local");
  assert.equal(defaultCommitProtocolName("memory://t"), "local");
  assert.equal(createPutIfAbsentProtocol(createMemoryStorage({ location: "s3://b/t" })).name, "s3");
});

Deno.test("parseCommitProtocolName: names the accepted values", () => {
  assert.equal(parseCommitProtocolName("local"), "local");
  assert.throws(
    () => parseCommitProtocolName("dynamodb"),
    /Invalid commit protocol "dynamodb": must be one of local, s3, s3-dynamodb/,
  );
});

Deno.test("createTable records the protocol; the table property is validated", async () => {
  const storage = createMemoryStorage({ location: "s3://b/t" });
  const v0 = await createTable(storage, { schema: SCHEMA });
  assert.equal(v0.metadata.configuration[COMMIT_PROTOCOL_PROPERTY], "s3");
  const reloaded = await loadSnapshot(storage);
  assert.equal(reloaded.metadata.configuration[COMMIT_PROTOCOL_PROPERTY], "s3");
  assert.throws(
    () => validateTableProperties({ [COMMIT_PROTOCOL_PROPERTY]: "s4" }),
    /table property lakestrike.commitProtocol "s4"/,
  );
  // A configuration naming another protocol than the one that writes version 0 is refused.
  await assert.rejects(
    createTable(createMemoryStorage({ location: "s3://b/u" }), {
      schema: SCHEMA,
      configuration: { [COMMIT_PROTOCOL_PROPERTY]: "s3-dynamodb" },
    }),
    CommitProtocolMismatchError,
  );
});

Deno.test("resolveCommitProtocol: recorded protocol wins over nothing, refuses another", async () => {
  const storage = createMemoryStorage({ location: "s3://b/t" });
  const recorded = (name: string) => ({
    metadata: { configuration: { [COMMIT_PROTOCOL_PROPERTY]: name } },
  });
  assert.equal((await resolveCommitProtocol(storage, recorded("s3"), {})).name, "s3");
  // Tables of Spark or delta-rs carry no property: the configured protocol is used.
  const foreign = { metadata: { configuration: {} } };
  assert.equal(
    (await resolveCommitProtocol(storage, foreign, { protocol: "local" })).name,
    "local",
  );
  await assert.rejects(
    resolveCommitProtocol(storage, recorded("s3-dynamodb"), { protocol: "s3" }),
    (e: Error) =>
      e instanceof CommitProtocolMismatchError && isLakestrikeError(e, "INVALID_ARGUMENT") &&
      e.message ===
        "Cannot write to s3://b/t: the table commits through 's3-dynamodb' but this writer uses 's3'; mixing commit protocols can lose commits",
  );
  // The core registers no 's3-dynamodb' (the AWS module does).
  await assert.rejects(
    resolveCommitProtocol(storage, foreign, { protocol: "s3-dynamodb" }),
    (e: Error) =>
      isLakestrikeError(e, "INVALID_ARGUMENT") &&
      e.message ===
        "Cannot open s3://b/t: commit protocol 's3-dynamodb' is not registered (the AWS module registers it: registerAws() of aws/mod.ts)",
  );
  assert.throws(
    () => assertCommitProtocol("file:///t", { [COMMIT_PROTOCOL_PROPERTY]: "local" }, "s3"),
    CommitProtocolMismatchError,
  );
});

Deno.test("resolveCommitProtocol: an S3 table that records no protocol needs one configured", async () => {
  // Version 0 as Delta Spark writes it: no lakestrike.commitProtocol.
  const storage = createMemoryStorage({ location: "s3://b/spark" });
  await storage.put(
    commitPath(0),
    encoder.encode(
      [
        '{"commitInfo":{"timestamp":1,"operation":"CREATE TABLE","engineInfo":"Apache-Spark/3.5.3 Delta-Lake/3.3.0","txnId":"t"}}',
        '{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}',
        `{"metaData":{"id":"m","format":{"provider":"parquet","options":{}},"schemaString":${
          JSON.stringify(JSON.stringify(SCHEMA))
        },"partitionColumns":[],"configuration":{},"createdTime":1}}`,
      ].join("\n") + "\n",
    ),
  );
  const snapshot = await loadSnapshot(storage);
  await assert.rejects(
    resolveCommitProtocol(storage, snapshot, {}),
    (e: Error) =>
      e instanceof CommitProtocolUnknownError && isLakestrikeError(e, "INVALID_ARGUMENT") &&
      e.message.startsWith(
        "Cannot open s3://b/spark: the table does not record its commit protocol (table property lakestrike.commitProtocol), so another engine created it (its latest commit was written by Apache-Spark/3.5.3 Delta-Lake/3.3.0), and lakestrike will not guess;",
      ) && /'s3-dynamodb' with the DynamoDB table, region and tablePath/.test(e.message),
  );
  // Configured explicitly, it is used as before.
  assert.equal((await resolveCommitProtocol(storage, snapshot, { protocol: "s3" })).name, "s3");
  // A table to be created, and local tables, keep their default.
  assert.equal((await resolveCommitProtocol(storage, undefined, {})).name, "s3");
  const local = createMemoryStorage({ location: "memory://spark" });
  assert.equal((await resolveCommitProtocol(local, snapshot, {})).name, "local");
  // DynamoDB settings mean nothing to a local table: refused rather than ignored.
  await assert.rejects(
    resolveCommitProtocol(local, snapshot, { dynamodb: { tableName: "delta_log" } }),
    /DynamoDB settings are only used by the commit protocols 's3' \(as a check\) and 's3-dynamodb'/,
  );
});

Deno.test("resolveCommitProtocol: a registered factory builds the protocol once the table agrees", async () => {
  const storage = createMemoryStorage({ location: "s3://b/registry" });
  const calls: unknown[] = [];
  const restore = registerCommitProtocol("s3-dynamodb", (s, config) => {
    calls.push(config.dynamodb);
    return Promise.resolve({ ...createPutIfAbsentProtocol(s), name: "s3-dynamodb" });
  });
  try {
    const config = { protocol: "s3-dynamodb" as const, dynamodb: { tableName: "delta_log" } };
    assert.equal((await resolveCommitProtocol(storage, undefined, config)).name, "s3-dynamodb");
    assert.deepEqual(calls, [{ tableName: "delta_log" }]);
    // The recorded protocol is checked before any factory runs.
    const recorded = { metadata: { configuration: { [COMMIT_PROTOCOL_PROPERTY]: "s3" } } };
    await assert.rejects(
      resolveCommitProtocol(storage, recorded, config),
      CommitProtocolMismatchError,
    );
    assert.equal(calls.length, 1);
  } finally {
    restore();
  }
  await assert.rejects(
    resolveCommitProtocol(storage, undefined, { protocol: "s3-dynamodb" }),
    /is not registered/,
  );
  // The DynamoDB check of 's3' is the AWS module's too: refused rather than skipped.
  await assert.rejects(
    resolveCommitProtocol(storage, undefined, { protocol: "s3", dynamodb: {} }),
    /the DynamoDB check of commit protocol 's3' needs the AWS module/,
  );
});

Deno.test("commitActions routes the commit file through the given protocol", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema: SCHEMA });
  const written: number[] = [];
  const inner = createPutIfAbsentProtocol(storage, "local");
  const spy: CommitProtocol = {
    name: "local",
    writeCommit(version, bytes) {
      written.push(version);
      return inner.writeCommit(version, bytes);
    },
  };
  const add = {
    path: "a.parquet",
    partitionValues: {},
    size: 1,
    modificationTime: 0,
    dataChange: true,
  };
  const r = await commitActions(storage, v0, { operation: "WRITE", actions: [{ add }] }, {
    protocol: spy,
  });
  assert.ok(r.ok);
  assert.deepEqual(written, [1]);
});

Deno.test("loadSnapshot runs the protocol's repair before listing", async () => {
  const storage = createMemoryStorage();
  const v0 = await createTable(storage, { schema: SCHEMA });
  // A "repair" that makes version 1 visible, as an s3-dynamodb repair copies a temp file.
  const bytes = encoder.encode('{"commitInfo":{"operation":"WRITE"}}\n');
  const protocol = { repair: async () => void await storage.put(commitPath(1), bytes) };
  assert.equal(v0.version, 0);
  assert.equal((await loadSnapshot(storage, { protocol })).version, 1);
});

Deno.test("put-if-absent protocol: of any number of writers of one version exactly one wins (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 3 }),
      async (n, lost) => {
        const storage = createMemoryStorage({
          faults: {
            // The first `lost` puts land but lose their answer.
            after(op) {
              if (op === "put" && lost > 0) {
                lost--;
                throw new Error("connection reset");
              }
            },
          },
        });
        const writers = Array.from(
          { length: n },
          () => createPutIfAbsentProtocol(storage, "local"),
        );
        const outcomes = await Promise.all(
          writers.map((w, i) => w.writeCommit(7, encoder.encode(`${i}\n`))),
        );
        assert.equal(outcomes.filter((o) => o === "committed").length, 1);
        const winner = outcomes.indexOf("committed");
        assert.deepEqual(await storage.get(commitPath(7)), encoder.encode(`${winner}\n`));
      },
    ),
    { numRuns: 50 },
  );
});
