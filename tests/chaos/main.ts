/**
 * `deno task chaos [--seconds N] [--seed S] [--protocol local|s3|s3-dynamodb] [--json]`: one seeded
 * fault-injection run of the whole service (see `orchestrator.ts`). It starts the S3 and DynamoDB
 * servers it needs (moto, DynamoDB Local) unless `LAKESTRIKE_TEST_S3_ENDPOINT` /
 * `LAKESTRIKE_TEST_DYNAMODB_ENDPOINT` point at running ones, prints progress on stderr (nothing with
 * `--json`) and one JSON line last on stdout, and exits 0 only when every invariant held.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type ChaosProtocol, randomSeed, runChaos } from "./orchestrator.ts";
import { type LocalServer, startDynamoDbLocal, startMoto } from "../servers.ts";

const USAGE =
  "usage: deno task chaos [--seconds N] [--seed S] [--protocol local|s3|s3-dynamodb] [--json]";

function fail(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  Deno.exit(2);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        seconds: { type: "string" },
        seed: { type: "string" },
        protocol: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seconds = values.seconds === undefined ? 60 : Number(values.seconds);
  if (!Number.isInteger(seconds) || seconds < 5 || seconds > 86_400) {
    fail(`--seconds must be an integer from 5 to 86400, got ${JSON.stringify(values.seconds)}`);
  }
  const seed = values.seed === undefined ? randomSeed() : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    fail(`--seed must be a non-negative integer, got ${JSON.stringify(values.seed)}`);
  }
  const protocol = (values.protocol ?? "local") as ChaosProtocol;
  if (!["local", "s3", "s3-dynamodb"].includes(protocol)) {
    fail(`--protocol must be local, s3 or s3-dynamodb, got ${JSON.stringify(values.protocol)}`);
  }
  const json = values.json === true;
  const log = json ? () => {} : (line: string) => console.error(line);
  const servers: LocalServer[] = [];
  // The local servers take any credentials; the SDK only needs some.
  for (const [k, v] of [["AWS_ACCESS_KEY_ID", "test"], ["AWS_SECRET_ACCESS_KEY", "test"]]) {
    if (!Deno.env.get(k!)) Deno.env.set(k!, v!);
  }
  try {
    let s3Endpoint = Deno.env.get("LAKESTRIKE_TEST_S3_ENDPOINT");
    let dynamodbEndpoint = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
    if (protocol !== "local" && !s3Endpoint) {
      const moto = await startMoto();
      servers.push(moto);
      s3Endpoint = moto.endpoint;
    }
    if (protocol === "s3-dynamodb" && !dynamodbEndpoint) {
      const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
      const ddb = await startDynamoDbLocal(root);
      servers.push(ddb);
      dynamodbEndpoint = ddb.endpoint;
    }
    log(
      `chaos: seed ${seed} (replay: deno task chaos --seed ${seed} --protocol ${protocol} --seconds ${seconds})`,
    );
    const report = await runChaos({
      seed,
      seconds,
      protocol,
      log,
      ...(s3Endpoint ? { s3Endpoint } : {}),
      ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}),
    });
    // Violations always go to stderr (stdout keeps the one JSON line).
    if (report.violations.length) {
      console.error(`chaos: ${report.violations.length} violations:`);
      for (const v of report.violations.slice(0, 30)) console.error(`  ${v}`);
      console.error(
        `replay: deno task chaos --seed ${seed} --protocol ${protocol} --seconds ${seconds}`,
      );
    }
    const { violations, ...figures } = report;
    console.log(JSON.stringify({ ...figures, violations: violations.length }));
    return violations.length === 0 ? 0 : 1;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

Deno.exit(await main());
