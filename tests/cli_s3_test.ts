/**
 * `inspect` and `scan` on `s3://` tables, against the real local S3 (moto) and DynamoDB Local servers
 * that `deno task test` starts: a table committed through `s3` and one through `s3-dynamodb`.
 *
 * @module
 */
import { registerAws } from "../aws/register_aws.ts";
import { equal, match } from "node:assert/strict";
import { setupDynamoDBTable } from "../batch/setup_dynamodb.ts";
import { resolveCommitProtocol } from "../core/log/resolve_commit_protocol.ts";
import { createArrowTable } from "../core/parquet/mod.ts";
import type { StructType } from "../core/schema/types.ts";
import { createS3Storage } from "../aws/s3_storage.ts";
import { createTestBucket, testS3Endpoint } from "../aws/s3_test_support.ts";
import { appendBatch, createTable } from "../core/write/mod.ts";

// The s3 and s3-dynamodb commit protocols are the AWS module's.
registerAws();

const ROOT = new URL("..", import.meta.url).pathname;
const SCHEMA: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "day", type: "date", nullable: true, metadata: {} },
  ],
};

function dynamodbEndpoint(): string {
  const endpoint = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
  if (!endpoint) {
    throw new Error("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT is not set: run via deno task test");
  }
  return endpoint;
}

async function run(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}/batch/${script}`, ...args],
    env: { NO_COLOR: "1", AWS_ENDPOINT_URL_S3: testS3Endpoint() },
    stdin: "null",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

for (const name of ["s3", "s3-dynamodb"] as const) {
  Deno.test(`inspect and scan read an s3:// table committed through ${name}`, async () => {
    const { bucket, cleanup } = await createTestBucket();
    const ddbTable = `cli_${crypto.randomUUID().slice(0, 8)}`;
    try {
      const storage = createS3Storage({
        bucket,
        prefix: "tables/events",
        endpoint: testS3Endpoint(),
      });
      const dynamodb = { tableName: ddbTable, endpoint: dynamodbEndpoint() };
      if (name === "s3-dynamodb") await setupDynamoDBTable(dynamodb);
      const protocol = await resolveCommitProtocol(storage, undefined, {
        protocol: name,
        dynamodb,
      });
      let snapshot = await createTable(storage, {
        schema: SCHEMA,
        partitionColumns: ["day"],
        protocol,
      });
      for (let i = 0; i < 3; i++) {
        const rows = Array.from(
          { length: 5 },
          (_, j) => ({ id: BigInt(i * 5 + j), day: "2024-05-0" + (1 + i) }),
        );
        const r = await appendBatch(storage, snapshot, createArrowTable(SCHEMA, rows), {
          protocol,
        });
        equal(r.ok, true);
        if (r.ok) snapshot = r.snapshot;
      }
      const uri = `s3://${bucket}/tables/events`;
      const flags = name === "s3-dynamodb"
        ? ["--dynamodb-table", ddbTable, "--dynamodb-endpoint", dynamodbEndpoint()]
        : [];
      const inspect = await run("inspect.ts", [uri, "--json", ...flags]);
      equal(inspect.code, 0, inspect.stderr);
      const summary = JSON.parse(inspect.stdout);
      equal(summary.version, 3);
      equal(summary.numFiles, 3);
      equal(summary.numRecords, 15);
      equal(summary.properties["lakestrike.commitProtocol"], name);
      const scan = await run("scan.ts", [uri, ...flags]);
      equal(scan.code, 0, scan.stderr);
      const ids = scan.stdout.trim().split("\n").map((l) => Number(JSON.parse(l).id)).sort((a, b) =>
        a - b
      );
      equal(JSON.stringify(ids), JSON.stringify(Array.from({ length: 15 }, (_, i) => i)));
      const wrong = await run("inspect.ts", [
        uri,
        "--commit-protocol",
        name === "s3" ? "s3-dynamodb" : "s3",
        ...flags,
      ]);
      equal(wrong.code, 1);
      match(wrong.stderr, /mixing commit protocols can lose commits/);
    } finally {
      await cleanup();
    }
  });
}
