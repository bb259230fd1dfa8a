// The s3-dynamodb protocol over the memory storage and a real DynamoDB Local (needs
// LAKESTRIKE_TEST_DYNAMODB_ENDPOINT: run through tests/run.ts; fails without it).
import assert from "node:assert/strict";
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { setupDynamoDBTable } from "../batch/setup_dynamodb.ts";
import { CorruptLogError, isLakestrikeError } from "../core/errors.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { createTable } from "../core/write/create_table.ts";
import { commitActions } from "../core/log/commit.ts";
import {
  createS3DynamoDBLogStore,
  DynamoDBKeyConflictError,
  dynamodbTablePath,
  dynamodbTablePathVariants,
  entryToItem,
  type ExternalCommitEntry,
  isRetryableDynamoDBError,
  itemToEntry,
  resolveDynamoDBRegion,
} from "./dynamodb_log_store.ts";
import { commitPath } from "../core/log/paths.ts";

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

/** A table on memory storage named `s3://bucket/t-<uuid>`; `scheme` picks its DynamoDB key. */
async function setup(scheme?: "s3a" | "s3") {
  ready ??= setupDynamoDBTable({ endpoint: endpoint(), tableName: TABLE });
  await ready;
  const path = `bucket/t-${crypto.randomUUID()}`;
  const storage = createMemoryStorage({ location: `s3://${path}` });
  const tablePath = scheme === undefined ? undefined : `${scheme}://${path}`;
  const make = () =>
    createS3DynamoDBLogStore({
      storage,
      tableName: TABLE,
      endpoint: endpoint(),
      ...(tablePath ? { tablePath } : {}),
    });
  const client = new DynamoDBClient({ endpoint: endpoint(), region: "us-east-1" });
  return { storage, make, client, path };
}

/** Every DynamoDB item of `tablePath`. */
async function itemsOf(client: DynamoDBClient, tablePath: string) {
  const out = await client.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: "tablePath = :tp",
      ExpressionAttributeValues: { ":tp": { S: tablePath } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map(itemToEntry);
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

Deno.test("dynamodbTablePath: Hadoop's path, a trailing slash only at a bucket root", () => {
  assert.equal(dynamodbTablePath("s3a://lake/tables/events"), "s3a://lake/tables/events");
  assert.equal(dynamodbTablePath("s3a://lake/tables/events/"), "s3a://lake/tables/events");
  assert.equal(dynamodbTablePath("s3a://lake"), "s3a://lake/");
  assert.equal(dynamodbTablePath("s3a://lake/"), "s3a://lake/");
  assert.equal(dynamodbTablePath("S3://lake/t"), "s3://lake/t");
  assert.equal(dynamodbTablePath("s3n://lake/t"), "s3n://lake/t");
  for (const bad of ["hdfs://lake/t", "lake/t", "s3a://", "s3a://Bad_Bucket/t"]) {
    assert.throws(() => dynamodbTablePath(bad), /Invalid DynamoDB tablePath/);
  }
  assert.deepEqual(dynamodbTablePathVariants("s3://lake/t/"), [
    "s3://lake/t",
    "s3a://lake/t",
    "s3n://lake/t",
  ]);
  assert.deepEqual(dynamodbTablePathVariants("s3://lake"), [
    "s3://lake/",
    "s3://lake",
    "s3a://lake/",
    "s3a://lake",
    "s3n://lake/",
    "s3n://lake",
  ]);
  assert.deepEqual(dynamodbTablePathVariants("memory://t"), []);
});

Deno.test("createS3DynamoDBLogStore: the key defaults to the location, refuses another table's", () => {
  const client = { send: () => Promise.reject(new Error("no requests")) };
  const at = (location: string, tablePath?: string) =>
    createS3DynamoDBLogStore({
      storage: createMemoryStorage({ location }),
      client,
      ...(tablePath === undefined ? {} : { tablePath }),
    }).tablePath;
  assert.equal(at("s3://lake/events"), "s3://lake/events");
  // Spark keys a bucket-root table with the slash (Hadoop's Path of `s3a://lake/`).
  assert.equal(at("s3://lake"), "s3://lake/");
  assert.equal(at("s3://lake", "s3a://lake"), "s3a://lake/");
  assert.equal(at("s3://lake/events", "s3a://lake/events/"), "s3a://lake/events");
  assert.throws(
    () => at("s3://lake/events", "s3a://lake/other"),
    /Invalid DynamoDB tablePath "s3a:\/\/lake\/other": it names another table than s3:\/\/lake\/events/,
  );
});

Deno.test("resolveDynamoDBRegion: Spark's us-east-1 unless given; refuses to guess from AWS_REGION", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(resolveDynamoDBRegion(undefined, env({})), "us-east-1");
  assert.equal(resolveDynamoDBRegion(undefined, env({ AWS_REGION: "us-east-1" })), "us-east-1");
  assert.equal(resolveDynamoDBRegion("eu-west-1", env({ AWS_REGION: "ap-south-1" })), "eu-west-1");
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    assert.throws(
      () => resolveDynamoDBRegion(undefined, env({ [name]: "eu-west-1" })),
      (e: Error) =>
        isLakestrikeError(e, "INVALID_ARGUMENT") &&
        e.message ===
          `No DynamoDB region configured while ${name} is eu-west-1: Delta Spark's S3DynamoDBLogStore uses spark.io.delta.storage.S3DynamoDBLogStore.ddb.region (default us-east-1) and ignores ${name}; set the region every writer uses (config dynamodb.region, --dynamodb-region)`,
    );
  }
});

