/**
 * Commit protocols against real servers (moto for S3, DynamoDB Local): one contract for `local`,
 * `s3` and `s3-dynamodb`; three writer processes per S3 protocol; a writer SIGKILLed between its
 * DynamoDB entry and the copy; request counts of a steady-state commit; `setup-dynamodb`.
 *
 * Needs `LAKESTRIKE_TEST_S3_ENDPOINT` and `LAKESTRIKE_TEST_DYNAMODB_ENDPOINT` (run through
 * `tests/run.ts`); fails, never skips, without them.
 */
import { registerAws } from "../aws/register_aws.ts";
import assert from "node:assert/strict";
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { setupDynamoDBTable } from "../batch/setup_dynamodb.ts";
import { isLakestrikeError } from "../core/errors.ts";
import { commitActions } from "../core/log/commit.ts";
import {
  COMMIT_PROTOCOL_PROPERTY,
  type CommitProtocol,
  CommitProtocolMismatchError,
  createPutIfAbsentProtocol,
} from "../core/log/commit_protocol.ts";
import { resolveCommitProtocol } from "../core/log/resolve_commit_protocol.ts";
import {
  createS3DynamoDBLogStore,
  type DynamoDBSender,
  type S3DynamoDBLogStore,
} from "../aws/dynamodb_log_store.ts";
import { commitPath, LOG_DIR, parseLogFileName } from "../core/log/paths.ts";
import { createArrowTable } from "../core/parquet/create_arrow_table.ts";
import { scanSnapshot } from "../core/scan/scan_snapshot.ts";
import { loadSnapshot } from "../core/snapshot/load_snapshot.ts";
import type { Snapshot } from "../core/snapshot/snapshot.ts";
import { createLocalStorage } from "../core/storage/local.ts";
import { createMemoryStorage } from "../core/storage/memory.ts";
import { createS3Storage, type S3Operation } from "../aws/s3_storage.ts";
import { createTestBucket, testS3Endpoint } from "../aws/s3_test_support.ts";
import type { ObjectStorage } from "../core/storage/storage.ts";
import { appendBatch } from "../core/write/append_batch.ts";
import { createTable } from "../core/write/create_table.ts";
import { PROTOCOL_WORKER_SCHEMA } from "./fixtures/protocol_worker.ts";

// The s3 and s3-dynamodb commit protocols are the AWS module's.
registerAws();

function dynamodbEndpoint(): string {
  const endpoint = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
  if (endpoint === undefined || endpoint === "") {
    throw new Error(
      "LAKESTRIKE_TEST_DYNAMODB_ENDPOINT is not set: run through `deno task test` (tests/run.ts)",
    );
  }
  return endpoint;
}

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** DynamoDB table of this test run (fresh per process, created once). */
const DDB_TABLE = `lakestrike_test_${crypto.randomUUID().slice(0, 8)}`;
let ddbReady: Promise<unknown> | undefined;
function ensureDdbTable(): Promise<unknown> {
  ddbReady ??= setupDynamoDBTable({ endpoint: dynamodbEndpoint(), tableName: DDB_TABLE });
  return ddbReady;
}

function ddbClient(): DynamoDBClient {
  return new DynamoDBClient({ endpoint: dynamodbEndpoint(), region: "us-east-1", maxAttempts: 1 });
}

/** A DynamoDB sender that counts commands by name. */
function countingSender(inner: DynamoDBSender, counts: Map<string, number>): DynamoDBSender {
  return {
    send(command) {
      const name = (command as object).constructor.name.replace(/Command$/, "");
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return inner.send(command);
    },
  };
}

type ProtocolName = "local" | "s3" | "s3-dynamodb";

/** One table location plus a way to make independent writers (protocol instances) for it. */
interface Fixture {
  storage: ObjectStorage;
  makeProtocol(extra?: { client?: DynamoDBSender; storage?: ObjectStorage }): CommitProtocol;
  cleanup(): Promise<void>;
}

