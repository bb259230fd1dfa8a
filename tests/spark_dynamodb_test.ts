/**
 * Sharing a table with Delta Spark through DynamoDB (ADR 0017), against the real local servers
 * (moto for S3, DynamoDB Local). The test plays Delta Spark's `S3DynamoDBLogStore` on S3A step by
 * step as its sources describe it (`BaseExternalLogStore.write` and `fixDeltaLog`,
 * `S3DynamoDBLogStore.putExternalEntry`): the key is the Hadoop path the table was opened with
 * (`s3a://bucket/path`, `s3a://bucket/` at a bucket root), the DynamoDB table lives in the region of
 * `ddb.region` (here eu-west-1), the temp file is `_delta_log/.tmp/N.json.<uuid>`, the entry is put
 * with `complete = "false"` and the legacy `Expected` condition, and a crash before the copy leaves
 * just that. lakestrike, configured as the README says (runner config and CLI flags), must see such
 * a commit, repair it, and never write a version Spark decided.
 *
 * Needs `LAKESTRIKE_TEST_S3_ENDPOINT` and `LAKESTRIKE_TEST_DYNAMODB_ENDPOINT` (run through
 * `deno task test`); fails, never skips, without them.
 */
import assert from "node:assert/strict";
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { parseFlags, parseTableFlags, TABLE_FLAGS } from "../batch/cli.ts";
import { validateConfig } from "../batch/config.ts";
import { openTable } from "../batch/open_table.ts";
import { openConfiguredTable } from "../batch/runner_main.ts";
import { setupDynamoDBTable } from "../batch/setup_dynamodb.ts";
import { isLakestrikeError } from "../core/errors.ts";
import type { CommitProtocol } from "../core/log/commit_protocol.ts";
import { CommitProtocolUnknownError } from "../core/log/resolve_commit_protocol.ts";
import {
  DynamoDBKeyConflictError,
  type ExternalCommitEntry,
  itemToEntry,
} from "../aws/dynamodb_log_store.ts";
import { formatVersion } from "../core/log/paths.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../core/scan/scan_snapshot.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { registerAws } from "../aws/register_aws.ts";
import { createS3Storage } from "../aws/s3_storage.ts";
import { createTestBucket, testS3Client, testS3Endpoint } from "../aws/s3_test_support.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { appendBatch } from "../core/write/append_batch.ts";
import { writeDataFiles } from "../core/write/write_data_files.ts";
import { PROTOCOL_WORKER_SCHEMA as SCHEMA } from "./fixtures/protocol_worker.ts";

function dynamodbEndpoint(): string {
  const endpoint = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
  if (endpoint === undefined || endpoint === "") {
    throw new Error(
      "LAKESTRIKE_TEST_DYNAMODB_ENDPOINT is not set: run through `deno task test` (tests/run.ts)",
    );
  }
  return endpoint;
}

/** `spark.io.delta.storage.S3DynamoDBLogStore.ddb.region` of the Spark side (not the default). */
const SPARK_REGION = "eu-west-1";
/** `spark.io.delta.storage.S3DynamoDBLogStore.ddb.tableName` of this run. */
const DDB_TABLE = `lakestrike_spark_${crypto.randomUUID().slice(0, 8)}`;
/** `engineInfo` of the Spark commits. */
const SPARK_ENGINE = "Apache-Spark/3.5.3 Delta-Lake/3.3.0";
const encoder = new TextEncoder();

let ddbReady: Promise<unknown> | undefined;
/** The commit table in Spark's region, as `setup-dynamodb --region eu-west-1` creates it. */
function ensureDdbTable(): Promise<unknown> {
  ddbReady ??= setupDynamoDBTable({
    endpoint: dynamodbEndpoint(),
    tableName: DDB_TABLE,
    region: SPARK_REGION,
  });
  return ddbReady;
}

// openStorage("s3://...") (runner config, CLI) reaches moto.
registerAws({ s3: { endpoint: testS3Endpoint() } });

/**
 * Delta Spark's `S3DynamoDBLogStore` on S3A, one step at a time. Only what a commit does: the
 * write of version N (steps 0 to 4) and the repair of an incomplete entry.
 */
