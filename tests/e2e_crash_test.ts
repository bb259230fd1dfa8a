// The runner as its own OS process (`deno run -A batch/runner_main.ts --config ...`), killed with
// SIGKILL in the middle of a load and started again on the same port. The edge keeps retrying
// unanswered batches with the same seq. Afterwards every acknowledged event is in the table exactly
// once and the table loads.
import assert from "node:assert/strict";
import { loadConfig } from "../batch/config.ts";
import { startEdge } from "../edge/main.ts";
import {
  assertExactlyOnce,
  freePort,
  makeEvents,
  postEvents,
  readTable,
  REPO_ROOT,
  RUNNER_TOKEN,
  writeConfig,
} from "./fixtures/e2e_util.ts";

interface RunnerProcess {
  child: Deno.ChildProcess;
  /** Resolves with the runner's URL once it listens. */
  ready: Promise<string>;
}

function spawnRunner(configPath: string): RunnerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "batch/runner_main.ts", "--config", configPath, "--log-level", "error"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const ready = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    const reader = child.stdout.getReader();
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`runner exited before listening: ${text}`);
      text += decoder.decode(value, { stream: true });
      const m = /listening on (http:\/\/\S+),/.exec(text);
      if (m) {
        // Keep draining stdout so the child never blocks on a full pipe.
        void (async () => {
          while (!(await reader.read()).done) { /* drain */ }
        })().catch(() => {});
        return m[1]!;
      }
    }
  })();
  return { child, ready };
}

const CLIENTS = 8;
const EVENTS_PER_REQUEST = 10;
const ACKS_BEFORE_KILL = 40;
const ACKS_AFTER_RESTART = 40;
const KILLS = 2;

Deno.test("e2e: runner killed twice with SIGKILL mid-load; after restart every ack is there exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lakestrike-e2e-kill-" });
  const port = freePort();
  const configPath = await writeConfig(dir, {
    runner: `port: ${port}`,
    // Long enough that requests waiting through the restart can still be acknowledged.
    extra: `edge: { requestTimeoutMs: 15000, runnerUrl: "http://127.0.0.1:${port}" },`,
  });
  const config = await loadConfig(configPath);
  let runner = spawnRunner(configPath);
  await runner.ready;
  const edge = await startEdge(config, {
    runnerToken: RUNNER_TOKEN,
    port: 0,
    hostname: "127.0.0.1",
    producerId: "crash-edge",
  });

  const sent = new Set<string>();
  const acked = new Set<string>();
  let ackedRequests = 0;
  let ackedAfterRestart = 0;
  let restarted = false;
  let stop = false;
  const inFlightAtKill: number[] = [];
  const statuses = new Map<number, number>();
  const milestone = (n: number) => {
    const reached = Promise.withResolvers<void>();
    const check = setInterval(() => {
      if ((restarted ? ackedAfterRestart : ackedRequests) >= n || stop) {
        clearInterval(check);
        reached.resolve();
      }
    }, 10);
    return reached.promise;
  };

  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let r = 0; !stop; r++) {
      const events = makeEvents(`k${c}`, EVENTS_PER_REQUEST, r * EVENTS_PER_REQUEST);
      for (const e of events) sent.add(String(e.payload));
      const answer = await postEvents(edge.url, JSON.stringify(events));
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 200) {
        for (const e of events) acked.add(String(e.payload));
        ackedRequests++;
        if (restarted) ackedAfterRestart++;
      } else {
        // 503 (fate unknown or not written) and 429 (buffer full while the runner is down).
        assert.ok([429, 503].includes(answer.status), `status ${answer.status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  try {
    await milestone(ACKS_BEFORE_KILL);
    for (let kill = 0; kill < KILLS; kill++) {
      // Kill while the edge has a batch in flight: its answer is lost with the process.
      while (edge.app.stats("events")?.inFlightSeq === undefined) {
        await new Promise((r) => setTimeout(r, 1));
      }
      inFlightAtKill.push(edge.app.stats("events")!.inFlightSeq!);
      runner.child.kill("SIGKILL");
      const status = await runner.child.status;
      assert.equal(status.signal, "SIGKILL");
      runner = spawnRunner(configPath);
      await runner.ready;
      restarted = true;
      ackedAfterRestart = 0;
      await milestone(ACKS_AFTER_RESTART);
    }
  } finally {
    stop = true;
    await Promise.allSettled(clients);
    await edge.shutdown();
    runner.child.kill("SIGTERM");
    await runner.child.status;
  }
  await Promise.all(clients); // surfaces a client's assertion failure
  assert.ok(
    ackedAfterRestart >= ACKS_AFTER_RESTART,
    `only ${ackedAfterRestart} acks after restart`,
  );
  const contents = await assertExactlyOnce(config.tables[0]!.uri, acked, sent);
  assert.ok(contents.payloads.length >= acked.size);
  // The table loads from a fresh reader, and a commit after the crash followed the old ones.
  const again = await readTable(config.tables[0]!.uri);
  assert.equal(again.snapshot.version, contents.snapshot.version);
  console.log(
    `killed with batches ${
      inFlightAtKill.join(", ")
    } in flight; acked ${acked.size} of ${sent.size} events sent; statuses ${
      JSON.stringify(Object.fromEntries(statuses))
    }; table version ${contents.snapshot.version}, rows ${contents.payloads.length}`,
  );
  await Deno.remove(dir, { recursive: true });
});
