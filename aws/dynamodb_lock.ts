/**
 * A {@linkcode MaintenanceLock} on one DynamoDB item, with conditional writes:
 *
 * * `tryAcquire` — `PutItem` if `attribute_not_exists(lockKey) OR expiresAtMs <= :now`;
 * * `renew` — `UpdateItem` of `expiresAtMs` if `token = :token` (the item is still ours);
 * * `release` — `DeleteItem` if `token = :token`.
 *
 * Item: `lockKey` (S, partition key), `owner` (S), `token` (S), `expiresAtMs` (N, epoch ms) and
 * `expireTime` (N, epoch seconds, one day after `expiresAtMs`): enable TTL on `expireTime` to have
 * DynamoDB remove items of crashed holders eventually. The table needs only the partition key
 * `lockKey` (S); {@linkcode createDynamoDbLockTable} creates it.
 *
 * The SDK retries requests itself. A retried `PutItem` whose first attempt succeeded fails its
 * condition against our own item; `tryAcquire` then reads the item (strongly consistent) and takes
 * the lease when the item holds its token.
 *
 * @module
 */

import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { type Clock, systemClock } from "../core/clock.ts";
import { InvalidArgumentError, LakestrikeError } from "../core/errors.ts";
import { type LockLease, type MaintenanceLock, validateLeaseArgs } from "../core/lock/lock.ts";

/** Options of {@linkcode createDynamoDbLock}. */
export interface DynamoDbLockOptions {
  /** The DynamoDB client (region, endpoint, credentials and retries are its configuration). */
  client: DynamoDBClient;
  /** Table with partition key `lockKey` (S). */
  tableName: string;
  /** Which lock, e.g. `s3://lake/events#compaction`. */
  key: string;
  /** Clock that judges expiry; default the system clock. */
  clock?: Clock;
}

const TTL_GRACE_S = 86_400;
const NAMES = {
  "#k": "lockKey",
  "#o": "owner",
  "#t": "token",
  "#e": "expiresAtMs",
  "#x": "expireTime",
};

/**
 * Create a lock on the item `key` of `tableName`.
 *
 * @example
 * ```ts ignore
 * import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
 * import { createDynamoDbLock, createDynamoDbLockTable } from "./dynamodb_lock.ts";
 * const client = new DynamoDBClient({});
 * await createDynamoDbLockTable(client, "lakestrike_locks");
 * const lock = createDynamoDbLock({ client, tableName: "lakestrike_locks", key: "events#vacuum" });
 * const lease = await lock.tryAcquire("vacuum@host-1", 60_000);
 * if (lease !== undefined) await lease.release();
 * ```
 */
export function createDynamoDbLock(options: DynamoDbLockOptions): MaintenanceLock {
  const { client, tableName, key } = options;
  if (typeof tableName !== "string" || tableName === "" || typeof key !== "string" || key === "") {
    throw new InvalidArgumentError(
      "Cannot create DynamoDB lock: tableName and key must be non-empty",
    );
  }
  const clock = options.clock ?? systemClock;
  const location = `dynamodb://${tableName}/${key}`;
  const fail = (verb: string, e: unknown) =>
    new LakestrikeError(
      "STORAGE",
      `Cannot ${verb} lock ${location}: DynamoDB answered ${(e as Error)?.name ?? "an error"} (${
        (e as Error)?.message ?? String(e)
      })`,
      { cause: e },
    );

  const makeLease = (owner: string, token: string, startExpiresAtMs: number): LockLease => {
    let expiresAtMs = startExpiresAtMs;
    let done = false;
    return {
      owner,
      token,
      get expiresAtMs() {
        return expiresAtMs;
      },
      async renew(leaseMs) {
        validateLeaseArgs(location, owner, leaseMs);
        if (done) return false;
        const newExpiresAtMs = clock.nowMs() + leaseMs;
        try {
          await client.send(
            new UpdateItemCommand({
              TableName: tableName,
              Key: { lockKey: { S: key } },
              UpdateExpression: "SET #e = :e, #x = :x",
              ConditionExpression: "#t = :t",
              ExpressionAttributeNames: { "#t": "token", "#e": "expiresAtMs", "#x": "expireTime" },
              ExpressionAttributeValues: {
                ":t": { S: token },
                ":e": { N: String(newExpiresAtMs) },
                ":x": { N: String(ttlSeconds(newExpiresAtMs)) },
              },
            }),
          );
        } catch (e) {
          if (e instanceof ConditionalCheckFailedException) {
            done = true;
            return false;
          }
          throw fail("renew", e);
        }
        expiresAtMs = newExpiresAtMs;
        return true;
      },
      async release() {
        if (done) return;
        done = true;
        try {
          await client.send(
            new DeleteItemCommand({
              TableName: tableName,
              Key: { lockKey: { S: key } },
              ConditionExpression: "#t = :t",
              ExpressionAttributeNames: { "#t": "token" },
              ExpressionAttributeValues: { ":t": { S: token } },
            }),
          );
        } catch (e) {
          if (e instanceof ConditionalCheckFailedException) return; // lost meanwhile: not ours
          throw fail("release", e);
        }
      },
    };
  };

  return {
    location,
    async tryAcquire(owner, leaseMs) {
      validateLeaseArgs(location, owner, leaseMs);
      const token = crypto.randomUUID();
      const nowMs = clock.nowMs();
      const expiresAtMs = nowMs + leaseMs;
      try {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              lockKey: { S: key },
              owner: { S: owner },
              token: { S: token },
              expiresAtMs: { N: String(expiresAtMs) },
              expireTime: { N: String(ttlSeconds(expiresAtMs)) },
            },
            ConditionExpression: "attribute_not_exists(#k) OR #e <= :now",
            ExpressionAttributeNames: { "#k": NAMES["#k"], "#e": NAMES["#e"] },
            ExpressionAttributeValues: { ":now": { N: String(nowMs) } },
          }),
        );
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) throw fail("acquire", e);
        // A retried PutItem fails against our own first write: check whose item it is.
        if (await currentToken() !== token) return undefined;
      }
      return makeLease(owner, token, expiresAtMs);
    },
  };

  async function currentToken(): Promise<string | undefined> {
    try {
      const res = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { lockKey: { S: key } },
          ConsistentRead: true,
        }),
      );
      return res.Item?.token?.S;
    } catch (e) {
      throw fail("read", e);
    }
  }
}

/**
 * Create the lock table (partition key `lockKey` of type S, on-demand capacity) unless it exists,
 * and wait until it is active (at most about 60 s).
 *
 * @example
 * ```ts ignore
 * import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
 * import { createDynamoDbLockTable } from "./dynamodb_lock.ts";
 * await createDynamoDbLockTable(new DynamoDBClient({}), "lakestrike_locks");
 * ```
 */
export async function createDynamoDbLockTable(
  client: DynamoDBClient,
  tableName: string,
): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: "lockKey", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "lockKey", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
  } catch (e) {
    if ((e as Error)?.name !== "ResourceInUseException") {
      throw new LakestrikeError(
        "STORAGE",
        `Cannot create DynamoDB table ${tableName}: ${(e as Error)?.message ?? String(e)}`,
        { cause: e },
      );
    }
  }
  for (let i = 0; i < 120; i++) {
    const res = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (res.Table?.TableStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new LakestrikeError(
    "STORAGE",
    `Cannot create DynamoDB table ${tableName}: not active after 60 s`,
  );
}

function ttlSeconds(expiresAtMs: number): number {
  return Math.ceil(expiresAtMs / 1000) + TTL_GRACE_S;
}