class SparkS3DynamoDBLogStore {
  /** The Hadoop path of the table as Spark opened it: the DynamoDB key. */
  readonly tablePath: string;
  readonly ddb = new DynamoDBClient({
    endpoint: dynamodbEndpoint(),
    region: SPARK_REGION,
    maxAttempts: 1,
  });
  readonly s3 = testS3Client();

  constructor(readonly bucket: string, readonly prefix: string) {
    // new Path("s3a://bucket/prefix/_delta_log/N.json").getParent().getParent().toString()
    this.tablePath = prefix === "" ? `s3a://${bucket}/` : `s3a://${bucket}/${prefix}`;
  }

  /** S3 key of a file of `_delta_log/`. */
  logKey(name: string): string {
    return `${this.prefix === "" ? "" : `${this.prefix}/`}_delta_log/${name}`;
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.logKey(name) }));
      return true;
    } catch (e) {
      if ((e as Error).name === "NotFound") return false;
      throw e;
    }
  }

  async read(name: string): Promise<Uint8Array> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.logKey(name) }),
    );
    return await out.Body!.transformToByteArray();
  }

  /** S3A `create(path, overwrite = false)`: an existence check, then a PUT. */
  async create(name: string, bytes: Uint8Array): Promise<void> {
    if (await this.exists(name)) throw new Error(`FileAlreadyExistsException: ${name}`);
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.logKey(name), Body: bytes }),
    );
  }

  async getEntry(fileName: string): Promise<ExternalCommitEntry | undefined> {
    const { Item } = await this.ddb.send(
      new GetItemCommand({
        TableName: DDB_TABLE,
        Key: { tablePath: { S: this.tablePath }, fileName: { S: fileName } },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : itemToEntry(Item);
  }

  /** `putExternalEntry`: PutItem, with the legacy `Expected` condition unless overwriting. */
  async putEntry(
    entry: { fileName: string; tempPath: string; complete: boolean },
    overwrite: boolean,
  ): Promise<void> {
    await this.ddb.send(
      new PutItemCommand({
        TableName: DDB_TABLE,
        Item: {
          tablePath: { S: this.tablePath },
          fileName: { S: entry.fileName },
          tempPath: { S: entry.tempPath },
          complete: { S: String(entry.complete) },
          ...(entry.complete
            ? { expireTime: { N: String(Math.floor(Date.now() / 1000) + 86_400) } }
            : {}),
        },
        ...(overwrite ? {} : { Expected: { fileName: { Exists: false } } }),
      }),
    );
  }

  /** `fixDeltaLog`: copy the temp file to N.json unless it exists, then mark the entry complete. */
  async fix(entry: ExternalCommitEntry): Promise<void> {
    if (!(await this.exists(entry.fileName))) {
      await this.create(entry.fileName, await this.read(entry.tempPath));
    }
    await this.putEntry({ ...entry, complete: true }, true);
  }

  /**
   * `write(N.json, actions, overwrite = false)`. With `crashBeforeCopy` the JVM dies after the
   * entry is put: the temp file and an incomplete entry stay. Returns the temp path.
   */
  async write(
    version: number,
    actions: readonly object[],
    options: { crashBeforeCopy?: boolean } = {},
  ): Promise<string> {
    const fileName = `${formatVersion(version)}.json`;
    // Step 0: N.json must not exist.
    if (await this.exists(fileName)) throw new Error(`FileAlreadyExistsException: ${fileName}`);
    // Step 1: N-1.json must exist, or be repaired from an incomplete entry.
    if (version > 0) {
      const previous = `${formatVersion(version - 1)}.json`;
      const entry = await this.getEntry(previous);
      if (entry !== undefined && !entry.complete) await this.fix(entry);
      else if (!(await this.exists(previous))) {
        throw new Error(`previous commit ${previous} doesn't exist on the file system`);
      }
    }
    // Step 2: PREPARE: temp file T(N), then E(N, T(N), complete = false).
    const tempPath = `.tmp/${fileName}.${crypto.randomUUID()}`;
    const bytes = encoder.encode(actions.map((a) => `${JSON.stringify(a)}\n`).join(""));
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.logKey(tempPath), Body: bytes }),
    );
    await this.putEntry({ fileName, tempPath, complete: false }, false);
    if (options.crashBeforeCopy) return tempPath;
    // Step 3: COMMIT: copy T(N) to N.json (overwrite = false). Step 4: ACKNOWLEDGE.
    await this.create(fileName, bytes);
    await this.putEntry({ fileName, tempPath, complete: true }, true);
    return tempPath;
  }
}