async function fixture(name: ProtocolName): Promise<Fixture> {
  if (name === "local") {
    const dir = await Deno.makeTempDir({ prefix: "lakestrike-protocol-" });
    const storage = createLocalStorage(dir);
    return {
      storage,
      makeProtocol: (extra) => createPutIfAbsentProtocol(extra?.storage ?? storage, "local"),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  }
  const { bucket, cleanup } = await createTestBucket();
  const prefix = `tables/t-${crypto.randomUUID().slice(0, 8)}`;
  const storage = createS3Storage({ bucket, prefix, endpoint: testS3Endpoint() });
  if (name === "s3") {
    return {
      storage,
      makeProtocol: (extra) => createPutIfAbsentProtocol(extra?.storage ?? storage, "s3"),
      cleanup,
    };
  }
  await ensureDdbTable();
  return {
    storage,
    makeProtocol: (extra) =>
      createS3DynamoDBLogStore({
        storage: extra?.storage ?? storage,
        tableName: DDB_TABLE,
        endpoint: dynamodbEndpoint(),
        ...(extra?.client ? { client: extra.client } : {}),
      }),
    cleanup,
  };
}

/** A storage whose first put to `path` lands but loses its answer. */
function losingFirstAnswer(inner: ObjectStorage, path: string): ObjectStorage {
  let lost = false;
  return {
    location: inner.location,
    get: (p) => inner.get(p),
    getRange: (p, o, l) => inner.getRange(p, o, l),
    head: (p) => inner.head(p),
    list: (p, o) => inner.list(p, o),
    delete: (ps) => inner.delete(ps),
    async put(p, bytes, options) {
      const result = await inner.put(p, bytes, options);
      if (p === path && !lost) {
        lost = true;
        throw new Error("connection reset (answer lost)");
      }
      return result;
    },
  };
}

async function commitVersions(storage: ObjectStorage): Promise<number[]> {
  const listed = await storage.list(`${LOG_DIR}/`);
  const versions: number[] = [];
  for (const o of listed) {
    const parsed = parseLogFileName(o.path.slice(LOG_DIR.length + 1));
    if (parsed?.kind === "commit") versions.push(parsed.version);
  }
  return versions;
}

function assertContiguous(versions: number[], last: number): void {
  assert.deepEqual(versions, Array.from({ length: last + 1 }, (_, i) => i));
}

const ADD_SCHEMA = {
  type: "struct" as const,
  fields: [{ name: "id", type: "long" as const, nullable: false, metadata: {} }],
};

function addAction(path: string) {
  return { add: { path, partitionValues: {}, size: 1, modificationTime: 0, dataChange: true } };
}

for (const name of ["local", "s3", "s3-dynamodb"] as const) {
  Deno.test(`commit protocol ${name}: of 6 concurrent writers of one version exactly one wins`, async () => {
    const f = await fixture(name);
    try {
      const writers = Array.from({ length: 6 }, () => f.makeProtocol());
      const bodies = writers.map((_, i) => encoder.encode(`{"commitInfo":{"writer":${i}}}\n`));
      const outcomes = await Promise.all(writers.map((w, i) => w.writeCommit(0, bodies[i]!)));
      const winners = outcomes.flatMap((o, i) => (o === "committed" ? [i] : []));
      assert.equal(winners.length, 1, `outcomes: ${outcomes.join(",")}`);
      assert.equal(outcomes.filter((o) => o === "exists").length, 5);
      assert.deepEqual(await f.storage.get(commitPath(0)), bodies[winners[0]!]);
      // Writing the same version again never overwrites.
      assert.equal(await writers[0]!.writeCommit(0, encoder.encode("late\n")), "exists");
      assert.deepEqual(await f.storage.get(commitPath(0)), bodies[winners[0]!]);
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(`commit protocol ${name}: concurrent commit loops leave contiguous versions, each commit once`, async () => {
    const f = await fixture(name);
    try {
      const creator = f.makeProtocol();
      const v0 = await createTable(f.storage, { schema: ADD_SCHEMA, protocol: creator });
      assert.equal(v0.metadata.configuration[COMMIT_PROTOCOL_PROPERTY], name);
      const writersN = 4;
      const commitsN = 5;
      await Promise.all(Array.from({ length: writersN }, async (_, w) => {
        const protocol = f.makeProtocol();
        let snapshot: Snapshot = v0;
        for (let c = 0; c < commitsN; c++) {
          const r = await commitActions(f.storage, snapshot, {
            operation: "WRITE",
            actions: [addAction(`w${w}-c${c}.parquet`)],
          }, { protocol, maxAttempts: 100 });
          assert.ok(r.ok, r.ok ? "" : r.reason);
          snapshot = r.snapshot;
        }
      }));
      const reader = f.makeProtocol();
      const latest = await loadSnapshot(f.storage, { protocol: reader });
      assert.equal(latest.version, writersN * commitsN);
      assertContiguous(await commitVersions(f.storage), writersN * commitsN);
      const paths = latest.files.map((a) => a.path).sort();
      assert.equal(paths.length, writersN * commitsN);
      assert.equal(new Set(paths).size, paths.length);
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(`commit protocol ${name}: a commit whose answer was lost is committed once`, async () => {
    const f = await fixture(name);
    try {
      const v0 = await createTable(f.storage, { schema: ADD_SCHEMA, protocol: f.makeProtocol() });
      const lossy = losingFirstAnswer(f.storage, commitPath(1));
      const protocol = f.makeProtocol({ storage: lossy });
      const r = await commitActions(lossy, v0, {
        operation: "WRITE",
        actions: [addAction("a.parquet")],
      }, { protocol });
      assert.ok(r.ok);
      assert.equal(r.version, 1);
      assert.equal(r.attempts, 1);
      const latest = await loadSnapshot(f.storage, { protocol: f.makeProtocol() });
      assert.equal(latest.version, 1);
      assert.deepEqual(latest.files.map((a) => a.path), ["a.parquet"]);
      // A rival of the same version loses.
      assert.equal(await f.makeProtocol().writeCommit(1, encoder.encode("rival\n")), "exists");
    } finally {
      await f.cleanup();
    }
  });
}

Deno.test("commit protocol s3-dynamodb: without conditional PUT, DynamoDB alone decides the winner", async () => {
  const f = await fixture("s3-dynamodb");
  try {
    // Spark's S3A copy: HEAD, then an unconditional PUT. Only the PutItem condition is left.
    const writers = Array.from({ length: 6 }, () =>
      createS3DynamoDBLogStore({
        storage: f.storage,
        tableName: DDB_TABLE,
        endpoint: dynamodbEndpoint(),
        copyMode: "head-then-put",
      }));
    for (let version = 0; version < 3; version++) {
      const bodies = writers.map((_, i) =>
        encoder.encode(`{"commitInfo":{"v":${version},"w":${i}}}\n`)
      );
      const outcomes = await Promise.all(writers.map((w, i) => w.writeCommit(version, bodies[i]!)));
      const winners = outcomes.flatMap((o, i) => (o === "committed" ? [i] : []));
      assert.equal(winners.length, 1, `version ${version}: ${outcomes.join(",")}`);
      const stored = await f.storage.get(commitPath(version));
      assert.deepEqual(stored, bodies[winners[0]!]);
      // The entry names the winner's temp file.
      const entry = await writers[0]!.getEntry(version);
      assert.equal(entry?.complete, true);
      assert.deepEqual(await f.storage.get(`${LOG_DIR}/${entry!.tempPath}`), stored);
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("commit protocol s3-dynamodb: a PutItem whose answer was lost is ours; throttling is retried", async () => {
  const f = await fixture("s3-dynamodb");
  try {
    const real = ddbClient();
    let lostOnce = false;
    let throttled = 0;
    const flaky: DynamoDBSender = {
      async send(command) {
        const kind = (command as object).constructor.name;
        if (throttled < 3) {
          throttled++;
          throw Object.assign(new Error("Rate of requests exceeds the allowed throughput"), {
            name: "ProvisionedThroughputExceededException",
            $metadata: { httpStatusCode: 400 },
          });
        }
        const out = await real.send(command);
        if (kind === "PutItemCommand" && !lostOnce) {
          lostOnce = true;
          throw Object.assign(new Error("socket hang up"), { $metadata: {} });
        }
        return out;
      },
    };
    const protocol = f.makeProtocol({ client: flaky });
    const bytes = encoder.encode('{"commitInfo":{"ours":true}}\n');
    assert.equal(await protocol.writeCommit(0, bytes), "committed");
    assert.equal(throttled, 3);
    assert.ok(lostOnce);
    assert.deepEqual(await f.storage.get(commitPath(0)), bytes);
    // Throttled beyond the budget: a clear error, nothing decided.
    const always: DynamoDBSender = {
      send: () =>
        Promise.reject(Object.assign(new Error("slow down"), { name: "ThrottlingException" })),
    };
    const starved = createS3DynamoDBLogStore({
      storage: createMemoryStorage({ location: `s3://elsewhere/t-${crypto.randomUUID()}` }),
      tableName: DDB_TABLE,
      client: always,
      throttleAttemptsMax: 3,
      backoffBaseMs: 1,
    });
    await assert.rejects(
      starved.writeCommit(0, encoder.encode("x\n")),
      (e: Error) =>
        isLakestrikeError(e, "COMMIT_FAILED") &&
        e.message.startsWith(
          "Cannot read DynamoDB entry of version 0: DynamoDB throttled after 3 attempts",
        ),
    );
  } finally {
    await f.cleanup();
  }
});

Deno.test("commit protocol s3-dynamodb: the DynamoDB item is the one Spark and delta-rs write", async () => {
  const f = await fixture("s3-dynamodb");
  try {
    const protocol = f.makeProtocol() as S3DynamoDBLogStore;
    const bytes = encoder.encode('{"commitInfo":{}}\n');
    const before = Math.floor(Date.now() / 1000);
    assert.equal(await protocol.writeCommit(0, bytes), "committed");
    const s3 = f.storage as ReturnType<typeof createS3Storage>;
    assert.equal(protocol.tablePath, `s3://${s3.bucket}/${s3.prefix}`);
    const { Item } = await ddbClient().send(
      new GetItemCommand({
        TableName: DDB_TABLE,
        Key: { tablePath: { S: protocol.tablePath }, fileName: { S: "00000000000000000000.json" } },
        ConsistentRead: true,
      }),
    );
    assert.ok(Item);
    assert.deepEqual(Object.keys(Item).sort(), [
      "complete",
      "expireTime",
      "fileName",
      "tablePath",
      "tempPath",
    ]);
    assert.deepEqual(Item.complete, { S: "true" });
    const tempPath = Item.tempPath?.S ?? "";
    assert.match(tempPath, /^\.tmp\/00000000000000000000\.json\.[0-9a-f-]{36}$/);
    assert.deepEqual(await f.storage.get(`${LOG_DIR}/${tempPath}`), bytes);
    const expire = Number(Item.expireTime?.N);
    assert.ok(expire >= before + 86_400 && expire <= before + 86_400 + 60, `expireTime ${expire}`);
  } finally {
    await f.cleanup();
  }
});

Deno.test("resolveCommitProtocol: a writer with another protocol refuses the table", async () => {
  const f = await fixture("s3-dynamodb");
  try {
    const config = { dynamodb: { endpoint: dynamodbEndpoint(), tableName: DDB_TABLE } };
    const dynamo = await resolveCommitProtocol(f.storage, undefined, {
      ...config,
      protocol: "s3-dynamodb",
    });
    const v0 = await createTable(f.storage, { schema: ADD_SCHEMA, protocol: dynamo });
    await assert.rejects(
      resolveCommitProtocol(f.storage, v0, { protocol: "s3" }),
      (e: Error) =>
        e instanceof CommitProtocolMismatchError &&
        e.message ===
          `Cannot write to ${f.storage.location}: the table commits through 's3-dynamodb' but this writer uses 's3'; mixing commit protocols can lose commits`,
    );
    // Default for s3:// is 's3', which this table refuses too.
    await assert.rejects(resolveCommitProtocol(f.storage, v0, {}), CommitProtocolMismatchError);
    const again = await resolveCommitProtocol(f.storage, v0, {
      ...config,
      protocol: "s3-dynamodb",
    });
    assert.equal(again.name, "s3-dynamodb");
  } finally {
    await f.cleanup();
  }
});

async function runWorkers(
  protocol: "s3" | "s3-dynamodb",
  bucket: string,
  prefix: string,
  ids: string[],
  batches: number,
  rows: number,
  mode?: string,
) {
  const worker = new URL("./fixtures/protocol_worker.ts", import.meta.url).pathname;
  return await Promise.all(ids.map((id) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        worker,
        protocol,
        bucket,
        prefix,
        id,
        String(batches),
        String(rows),
        DDB_TABLE,
        ...(mode ? [mode] : []),
      ],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output()
  ));
}

async function scanRows(storage: ObjectStorage, snapshot: Snapshot): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of scanSnapshot(storage, snapshot)) {
    for (const [writer, seq, row] of batch) keys.push(`${writer}/${seq}/${row}`);
  }
  return keys;
}

for (const protocolName of ["s3", "s3-dynamodb"] as const) {
  Deno.test(`commit protocol ${protocolName}: three writer processes commit 50 batches of 10 rows each`, async () => {
    await ensureDdbTable();
    const { bucket, cleanup } = await createTestBucket();
    try {
      const prefix = "tables/events";
      const storage = createS3Storage({ bucket, prefix, endpoint: testS3Endpoint() });
      const config = {
        protocol: protocolName,
        dynamodb: { endpoint: dynamodbEndpoint(), tableName: DDB_TABLE },
      };
      const protocol = await resolveCommitProtocol(storage, undefined, config);
      await createTable(storage, { schema: PROTOCOL_WORKER_SCHEMA, protocol });
      const ids = ["w0", "w1", "w2"];
      const outputs = await runWorkers(protocolName, bucket, prefix, ids, 50, 10);
      for (const o of outputs) assert.equal(o.code, 0, decoder.decode(o.stderr));
      const latest = await loadSnapshot(storage, { protocol });
      assert.equal(latest.version, 150);
      assertContiguous(await commitVersions(storage), 150);
      for (const id of ids) assert.equal(latest.txns.get(id)?.version, 49);
      const keys = await scanRows(storage, latest);
      assert.equal(keys.length, 1500);
      assert.equal(new Set(keys).size, 1500, "a row was committed twice");
    } finally {
      await cleanup();
    }
  });
}

Deno.test("commit protocol s3-dynamodb: a writer SIGKILLed after its entry is created is repaired by the next reader and writer", async () => {
  await ensureDdbTable();
  const { bucket, cleanup } = await createTestBucket();
  try {
    const prefix = "tables/crash";
    const storage = createS3Storage({ bucket, prefix, endpoint: testS3Endpoint() });
    const make = () =>
      createS3DynamoDBLogStore({ storage, tableName: DDB_TABLE, endpoint: dynamodbEndpoint() });
    const v0 = await createTable(storage, { schema: PROTOCOL_WORKER_SCHEMA, protocol: make() });

    // 1. The crashed writer's commit becomes visible to the next reader.
    const [crashed] = await runWorkers(
      "s3-dynamodb",
      bucket,
      prefix,
      ["w0"],
      1,
      10,
      "crash-after-entry",
    );
    assert.equal(crashed!.signal, "SIGKILL", decoder.decode(crashed!.stderr));
    const observer = make();
    const entry = await observer.getEntry(1);
    assert.equal(entry?.complete, false, "the entry is created and incomplete");
    assert.equal(await storage.head(commitPath(1)), undefined, "the copy never happened");
    const read = await loadSnapshot(storage, { protocol: make() });
    assert.equal(read.version, 1);
    assert.equal(read.txns.get("w0")?.version, 0);
    assert.equal((await observer.getEntry(1))?.complete, true);
    assert.equal((await scanRows(storage, read)).length, 10);

    // 2. A crashed commit found by a writer (stale snapshot, no reader in between).
    const [crashed2] = await runWorkers(
      "s3-dynamodb",
      bucket,
      prefix,
      ["w1"],
      1,
      10,
      "crash-after-entry",
    );
    assert.equal(crashed2!.signal, "SIGKILL");
    assert.equal((await observer.getEntry(2))?.complete, false);
    const batch = createArrowTable(PROTOCOL_WORKER_SCHEMA, [{ writer: "w2", seq: 0, row: 0 }]);
    const r = await appendBatch(storage, v0, batch, {
      txn: { appId: "w2", version: 0 },
      protocol: make(),
    });
    assert.ok(r.ok);
    assert.equal(r.version, 3, "versions 1 and 2 are taken; ours follows");
    assert.equal(r.snapshot.txns.get("w1")?.version, 0);

    // 3. The crashed writers retry their batches: idempotent txns, nothing doubled.
    const retried = await runWorkers("s3-dynamodb", bucket, prefix, ["w0", "w1"], 1, 10);
    for (const o of retried) assert.equal(o.code, 0, decoder.decode(o.stderr));
    const latest = await loadSnapshot(storage, { protocol: make() });
    assert.equal(latest.version, 3);
    assertContiguous(await commitVersions(storage), 3);
    const keys = await scanRows(storage, latest);
    assert.equal(keys.length, 21);
    assert.equal(new Set(keys).size, 21);
  } finally {
    await cleanup();
  }
});

/** Append one 10-row batch and return the S3 and DynamoDB requests it made. */
async function countedAppend(protocolName: "s3" | "s3-dynamodb") {
  await ensureDdbTable();
  const { bucket, cleanup } = await createTestBucket();
  try {
    const s3Counts = new Map<string, number>();
    const ddbCounts = new Map<string, number>();
    let counting = false;
    const storage = createS3Storage({
      bucket,
      prefix: "tables/count",
      endpoint: testS3Endpoint(),
      onRequest: (op: S3Operation) => {
        if (counting) s3Counts.set(op, (s3Counts.get(op) ?? 0) + 1);
      },
    });
    const ddb = ddbClient();
    const client: DynamoDBSender = {
      send: (c) => (counting ? countingSender(ddb, ddbCounts).send(c) : ddb.send(c)),
    };
    const protocol: CommitProtocol = protocolName === "s3"
      ? createPutIfAbsentProtocol(storage, "s3")
      : createS3DynamoDBLogStore({ storage, tableName: DDB_TABLE, client });
    let snapshot = await createTable(storage, { schema: PROTOCOL_WORKER_SCHEMA, protocol });
    const append = async (seq: number) => {
      const batch = createArrowTable(
        PROTOCOL_WORKER_SCHEMA,
        Array.from({ length: 10 }, (_, row) => ({ writer: "w", seq, row })),
      );
      const r = await appendBatch(storage, snapshot, batch, {
        txn: { appId: "w", version: seq },
        protocol,
      });
      assert.ok(r.ok);
      snapshot = r.snapshot;
    };
    await append(0);
    counting = true;
    await append(1);
    counting = false;
    return { s3: Object.fromEntries(s3Counts), dynamodb: Object.fromEntries(ddbCounts) };
  } finally {
    await cleanup();
  }
}

Deno.test("commit protocol s3: a steady-state commit is one data PUT and one log PUT", async () => {
  const counts = await countedAppend("s3");
  assert.deepEqual(counts.s3, { PutObject: 2 });
  assert.deepEqual(counts.dynamodb, {});
});

Deno.test("commit protocol s3-dynamodb: a steady-state commit is 3 PUTs, one HEAD, one PutItem, one UpdateItem", async () => {
  const counts = await countedAppend("s3-dynamodb");
  // data file, temp file, N.json (the writer copies from memory: no GET of the temp file); the
  // HEAD is Spark's check that N.json does not exist yet. N-1 is not checked again: this writer
  // wrote it.
  assert.deepEqual(counts.s3, { HeadObject: 1, PutObject: 3 });
  assert.deepEqual(counts.dynamodb, { PutItem: 1, UpdateItem: 1 });
});

Deno.test("setup-dynamodb: creates the table once, accepts it again, refuses a wrong schema", async () => {
  const endpoint = dynamodbEndpoint();
  const tableName = `lakestrike_setup_${crypto.randomUUID().slice(0, 8)}`;
  const first = await setupDynamoDBTable({ endpoint, tableName });
  // In the region the protocol uses by default: us-east-1, Spark's ddb.region default.
  assert.deepEqual(first, { tableName, region: "us-east-1", created: true, ttlEnabled: true });
  const second = await setupDynamoDBTable({ endpoint, tableName });
  assert.deepEqual(second, { tableName, region: "us-east-1", created: false, ttlEnabled: false });
  // The table works for the protocol.
  await ddbClient().send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        tablePath: { S: "s3://b/t" },
        fileName: { S: "00000000000000000000.json" },
        tempPath: { S: ".tmp/x" },
        complete: { S: "false" },
      },
    }),
  );

  const wrong = `lakestrike_wrong_${crypto.randomUUID().slice(0, 8)}`;
  await ddbClient().send(
    new CreateTableCommand({
      TableName: wrong,
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await assert.rejects(
    setupDynamoDBTable({ endpoint, tableName: wrong }),
    /Cannot use DynamoDB table lakestrike_wrong_\w+ for commits: its key schema is \[id:HASH\]/,
  );

  // The command line: exit 0 twice, 1 on a wrong schema, 2 on bad usage; one-line errors.
  const cli = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "batch/setup_dynamodb.ts", ...args],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const cliTable = `lakestrike_cli_${crypto.randomUUID().slice(0, 8)}`;
  const c1 = await cli(["--table", cliTable, "--endpoint", endpoint]);
  assert.equal(c1.code, 0, decoder.decode(c1.stderr));
  assert.match(
    decoder.decode(c1.stdout),
    /^created: DynamoDB table lakestrike_cli_\w+ in us-east-1 /,
  );
  const c2 = await cli(["--table", cliTable, "--endpoint", endpoint]);
  assert.equal(c2.code, 0, decoder.decode(c2.stderr));
  assert.match(decoder.decode(c2.stdout), /^ok: /);
  const c3 = await cli(["--table", wrong, "--endpoint", endpoint]);
  assert.equal(c3.code, 1);
  assert.equal(decoder.decode(c3.stderr).trim().split("\n").length, 1);
  assert.match(decoder.decode(c3.stderr), /^error: Cannot use DynamoDB table/);
  const c4 = await cli(["--bogus"]);
  assert.equal(c4.code, 2);
  assert.match(decoder.decode(c4.stderr), /^error: .*bogus/);
  const c5 = await cli(["--region", "EU West"]);
  assert.equal(c5.code, 2);
  assert.match(decoder.decode(c5.stderr), /^error: Invalid value for --region: 'EU West'/);
});
