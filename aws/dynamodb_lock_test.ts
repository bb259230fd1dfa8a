import assert from "node:assert/strict";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { createManualClock } from "../core/clock.ts";
import { createDynamoDbLock, createDynamoDbLockTable } from "./dynamodb_lock.ts";
import { describeLockContract } from "../core/lock/lock_contract.ts";

function testDynamoDbClient(): DynamoDBClient {
  const endpoint = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
  if (endpoint === undefined || endpoint === "") {
    throw new Error(
      "LAKESTRIKE_TEST_DYNAMODB_ENDPOINT is not set: run DynamoDB tests through `deno task test` " +
        "(tests/run.ts), which starts DynamoDB Local and sets it",
    );
  }
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

const TABLE = `lakestrike_locks_${crypto.randomUUID().slice(0, 8)}`;
let table: Promise<DynamoDBClient> | undefined;
function tableClient(): Promise<DynamoDBClient> {
  table ??= (async () => {
    const client = testDynamoDbClient();
    await createDynamoDbLockTable(client, TABLE);
    await createDynamoDbLockTable(client, TABLE); // exists already: no error
    return client;
  })();
  return table;
}

describeLockContract("DynamoDB Local", async (clock) => {
  const client = await tableClient();
  const key = `s3://lake/t-${crypto.randomUUID()}#compaction`;
  return {
    open: () => createDynamoDbLock({ client, tableName: TABLE, key, clock }),
    cleanup: () => Promise.resolve(),
  };
}, { propertyRuns: 12 });

Deno.test("DynamoDB lock: the item has the documented attributes", async () => {
  const client = await tableClient();
  const clock = createManualClock(1_700_000_000_000);
  const lock = createDynamoDbLock({ client, tableName: TABLE, key: "items#vacuum", clock });
  assert.equal(lock.location, `dynamodb://${TABLE}/items#vacuum`);
  const lease = await lock.tryAcquire("vacuum@host-1", 60_000);
  assert.ok(lease !== undefined);
  const res = await client.send(
    new GetItemCommand({
      TableName: TABLE,
      Key: { lockKey: { S: "items#vacuum" } },
      ConsistentRead: true,
    }),
  );
  assert.deepEqual(res.Item, {
    lockKey: { S: "items#vacuum" },
    owner: { S: "vacuum@host-1" },
    token: { S: lease.token },
    expiresAtMs: { N: "1700000060000" },
    expireTime: { N: String(1_700_000_060 + 86_400) },
  });
  await lease.release();
  const gone = await client.send(
    new GetItemCommand({
      TableName: TABLE,
      Key: { lockKey: { S: "items#vacuum" } },
      ConsistentRead: true,
    }),
  );
  assert.equal(gone.Item, undefined);
});

Deno.test("DynamoDB lock: a missing table is an error naming the lock", async () => {
  const client = testDynamoDbClient();
  const lock = createDynamoDbLock({ client, tableName: "no_such_table", key: "k" });
  await assert.rejects(
    lock.tryAcquire("a", 1_000),
    /^LakestrikeError: Cannot acquire lock dynamodb:\/\/no_such_table\/k: DynamoDB answered ResourceNotFoundException/,
  );
});