/** The actions of Spark's CREATE TABLE (no lakestrike.commitProtocol property). */
function sparkCreateTable(): object[] {
  return [
    {
      commitInfo: {
        timestamp: Date.now(),
        operation: "CREATE TABLE",
        operationParameters: { partitionBy: "[]", description: null, isManaged: "false" },
        isolationLevel: "Serializable",
        isBlindAppend: true,
        operationMetrics: {},
        engineInfo: SPARK_ENGINE,
        txnId: crypto.randomUUID(),
      },
    },
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: crypto.randomUUID(),
        format: { provider: "parquet", options: {} },
        schemaString: JSON.stringify(SCHEMA),
        partitionColumns: [],
        configuration: {},
        createdTime: Date.now(),
      },
    },
  ];
}

/** The actions of a Spark append of `rows` rows tagged `spark/seq`, with its data file written. */
async function sparkAppend(storage: ObjectStorage, seq: number, rows = 3): Promise<object[]> {
  const snapshot = await loadSnapshot(storage);
  const batch = createArrowTable(
    SCHEMA,
    Array.from({ length: rows }, (_, row) => ({ writer: "spark", seq, row })),
  );
  const adds = await writeDataFiles(storage, snapshot, batch);
  return [
    {
      commitInfo: {
        timestamp: Date.now(),
        operation: "WRITE",
        operationParameters: { mode: "Append", partitionBy: "[]" },
        readVersion: snapshot.version,
        isolationLevel: "Serializable",
        isBlindAppend: true,
        operationMetrics: { numFiles: String(adds.length), numOutputRows: String(rows) },
        engineInfo: SPARK_ENGINE,
        txnId: crypto.randomUUID(),
      },
    },
    ...adds.map((add) => ({ add })),
  ];
}

/** lakestrike appends `rows` rows tagged `lakestrike/seq` (idempotent txn) from `snapshot`. */
async function lakestrikeAppend(
  storage: ObjectStorage,
  snapshot: Snapshot,
  protocol: CommitProtocol,
  seq: number,
): Promise<Snapshot> {
  const batch = createArrowTable(
    SCHEMA,
    Array.from({ length: 2 }, (_, row) => ({ writer: "lakestrike", seq, row })),
  );
  const r = await appendBatch(storage, snapshot, batch, {
    txn: { appId: "lakestrike", version: seq },
    protocol,
  });
  assert.ok(r.ok, "append failed");
  return r.snapshot;
}

async function rowsOf(storage: ObjectStorage, snapshot: Snapshot): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const [writer, seq, row] of batch) keys.push(`${writer}/${seq}/${row}`);
  }
  return keys.sort();
}

async function entriesUnder(ddb: DynamoDBClient, tablePath: string) {
  const out = await ddb.send(
    new QueryCommand({
      TableName: DDB_TABLE,
      KeyConditionExpression: "tablePath = :tp",
      ExpressionAttributeValues: { ":tp": { S: tablePath } },
      ConsistentRead: true,
    }),
  );
  return (out.Items ?? []).map(itemToEntry);
}

/**
 * Every version 0..last exists; every entry is complete and its N.json holds exactly its temp file
 * (the writer whose entry won is the one whose bytes are the version); no entry exists under any
 * other spelling of the key.
 */
