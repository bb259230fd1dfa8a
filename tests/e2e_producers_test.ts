/**
 * Several processes on one table, started by the README's commands, lose no acknowledged event
 * (issue: producer identities, ADR 0022): three `deno task dev` on one `--data` directory, and three
 * on one S3 table, each posting concurrently; every acknowledged event is read back exactly once by
 * our scan and by DuckDB.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { registerAws } from "../aws/register_aws.ts";
import { createTestBucket, testS3Endpoint } from "../aws/s3_test_support.ts";
import {
  assertExactlyOnce,
  makeEvents,
  postEvents,
  readTable,
  spawnUntil,
  type Started,
  stop,
} from "./fixtures/e2e_util.ts";

const SERVERS = 3;
const REQUESTS = 50;
const EVENTS = 10;

/** Starts `SERVERS` dev servers on `data`, posts concurrently from each, returns the acked ids. */
async function postThroughDevServers(
  dir: string,
  data: string,
  env: Record<string, string> = {},
): Promise<{ acked: Set<string>; sent: Set<string> }> {
  const servers: Started[] = [];
  try {
    // Started one after the other: the first creates the table, the others find it.
    for (let k = 0; k < SERVERS; k++) {
      servers.push(
        await spawnUntil(
          "batch/dev.ts",
          ["--port", "0", "--data", data],
          dir,
          /\n {2}curl .*\n/,
          env,
        ),
      );
    }
    const acked = new Set<string>();
    const sent = new Set<string>();
    await Promise.all(servers.map(async (server, k) => {
      const edgeUrl = /edge (http:\/\/\S+?),/.exec(server.output)![1]!;
      await Promise.all(Array.from({ length: REQUESTS }, async (_, r) => {
        const events = makeEvents(`dev${k}-req${r}`, EVENTS);
        for (const e of events) sent.add(String(e.payload));
        const answer = await postEvents(edgeUrl, JSON.stringify(events), { token: "dev-token" });
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.duplicate, undefined, "a fresh request is never a duplicate");
        for (const e of events) acked.add(String(e.payload));
      }));
    }));
    return { acked, sent };
  } finally {
    for (const s of servers) assert.equal((await stop(s.child)).code, 0);
  }
}

Deno.test("e2e: three deno task dev on one data directory lose no acknowledged event", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-3dev-" });
  const { acked, sent } = await postThroughDevServers(dir, "d");
  assert.equal(acked.size, SERVERS * REQUESTS * EVENTS);
  await assertExactlyOnce(join(dir, "d/events"), acked, sent);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: three deno task dev on one S3 table lose no acknowledged event", async () => {
  const { bucket, cleanup } = await createTestBucket();
  const uri = `s3://${bucket}/shared`;
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-3dev-s3-" });
  const { acked } = await postThroughDevServers(dir, uri, {
    AWS_ENDPOINT_URL_S3: testS3Endpoint(),
  });
  assert.equal(acked.size, SERVERS * REQUESTS * EVENTS);
  const restore = registerAws({ s3: { endpoint: testS3Endpoint() } });
  try {
    const table = await readTable(`${uri}/events`);
    const counts = new Map<string, number>();
    for (const p of table.payloads) counts.set(p, (counts.get(p) ?? 0) + 1);
    assert.deepEqual([...acked].filter((id) => counts.get(id) !== 1).slice(0, 10), []);
    assert.equal(table.payloads.length, acked.size);
  } finally {
    restore();
    await cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