Deno.test("s3-dynamodb: the region picks the DynamoDB table, as Spark's ddb.region does", async () => {
  const region = "eu-west-1";
  const tableName = `lakestrike_region_${crypto.randomUUID().slice(0, 8)}`;
  const eu = new DynamoDBClient({ endpoint: endpoint(), region });
  await eu.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: "tablePath", AttributeType: "S" },
        { AttributeName: "fileName", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "tablePath", KeyType: "HASH" },
        { AttributeName: "fileName", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  const storage = createMemoryStorage({ location: `s3://bucket/r-${crypto.randomUUID()}` });
  const inEu = createS3DynamoDBLogStore({ storage, tableName, endpoint: endpoint(), region });
  assert.equal(inEu.region, region);
  await createTable(storage, { schema: SCHEMA, protocol: inEu });
  assert.equal((await inEu.getEntry(0))?.complete, true);
  // The same table name in us-east-1 is another table (here: none at all).
  const inUs = createS3DynamoDBLogStore({ storage, tableName, endpoint: endpoint() });
  assert.equal(inUs.region, "us-east-1");
  await assert.rejects(
    inUs.getEntry(0),
    (e: Error) =>
      isLakestrikeError(e, "INVALID_ARGUMENT") &&
      e.message.startsWith(
        `Cannot read DynamoDB entry of version 0: DynamoDB table ${tableName} does not exist in region us-east-1; every writer of a table must use the same DynamoDB table and region`,
      ),
  );
});

Deno.test("s3-dynamodb: a key is refused while another spelling of the table holds newer entries", async () => {
  const { storage, make, client, path } = await setup("s3a");
  const spark = make(); // keys by s3a://, as Spark on S3A
  await createTable(storage, { schema: SCHEMA, protocol: spark });
  await spark.writeCommit(1, encoder.encode('{"commitInfo":{"w":"spark"}}\n'));
  const ours = createS3DynamoDBLogStore({ storage, tableName: TABLE, endpoint: endpoint() });
  assert.equal(ours.tablePath, `s3://${path}`);
  await assert.rejects(
    ours.checkTablePathVariants(),
    (e: Error) =>
      e instanceof DynamoDBKeyConflictError && e.foundTablePath === `s3a://${path}` &&
      e.message ===
        `Cannot open s3://${path}: DynamoDB table ${TABLE} (region us-east-1) holds commit entries for s3a://${path} up to version 1, and none for s3://${path}, the key this writer uses; another writer keys the table as s3a://${path} (Delta Spark uses the path it opens the table with, s3a:// on S3A), and two keys are two locks. Set dynamodb.tablePath (--dynamodb-table-path) to s3a://${path} here, or make every writer use s3://${path}`,
  );
  await spark.checkTablePathVariants(); // its own key is the newest
  // Entries left under another key by an earlier, corrected configuration are older than ours.
  const corrected = createS3DynamoDBLogStore({ storage, tableName: TABLE, endpoint: endpoint() });
  await client.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: entryToItem({
        tablePath: `s3://${path}`,
        fileName: "00000000000000000002.json",
        version: 2,
        tempPath: ".tmp/00000000000000000002.json.x",
        complete: true,
        expireTime: 2_000_000_000,
      }),
    }),
  );
  await corrected.checkTablePathVariants();
  await assert.rejects(spark.checkTablePathVariants(), DynamoDBKeyConflictError);
});

