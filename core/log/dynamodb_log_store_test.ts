// The s3-dynamodb protocol over the memory storage and a real DynamoDB Local (needs
// LAKESTRIKE_TEST_DYNAMODB_ENDPOINT: run through tests/run.ts; fails without it).
import assert from "node:assert/strict";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { setupDynamoDBTable } from "../../batch/setup_dynamodb.ts";
import { CorruptLogError, isLakestrikeError } from "../errors.ts";
import { loadSnapshot } from "../snapshot/load_snapshot.ts";
import { createMemoryStorage } from "../storage/memory.ts";
import { createTable } from "../write/create_table.ts";
import { commitActions } from "./commit.ts";
import {
  createS3DynamoDBLogStore,
  entryToItem,
  type ExternalCommitEntry,
  isRetryableDynamoDBError,
  itemToEntry,
} from "./dynamodb_log_store.ts";
import { commitPath } from "./paths.ts";

function endpoint(): string {
  const e = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
  if (!e) throw new Error("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT is not set: run through tests/run.ts");
  return e;
}

const TABLE = `lakestrike_unit_${crypto.randomUUID().slice(0, 8)}`;
let ready: Promise<unknown> | undefined;
const encoder = new TextEncoder();
const SCHEMA = {
  type: "struct" as const,
  fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
};

async function setup(tablePath?: string) {
  ready ??= setupDynamoDBTable({ endpoint: endpoint(), tableName: TABLE });
  await ready;
  const storage = createMemoryStorage({ location: `s3://bucket/t-${crypto.randomUUID()}` });
  const make = () =>
    createS3DynamoDBLogStore({
      storage,
      tableName: TABLE,
      endpoint: endpoint(),
      ...(tablePath ? { tablePath } : {}),
    });
  const client = new DynamoDBClient({ endpoint: endpoint(), region: "us-east-1" });
  return { storage, make, client };
}

/** Leave the state a Spark writer leaves when it dies after PutItem: temp file + incomplete entry. */
async function sparkCrashedCommit(
  client: DynamoDBClient,
  storage: ReturnType<typeof createMemoryStorage>,
  tablePath: string,
  version: number,
  bytes: Uint8Array,
): Promise<string> {
  const fileName = `${String(version).padStart(20, "0")}.json`;
  const tempPath = `.tmp/${fileName}.${crypto.randomUUID()}`;
  await storage.put(`_delta_log/${tempPath}`, bytes);
  await client.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: entryToItem({ tablePath, fileName, version, tempPath, complete: false }),
    }),
  );
  return tempPath;
}

Deno.test("itemToEntry and entryToItem round-trip; bad items are corrupt", () => {
  const entry: ExternalCommitEntry = {
    tablePath: "s3a://b/t",
    fileName: "00000000000000000012.json",
    version: 12,
    tempPath: ".tmp/00000000000000000012.json.x",
    complete: false,
  };
  assert.deepEqual(itemToEntry(entryToItem(entry)), entry);
  const done = { ...entry, complete: true, expireTime: 1_700_000_000 };
  assert.deepEqual(itemToEntry(entryToItem(done)), done);
  assert.throws(() => itemToEntry({ tablePath: { S: "x" } }), CorruptLogError);
  assert.throws(
    () => itemToEntry({ ...entryToItem(entry), fileName: { S: "12.json" } }),
    /bad fileName 12.json/,
  );
});

Deno.test("isRetryableDynamoDBError: throttling, 5xx and network errors only", () => {
  const named = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  for (
    const n of [
      "ProvisionedThroughputExceededException",
      "ThrottlingException",
      "RequestLimitExceeded",
    ]
  ) {
    assert.ok(isRetryableDynamoDBError(named(n, 400)), n);
  }
  assert.ok(isRetryableDynamoDBError(named("InternalServerError", 500)));
  assert.ok(isRetryableDynamoDBError(named("Whatever", 503)));
  assert.ok(!isRetryableDynamoDBError(named("ConditionalCheckFailedException", 400)));
  assert.ok(!isRetryableDynamoDBError(named("ResourceNotFoundException", 400)));
});