async function assertOneWriterPerVersion(spark: SparkS3DynamoDBLogStore, last: number) {
  const entries = await entriesUnder(spark.ddb, spark.tablePath);
  for (const entry of entries) {
    assert.ok(entry.complete, `entry ${entry.version} incomplete`);
    assert.ok(entry.expireTime !== undefined, `entry ${entry.version} has no expireTime`);
    assert.deepEqual(
      await spark.read(entry.fileName),
      await spark.read(entry.tempPath),
      `${entry.fileName} is not the temp file of its entry`,
    );
  }
  const versions = entries.map((e) => e.version);
  assert.deepEqual(versions, Array.from({ length: last + 1 }, (_, v) => v));
  for (let v = 0; v <= last; v++) assert.ok(await spark.exists(`${formatVersion(v)}.json`));
  assert.equal(await spark.exists(`${formatVersion(last + 1)}.json`), false);
  const rest = spark.tablePath.slice("s3a://".length);
  for (const other of [`s3://${rest}`, `s3n://${rest}`, `s3a://${rest.replace(/\/$/, "")}`]) {
    if (other === spark.tablePath) continue;
    assert.deepEqual(await entriesUnder(spark.ddb, other), [], `entries under ${other}`);
  }
}

/** The runner config of the table, as the README's "Sharing a table with Delta Spark" shows it. */
function runnerTable(uri: string, dynamodb: Record<string, unknown>, commitProtocol?: string) {
  const config = validateConfig({
    tables: [{
      name: "events",
      uri,
      schema: SCHEMA,
      createIfMissing: false,
      ...(commitProtocol === undefined ? {} : { commitProtocol }),
      ...(Object.keys(dynamodb).length === 0 ? {} : { dynamodb }),
    }],
  });
  return config.tables[0]!;
}

Deno.test("spark: lakestrike configured as documented repairs Spark's crashed commits and never takes their versions", async () => {
  await ensureDdbTable();
  const { bucket, cleanup } = await createTestBucket();
  try {
    const prefix = "warehouse/events";
    const uri = `s3://${bucket}/${prefix}`;
    const storage = createS3Storage({ bucket, prefix, endpoint: testS3Endpoint() });
    const spark = new SparkS3DynamoDBLogStore(bucket, prefix);
    await spark.write(0, sparkCreateTable());
    await spark.write(1, await sparkAppend(storage, 1));
    // Spark dies between its entry for version 2 and the copy.
    const temp2 = await spark.write(2, await sparkAppend(storage, 2), { crashBeforeCopy: true });
    assert.match(temp2, /^\.tmp\/00000000000000000002\.json\.[0-9a-f-]{36}$/);
    assert.equal(await spark.exists("00000000000000000002.json"), false);
    assert.equal((await spark.getEntry("00000000000000000002.json"))?.complete, false);

    // The runner, configured as the README says: s3-dynamodb, Spark's table, region and path.
    const table = runnerTable(uri, {
      tableName: DDB_TABLE,
      region: SPARK_REGION,
      tablePath: `s3a://${bucket}/${prefix}`,
      endpoint: dynamodbEndpoint(),
    }, "s3-dynamodb");
    const opened = await openConfiguredTable(table);
    const protocol = opened.table.commitOptions!.protocol!;
    assert.equal(opened.created, false);
    assert.equal(opened.snapshot.version, 2, "the runner must see Spark's decided commit");
    assert.deepEqual(await spark.read("00000000000000000002.json"), await spark.read(temp2));
    const entry2 = await spark.getEntry("00000000000000000002.json");
    assert.equal(entry2?.complete, true);
    assert.ok(entry2!.expireTime! > Date.now() / 1000 + 86_000);

    let ours = await lakestrikeAppend(storage, opened.snapshot, protocol, 0);
    assert.equal(ours.version, 3);
    // Spark's step 1 sees our entry for 3 (same key, same table, same region) and 3.json.
    await spark.write(4, await sparkAppend(storage, 4));
    // Our snapshot is stale (3): version 4 is Spark's, ours lands at 5.
    ours = await lakestrikeAppend(storage, ours, protocol, 1);
    assert.equal(ours.version, 5);
    // Spark crashes again, at 6; our stale writer must not take 6.
    const temp6 = await spark.write(6, await sparkAppend(storage, 6), { crashBeforeCopy: true });
    ours = await lakestrikeAppend(storage, ours, protocol, 2);
    assert.equal(ours.version, 7);
    assert.deepEqual(await spark.read("00000000000000000006.json"), await spark.read(temp6));

    await assertOneWriterPerVersion(spark, 7);
    const latest = await loadSnapshot(storage, { protocol });
    assert.equal(latest.version, 7);
    const expected = [
      ...[1, 2, 4, 6].flatMap((seq) => [0, 1, 2].map((row) => `spark/${seq}/${row}`)),
      ...[0, 1, 2].flatMap((seq) => [0, 1].map((row) => `lakestrike/${seq}/${row}`)),
    ].sort();
    assert.deepEqual(await rowsOf(storage, latest), expected);
  } finally {
    await cleanup();
  }
});

