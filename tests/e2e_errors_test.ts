// Every bad input gets its status code over real HTTP and leaves the table unchanged: same
// version, same files, and none of its events ever appear, even after later commits.
import assert from "node:assert/strict";
import { gate } from "./fixtures/gate_plugin.ts";
import {
  ADMIN_TOKEN,
  makeEvent,
  makeEvents,
  OTHER_TABLE_TOKEN,
  postEvents,
  readTable,
  REPO_ROOT,
  RUNNER_TOKEN,
  type Stack,
  startStack,
  writeConfig,
} from "./fixtures/e2e_util.ts";
import { startEdge } from "../edge/main.ts";
import { freePort } from "./fixtures/e2e_util.ts";

const GATE_URL = new URL("fixtures/gate_plugin.ts", `file://${REPO_ROOT}/tests/`).href;

async function assertUnchanged(
  stack: Stack,
  before: Awaited<ReturnType<typeof readTable>>,
): Promise<void> {
  const after = await readTable(stack.tableDir);
  assert.equal(after.snapshot.version, before.snapshot.version, "the table version moved");
  assert.deepEqual(after.files, before.files, "the table's files changed");
}

Deno.test("e2e: bad input gets 400/401/403/404/413/415/422 and writes nothing", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-bad-" });
  const stack = await startStack(
    await writeConfig(dir, { extra: "edge: { requestBodyBytesMax: 65536 }," }),
  );
  try {
    // One good request first, so that "unchanged" means more than "still empty".
    const first = await postEvents(stack.edge.url, JSON.stringify(makeEvents("good", 3)));
    assert.equal(first.status, 200);
    const before = await readTable(stack.tableDir);
    const ev = (id: string) => makeEvent(id, 1);
    const cases: [string, number, string, () => Promise<Awaited<ReturnType<typeof postEvents>>>][] =
      [
        ["malformed JSON", 400, "malformed_body", () => postEvents(stack.edge.url, '[{"ts": ')],
        [
          "malformed NDJSON line",
          400,
          "malformed_body",
          () =>
            postEvents(stack.edge.url, `${JSON.stringify(ev("nd-1"))}\n{oops`, {
              contentType: "application/x-ndjson",
            }),
        ],
        [
          "invalid UTF-8",
          400,
          "malformed_body",
          () => postEvents(stack.edge.url, new Uint8Array([0x5b, 0xff, 0xfe, 0x5d])),
        ],
        ["empty array", 400, "empty_body", () => postEvents(stack.edge.url, "[]")],
        ["not an event list", 400, "malformed_body", () => postEvents(stack.edge.url, "42")],
        [
          "invalid table name",
          400,
          "invalid_table_name",
          () => postEvents(stack.edge.url, JSON.stringify([ev("name-1")]), { table: ".hidden" }),
        ],
        [
          "Arrow content type, JSON body",
          400,
          "malformed_body",
          () =>
            postEvents(stack.edge.url, JSON.stringify([ev("arrow-1")]), {
              contentType: "application/vnd.apache.arrow.stream",
            }),
        ],
        [
          "no token",
          401,
          "unauthorized",
          () => postEvents(stack.edge.url, JSON.stringify([ev("auth-1")]), { token: null }),
        ],
        [
          "unknown token",
          401,
          "unauthorized",
          () => postEvents(stack.edge.url, JSON.stringify([ev("auth-2")]), { token: "nope" }),
        ],
        [
          "runner token is not a client token",
          401,
          "unauthorized",
          () => postEvents(stack.edge.url, JSON.stringify([ev("auth-3")]), { token: RUNNER_TOKEN }),
        ],
        [
          "token without the table",
          403,
          "forbidden",
          () =>
            postEvents(stack.edge.url, JSON.stringify([ev("grant-1")]), {
              token: OTHER_TABLE_TOKEN,
            }),
        ],
        [
          "unknown table",
          404,
          "unknown_table",
          () =>
            postEvents(stack.edge.url, JSON.stringify([ev("t-1")]), {
              table: "evnts",
              token: ADMIN_TOKEN,
            }),
        ],
        [
          "body over requestBodyBytesMax",
          413,
          "payload_too_large",
          () =>
            postEvents(
              stack.edge.url,
              JSON.stringify(
                makeEvents("big", 400).map((e) => ({ ...e, payload: "x".repeat(200) })),
              ),
            ),
        ],
        [
          "text/plain",
          415,
          "unsupported_media_type",
          () =>
            postEvents(stack.edge.url, JSON.stringify([ev("ct-1")]), { contentType: "text/plain" }),
        ],
        [
          "no content type",
          415,
          "unsupported_media_type",
          () => postEvents(stack.edge.url, JSON.stringify([ev("ct-2")]), { contentType: null }),
        ],
        ["missing non-null column", 422, "schema_violation", () => {
          const { device_id: _, ...rest } = ev("s-1");
          return postEvents(stack.edge.url, JSON.stringify([ev("s-0"), rest]));
        }],
        [
          "wrong type",
          422,
          "schema_violation",
          () => postEvents(stack.edge.url, JSON.stringify([{ ...ev("s-2"), value_i: "seven" }])),
        ],
        [
          "integer out of range",
          422,
          "schema_violation",
          () => postEvents(stack.edge.url, JSON.stringify([{ ...ev("s-3"), value_i: 2 ** 31 }])),
        ],
        [
          "bad timestamp",
          422,
          "schema_violation",
          () => postEvents(stack.edge.url, JSON.stringify([{ ...ev("s-4"), ts: "yesterday" }])),
        ],
        [
          "unknown field",
          422,
          "schema_violation",
          () => postEvents(stack.edge.url, JSON.stringify([{ ...ev("s-5"), colour: "red" }])),
        ],
      ];
    for (const [name, status, error, send] of cases) {
      await t.step(`${status} ${name}`, async () => {
        const answer = await send();
        assert.equal(answer.status, status, JSON.stringify(answer.body));
        assert.equal(answer.body.error, error);
        assert.equal(typeof answer.body.detail, "string");
        await assertUnchanged(stack, before);
      });
    }
    await t.step("422 names the field and the row", async () => {
      const answer = await postEvents(
        stack.edge.url,
        JSON.stringify([ev("r-0"), ev("r-1"), { ...ev("r-2"), value_d: "x" }]),
      );
      assert.equal(answer.status, 422);
      assert.equal(answer.body.row, 2);
      assert.equal(answer.body.field, "value_d");
    });
    await t.step(
      "the next good request commits exactly once, without any rejected event",
      async () => {
        const answer = await postEvents(stack.edge.url, JSON.stringify(makeEvents("after", 2)));
        assert.equal(answer.status, 200);
        const after = await readTable(stack.tableDir);
        assert.equal(after.snapshot.version, before.snapshot.version + 1);
        assert.deepEqual(
          [...after.payloads].sort(),
          ["after-0", "after-1", "good-0", "good-1", "good-2"],
        );
      },
    );
  } finally {
    await stack.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: 429 when the buffer is full and 503 when nothing commits in time", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-full-" });
  const stack = await startStack(
    await writeConfig(dir, {
      header: `import { gatePlugin } from ${JSON.stringify(GATE_URL)};`,
      extra: `edge: { bufferBytesMax: 16384, flushBytesMax: 4096, requestTimeoutMs: 1500 },
      plugins: [gatePlugin()],`,
    }),
  );
  // 9 KB of padding: two such requests are more than the 16 KiB buffer holds, one fits.
  const big = (prefix: string) =>
    JSON.stringify(
      makeEvents(prefix, 1).map((e) => ({ ...e, device_id: `${e.device_id}-${"p".repeat(9000)}` })),
    );
  try {
    const before = await readTable(stack.tableDir);
    gate.close();
    try {
      // A: flushed and in flight, held at the gate in the runner's beforeCommit.
      const a = postEvents(stack.edge.url, big("held"));
      await gate.held();
      await t.step("429 buffer_full with Retry-After, nothing written", async () => {
        const b = await postEvents(stack.edge.url, big("full"));
        assert.equal(b.status, 429, JSON.stringify(b.body));
        assert.equal(b.body.error, "buffer_full");
        assert.match(b.headers.get("retry-after") ?? "", /^\d+$/);
        await assertUnchanged(stack, before);
      });
      await t.step("503 for a request still waiting when its deadline passes", async () => {
        const c = await postEvents(stack.edge.url, JSON.stringify(makeEvents("late", 2)));
        assert.equal(c.status, 503, JSON.stringify(c.body));
        assert.equal(c.body.error, "runner_unavailable");
        assert.equal(c.body.written, "no");
        await assertUnchanged(stack, before);
      });
      // A itself passed its deadline while held: its fate is unknown to the client.
      const answerA = await a;
      assert.equal(answerA.status, 503);
      assert.equal(answerA.body.written, "unknown");
    } finally {
      gate.open();
    }
    await t.step("after the gate opens, only the held batch commits", async () => {
      // The edge keeps retrying the held batch's seq; the next request follows it.
      const d = await postEvents(stack.edge.url, JSON.stringify(makeEvents("next", 2)));
      assert.equal(d.status, 200, JSON.stringify(d.body));
      const after = await readTable(stack.tableDir);
      assert.deepEqual([...after.payloads].sort(), ["held-0", "next-0", "next-1"]);
    });
  } finally {
    await stack.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("e2e: 503 when the runner is unreachable, the table unchanged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-down-" });
  const stack = await startStack(
    await writeConfig(dir, { extra: "edge: { requestTimeoutMs: 500 }," }),
  );
  // A second edge of the same config pointed at a port where nothing listens.
  const down = await startEdge(stack.config, {
    runnerToken: RUNNER_TOKEN,
    runnerUrl: `http://127.0.0.1:${freePort()}`,
    port: 0,
    hostname: "127.0.0.1",
    producerId: "edge-without-runner",
  });
  try {
    const before = await readTable(stack.tableDir);
    const answer = await postEvents(down.url, JSON.stringify(makeEvents("down", 3)));
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.equal(answer.body.error, "runner_unavailable");
    await assertUnchanged(stack, before);
    // The table still takes writes through a healthy edge.
    const ok = await postEvents(stack.edge.url, JSON.stringify(makeEvents("up", 1)));
    assert.equal(ok.status, 200);
    const after = await readTable(stack.tableDir);
    assert.deepEqual(after.payloads, ["up-0"]);
  } finally {
    await down.shutdown();
    await stack.close();
  }
  await Deno.remove(dir, { recursive: true });
});
