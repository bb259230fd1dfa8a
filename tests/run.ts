/**
 * `deno task test [deno test args...]`: starts the real local servers the suite needs (S3 on moto,
 * DynamoDB Local), runs `deno test` with their endpoints in the environment, stops them, and exits
 * with deno test's status. A server that cannot start fails the run with a clear message.
 *
 * Environment given to the tests: `LAKESTRIKE_TEST_S3_ENDPOINT`, `LAKESTRIKE_TEST_DYNAMODB_ENDPOINT`,
 * and dummy AWS credentials and region.
 *
 * @module
 */
import { type LocalServer, startDynamoDbLocal, startMoto } from "./servers.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const servers: LocalServer[] = [];
let code = 1;
try {
  const [s3, dynamodb] = await Promise.all([startMoto(), startDynamoDbLocal(root)]);
  servers.push(s3, dynamodb);
  console.log(`test servers: S3 ${s3.endpoint}, DynamoDB ${dynamodb.endpoint}`);
  const env = {
    LAKESTRIKE_TEST_S3_ENDPOINT: s3.endpoint,
    LAKESTRIKE_TEST_DYNAMODB_ENDPOINT: dynamodb.endpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    NO_COLOR: "1",
  };
  const args = Deno.args.length ? Deno.args : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--doc", ...args],
    cwd: root,
    env,
    stdin: "null",
  }).spawn();
  code = (await child.status).code;
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  code = 1;
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
Deno.exit(code);
