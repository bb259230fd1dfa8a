/**
 * The short chaos runs of `deno task test`: one per commit protocol, each with a fixed seed and
 * with one random seed printed in the log (replay it with `deno task chaos --seed S`). The long
 * runs are for nights and releases (README, "Chaos runs").
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ChaosProtocol, randomSeed, runChaos } from "./orchestrator.ts";

const SECONDS = 15;
const FIXED_SEEDS: Record<ChaosProtocol, number> = { local: 11, s3: 12, "s3-dynamodb": 13 };

function endpoints(protocol: ChaosProtocol): { s3Endpoint?: string; dynamodbEndpoint?: string } {
  if (protocol === "local") return {};
  const s3Endpoint = Deno.env.get("LAKESTRIKE_TEST_S3_ENDPOINT");
  const dynamodbEndpoint = Deno.env.get("LAKESTRIKE_TEST_DYNAMODB_ENDPOINT");
  if (!s3Endpoint || !dynamodbEndpoint) {
    throw new Error("the chaos tests need the test servers: run them with deno task test");
  }
  return { s3Endpoint, dynamodbEndpoint };
}

for (const protocol of ["local", "s3", "s3-dynamodb"] as const) {
  // The random seed varies by run; the fixed one keeps a known-good path in every run.
  const seeds = protocol === "local"
    ? [FIXED_SEEDS[protocol], randomSeed()]
    : [FIXED_SEEDS[protocol]];
  for (const seed of seeds) {
    Deno.test(`chaos: ${protocol}, ${SECONDS} s, seed ${seed}`, async () => {
      const lines: string[] = [];
      const report = await runChaos({
        seed,
        seconds: SECONDS,
        protocol,
        log: (line) => lines.push(line),
        ...endpoints(protocol),
      });
      const summary = JSON.stringify({ ...report, violations: report.violations.length });
      console.log(`chaos ${protocol} seed ${seed}: ${summary}`);
      if (report.violations.length > 0) {
        console.log(lines.join("\n"));
        console.log(
          `replay: deno task chaos --seed ${seed} --protocol ${protocol} --seconds ${SECONDS}`,
        );
      }
      assert.deepEqual(report.violations, []);
      assert.ok(report.acked > 0, "no request was acknowledged");
      assert.ok(report.faults.kill > 0 && report.faults.poison > 0, "no fault was injected");
      assert.equal(
        report.lost + report.duplicated + report.refusedButWritten + report.unreadable,
        0,
      );
    });
  }
}