Deno.test("s3-dynamodb: a reader repairs an incomplete entry left by a Spark writer (s3a tablePath)", async () => {
  const { storage, make, client, path } = await setup("s3a");
  const tablePath = `s3a://${path}`;
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
  const late = make();
  assert.equal(
    await late.writeCommit(1, encoder.encode('{"commitInfo":{"w":"late"}}\n')),
    "exists",
  );
  assert.deepEqual(await storage.get(commitPath(1)), theirs);
  // Spark's step 0: N.json exists, so no entry is created for it and no temp file is left.
  assert.equal(await late.getEntry(1), undefined);
  assert.deepEqual(await storage.list("_delta_log/.tmp/00000000000000000001.json"), []);
});

Deno.test("s3-dynamodb: a writer refuses version N when N-1 does not exist, writing nothing", async () => {
  const { storage, make, client } = await setup();
  const writer = make();
  await createTable(storage, { schema: SCHEMA, protocol: writer });
  const before = await storage.list("_delta_log/");
  // A fresh writer: version 2 after a gap (no 1.json, no entry for 1).
  await assert.rejects(
    make().writeCommit(2, encoder.encode('{"commitInfo":{"w":"gap"}}\n')),
    (e: Error) =>
      isLakestrikeError(e, "COMMIT_FAILED") &&
      e.message ===
        `Cannot commit version 2: version 1 does not exist (no _delta_log/00000000000000000001.json and no incomplete DynamoDB entry for it under ${writer.tablePath})`,
  );
  // A complete entry whose N-1.json is gone (Spark: "previous commit ... doesn't exist on the
  // file system but does in the external log store") is refused the same way.
  await client.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: entryToItem({
        tablePath: writer.tablePath,
        fileName: "00000000000000000001.json",
        version: 1,
        tempPath: ".tmp/00000000000000000001.json.gone",
        complete: true,
        expireTime: 2_000_000_000,
      }),
    }),
  );
  await assert.rejects(
    make().writeCommit(2, encoder.encode('{"commitInfo":{"w":"gap"}}\n')),
    /Cannot commit version 2: version 1 does not exist/,
  );
  assert.deepEqual(await storage.list("_delta_log/"), before);
  assert.deepEqual((await itemsOf(client, writer.tablePath)).map((e) => e.version), [0, 1]);
});

Deno.test("s3-dynamodb: a single writer checks N-1 once, then only HEADs N.json per commit", async () => {
  const { storage, make } = await setup();
  await createTable(storage, { schema: SCHEMA, protocol: make() });
  const heads: string[] = [];
  const counted = {
    ...storage,
    head(path: string) {
      heads.push(path);
      return storage.head(path);
    },
  };
  const writer = createS3DynamoDBLogStore({
    storage: counted,
    tableName: TABLE,
    endpoint: endpoint(),
  });
  for (const v of [1, 2, 3]) {
    assert.equal(
      await writer.writeCommit(v, encoder.encode(`{"commitInfo":{"v":${v}}}\n`)),
      "committed",
    );
  }
  assert.deepEqual(heads, [commitPath(1), commitPath(0), commitPath(2), commitPath(3)]);
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