Deno.test("s3-dynamodb: a reader repairs an incomplete entry left by a Spark writer (s3a tablePath)", async () => {
  const tablePath = `s3a://bucket/spark-${crypto.randomUUID()}`;
  const { storage, make, client } = await setup(tablePath);
  const v0 = await createTable(storage, { schema: SCHEMA, protocol: make() });
  const bytes = encoder.encode(
    '{"commitInfo":{"operation":"WRITE","engineInfo":"Apache-Spark"}}\n',
  );
  await sparkCrashedCommit(client, storage, tablePath, 1, bytes);
  assert.equal(await storage.head(commitPath(1)), undefined);
  const reader = make();
  assert.equal(reader.tablePath, tablePath);
  const snapshot = await loadSnapshot(storage, { protocol: reader });
  assert.equal(snapshot.version, 1);
  assert.deepEqual(await storage.get(commitPath(1)), bytes);
  const { Item } = await client.send(
    new GetItemCommand({
      TableName: TABLE,
      Key: { tablePath: { S: tablePath }, fileName: { S: "00000000000000000001.json" } },
      ConsistentRead: true,
    }),
  );
  assert.equal(Item?.complete?.S, "true");
  assert.ok(Number(Item?.expireTime?.N) > Date.now() / 1000 + 86_000);
  assert.equal(v0.version, 0);
});

Deno.test("s3-dynamodb: a fresh writer completes entry N-1 before writing N", async () => {
  const { storage, make, client } = await setup();
  const writer0 = make();
  await createTable(storage, { schema: SCHEMA, protocol: writer0 });
  const bytes = encoder.encode('{"commitInfo":{"w":"crashed"}}\n');
  await sparkCrashedCommit(client, storage, writer0.tablePath, 1, bytes);
  const fresh = make();
  assert.equal(
    await fresh.writeCommit(2, encoder.encode('{"commitInfo":{"w":"fresh"}}\n')),
    "committed",
  );
  assert.deepEqual(await storage.get(commitPath(1)), bytes);
  assert.equal((await fresh.getEntry(1))?.complete, true);
  assert.equal(await fresh.latestVersionHint(), 2);
});

Deno.test("s3-dynamodb: a commit loop that meets a crashed entry repairs it and commits after it", async () => {
  const { storage, make, client } = await setup();
  const writer = make();
  const v0 = await createTable(storage, { schema: SCHEMA, protocol: writer });
  const crashed = encoder.encode(
    '{"add":{"path":"crashed.parquet","partitionValues":{},"size":1,"modificationTime":0,"dataChange":true}}\n',
  );
  await sparkCrashedCommit(client, storage, writer.tablePath, 1, crashed);
  const add = {
    path: "ours.parquet",
    partitionValues: {},
    size: 1,
    modificationTime: 0,
    dataChange: true,
  };
  const r = await commitActions(storage, v0, { operation: "WRITE", actions: [{ add }] }, {
    protocol: writer,
  });
  assert.ok(r.ok);
  assert.equal(r.version, 2);
  assert.deepEqual(r.snapshot.files.map((f) => f.path).sort(), ["crashed.parquet", "ours.parquet"]);
});

Deno.test("s3-dynamodb: an entry whose temp file and commit are both gone is a corrupt log", async () => {
  const { storage, make, client } = await setup();
  const writer = make();
  await createTable(storage, { schema: SCHEMA, protocol: writer });
  const temp = await sparkCrashedCommit(
    client,
    storage,
    writer.tablePath,
    1,
    encoder.encode("x\n"),
  );
  await storage.delete([`_delta_log/${temp}`]);
  await assert.rejects(
    loadSnapshot(storage, { protocol: make() }),
    (e: Error) =>
      e instanceof CorruptLogError &&
      /temp file _delta_log\/\.tmp\/.* and _delta_log\/00000000000000000001.json are both missing/
        .test(e.message),
  );
});

Deno.test("s3-dynamodb: a writer whose entry expired over an existing version does not claim it", async () => {
  const { storage, make } = await setup();
  const writer = make();
  await createTable(storage, { schema: SCHEMA, protocol: writer });
  // Version 1 exists, its entry long gone (TTL): only the copy can notice.
  const theirs = encoder.encode('{"commitInfo":{"w":"old"}}\n');
  await storage.put(commitPath(1), theirs);
  assert.equal(
    await make().writeCommit(1, encoder.encode('{"commitInfo":{"w":"late"}}\n')),
    "exists",
  );
  assert.deepEqual(await storage.get(commitPath(1)), theirs);
});

Deno.test("s3-dynamodb: re-creating a table whose old entries remain is refused", async () => {
  const { storage, make } = await setup();
  await createTable(storage, { schema: SCHEMA, protocol: make() });
  await storage.delete((await storage.list("")).map((o) => o.path));
  await assert.rejects(
    createTable(storage, { schema: SCHEMA, protocol: make() }),
    (e: Error) => isLakestrikeError(e, "TABLE_EXISTS") && /old entries/.test(e.message),
  );
});