Deno.test("spark: the CLI flags of the README open Spark's table and repair its crashed commit", async () => {
  await ensureDdbTable();
  const { bucket, cleanup } = await createTestBucket();
  try {
    const prefix = "warehouse/cli";
    const storage = createS3Storage({ bucket, prefix, endpoint: testS3Endpoint() });
    const spark = new SparkS3DynamoDBLogStore(bucket, prefix);
    await spark.write(0, sparkCreateTable());
    const temp1 = await spark.write(1, await sparkAppend(storage, 1), { crashBeforeCopy: true });
    const { values, positionals } = parseFlags([
      `s3://${bucket}/${prefix}`,
      "--commit-protocol",
      "s3-dynamodb",
      "--dynamodb-table",
      DDB_TABLE,
      "--dynamodb-region",
      SPARK_REGION,
      "--dynamodb-table-path",
      `s3a://${bucket}/${prefix}/`,
      "--dynamodb-endpoint",
      dynamodbEndpoint(),
    ], TABLE_FLAGS);
    const flags = parseTableFlags(values);
    assert.equal(flags.dynamodbTablePath, spark.tablePath);
    const { snapshot } = await openTable(positionals[0]!, flags);
    assert.equal(snapshot.version, 1);
    assert.deepEqual(await spark.read("00000000000000000001.json"), await spark.read(temp1));
    await assertOneWriterPerVersion(spark, 1);
    // Without the flags the table is refused, naming its writer: it records no protocol.
    await assert.rejects(
      openTable(`s3://${bucket}/${prefix}`),
      (e: Error) => e instanceof CommitProtocolUnknownError && e.message.includes(SPARK_ENGINE),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("spark: a bucket-root table is keyed s3a://bucket/ (trailing slash), however tablePath is written", async () => {
  await ensureDdbTable();
  const { bucket, cleanup } = await createTestBucket();
  try {
    const storage = createS3Storage({ bucket, prefix: "", endpoint: testS3Endpoint() });
    const spark = new SparkS3DynamoDBLogStore(bucket, "");
    assert.equal(spark.tablePath, `s3a://${bucket}/`);
    await spark.write(0, sparkCreateTable());
    const temp1 = await spark.write(1, await sparkAppend(storage, 1), { crashBeforeCopy: true });
    const table = runnerTable(`s3://${bucket}`, {
      tableName: DDB_TABLE,
      region: SPARK_REGION,
      tablePath: `s3a://${bucket}`,
      endpoint: dynamodbEndpoint(),
    }, "s3-dynamodb");
    assert.equal(table.dynamodb?.tablePath, `s3a://${bucket}/`);
    const opened = await openConfiguredTable(table);
    assert.equal(opened.snapshot.version, 1);
    assert.deepEqual(await spark.read("00000000000000000001.json"), await spark.read(temp1));
    const protocol = opened.table.commitOptions!.protocol!;
    assert.equal((await lakestrikeAppend(storage, opened.snapshot, protocol, 0)).version, 2);
    await spark.write(3, await sparkAppend(storage, 3));
    await assertOneWriterPerVersion(spark, 3);
  } finally {
    await cleanup();
  }
});

Deno.test("spark: a misconfigured lakestrike refuses Spark's table, says what to configure, writes nothing", async () => {
  await ensureDdbTable();
  const { bucket, cleanup } = await createTestBucket();
  try {
    const prefix = "warehouse/refused";
    const uri = `s3://${bucket}/${prefix}`;
    const storage = createS3Storage({ bucket, prefix, endpoint: testS3Endpoint() });
    const spark = new SparkS3DynamoDBLogStore(bucket, prefix);
    await spark.write(0, sparkCreateTable());
    await spark.write(1, await sparkAppend(storage, 1));
    const before = (await storage.list("")).map((o) => o.path);
    const ddb = { tableName: DDB_TABLE, endpoint: dynamodbEndpoint() };

    // No protocol configured: the table records none, so lakestrike does not guess 's3'.
    await assert.rejects(
      openConfiguredTable(runnerTable(uri, {})),
      (e: Error) =>
        e instanceof CommitProtocolUnknownError &&
        e.message.includes(`its latest commit was written by ${SPARK_ENGINE}`) &&
        e.message.includes("'s3-dynamodb'"),
    );
    // 's3' with the DynamoDB table to check: Spark's entries (under s3a://) refuse it.
    await assert.rejects(
      openConfiguredTable(runnerTable(uri, { ...ddb, region: SPARK_REGION }, "s3")),
      (e: Error) =>
        e instanceof DynamoDBKeyConflictError && e.foundTablePath === spark.tablePath &&
        e.message.startsWith(
          `Cannot open ${uri} with commit protocol 's3': DynamoDB table ${DDB_TABLE} (region ${SPARK_REGION}) holds S3DynamoDBLogStore commit entries for ${spark.tablePath} (latest version 1)`,
        ) &&
        e.message.includes(
          `--commit-protocol s3-dynamodb --dynamodb-table ${DDB_TABLE} --dynamodb-table-path ${spark.tablePath} --dynamodb-region ${SPARK_REGION}`,
        ),
    );
    // 's3-dynamodb' keyed by the s3:// uri (the default): two keys would be two locks.
    await assert.rejects(
      openConfiguredTable(runnerTable(uri, { ...ddb, region: SPARK_REGION }, "s3-dynamodb")),
      (e: Error) =>
        e instanceof DynamoDBKeyConflictError && e.foundTablePath === spark.tablePath &&
        e.message.includes(`Set dynamodb.tablePath (--dynamodb-table-path) to ${spark.tablePath}`),
    );
    // The right key but not Spark's region (us-east-1 by default): that DynamoDB table is another.
    await assert.rejects(
      openConfiguredTable(runnerTable(uri, { ...ddb, tablePath: spark.tablePath }, "s3-dynamodb")),
      (e: Error) =>
        isLakestrikeError(e, "INVALID_ARGUMENT") &&
        e.message.includes(`DynamoDB table ${DDB_TABLE} does not exist in region us-east-1`),
    );
    // The same through the CLI flags.
    await assert.rejects(
      openTable(uri, {
        protocol: "s3",
        dynamodbTable: DDB_TABLE,
        dynamodbRegion: SPARK_REGION,
        dynamodbEndpoint: dynamodbEndpoint(),
      }),
      DynamoDBKeyConflictError,
    );
    assert.deepEqual((await storage.list("")).map((o) => o.path), before);
    await assertOneWriterPerVersion(spark, 1);
  } finally {
    await cleanup();
  }
});

Deno.test("spark: lakestrike's own entries are the ones Spark's log store reads", async () => {
  await ensureDdbTable();
  const { bucket, cleanup } = await createTestBucket();
  try {
    // lakestrike creates the table (s3-dynamodb, Spark's key and region); Spark appends after it.
    const prefix = "warehouse/ours";
    const uri = `s3://${bucket}/${prefix}`;
    const storage = createS3Storage({ bucket, prefix, endpoint: testS3Endpoint() });
    const spark = new SparkS3DynamoDBLogStore(bucket, prefix);
    const table = {
      ...runnerTable(uri, {
        tableName: DDB_TABLE,
        region: SPARK_REGION,
        tablePath: spark.tablePath,
        endpoint: dynamodbEndpoint(),
      }, "s3-dynamodb"),
      createIfMissing: true,
    };
    const opened = await openConfiguredTable(table);
    assert.equal(opened.created, true);
    const protocol = opened.table.commitOptions!.protocol!;
    await lakestrikeAppend(storage, opened.snapshot, protocol, 0);
    const entry = await spark.getEntry("00000000000000000001.json");
    assert.equal(entry?.complete, true);
    assert.match(entry!.tempPath, /^\.tmp\/00000000000000000001\.json\.[0-9a-f-]{36}$/);
    await spark.write(2, await sparkAppend(storage, 2));
    await assertOneWriterPerVersion(spark, 2);
  } finally {
    await cleanup();
  }
});
