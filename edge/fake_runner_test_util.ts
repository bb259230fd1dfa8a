/**
 * A fake batch runner for edge tests: a real Hono app that speaks the wire contract (docs/design.md
 * section 4), decodes the Arrow IPC body, dedupes by `(producer, table, seq)` as a Delta `txn`
 * would, and injects faults.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { Hono } from "hono";
import {
  ARROW_STREAM_CONTENT_TYPE,
  createHttpForward,
  type ForwardBatch,
  NEXT_COMMIT_HEADER,
  PRODUCER_HEADER,
  SEQ_HEADER,
} from "./wire.ts";

/** One committed batch as the fake runner stored it. */
export interface FakeCommit {
  table: string;
  producer: string;
  seq: number;
  version: number;
  table_: arrow.Table;
}

/** What the fake runner does with the next request. */
export type Fault =
  | "unavailable" // answers 503, commits nothing
  | "lose-answer" // commits, then answers 500 (a lost answer)
  | "reject" // answers 400, commits nothing
  | "hang"; // never answers (until the signal aborts)

/** The fake runner and its records. */
export interface FakeRunner {
  app: Hono;
  forward: ForwardBatch;
  commits: FakeCommit[];
  /** Every request received: seq per table, in arrival order. */
  received: { table: string; seq: number }[];
  faults: Fault[];
  /** Requests being handled right now, and the most at once. */
  active: number;
  activeMax: number;
  /** When set, each request waits for this promise before committing. */
  gate: Promise<void> | undefined;
  /** When set, every `200` says the table's next commit is this many ms away (the runner's pace). */
  nextCommitInMs: number | undefined;
  /** All committed rows of a table, in commit order. */
  rows(table: string): Record<string, unknown>[];
}

/** Creates the fake runner; `token` is the bearer token it expects. */
export function createFakeRunner(token = "runner-token"): FakeRunner {
  const app = new Hono();
  const lastSeq = new Map<string, { seq: number; version: number }>();
  let version = 0;
  const runner: FakeRunner = {
    app,
    forward: undefined as unknown as ForwardBatch,
    commits: [],
    received: [],
    faults: [],
    active: 0,
    activeMax: 0,
    gate: undefined,
    nextCommitInMs: undefined,
    rows(table) {
      return runner.commits.filter((c) => c.table === table).flatMap((c) =>
        c.table_.toArray().map((r) => r.toJSON() as Record<string, unknown>)
      );
    },
  };
  app.post("/v1/tables/:table/batches", async (c) => {
    runner.active++;
    runner.activeMax = Math.max(runner.activeMax, runner.active);
    try {
      const table = c.req.param("table");
      if (c.req.header("authorization") !== `Bearer ${token}`) return c.json({}, 401);
      if (c.req.header("content-type") !== ARROW_STREAM_CONTENT_TYPE) return c.json({}, 415);
      const producer = c.req.header(PRODUCER_HEADER) ?? "";
      const seq = Number(c.req.header(SEQ_HEADER));
      runner.received.push({ table, seq });
      const body = new Uint8Array(await c.req.arrayBuffer());
      const fault = runner.faults.shift();
      if (runner.gate !== undefined) await runner.gate;
      if (fault === "hang") {
        await new Promise((resolve) => c.req.raw.signal.addEventListener("abort", resolve));
        return c.json({ error: "aborted" }, 503);
      }
      if (fault === "unavailable") return c.json({ error: "down" }, 503);
      if (fault === "reject") return c.json({ error: "bad batch" }, 400);
      const key = `${producer}\u0000${table}`;
      const last = lastSeq.get(key);
      if (last !== undefined && seq <= last.seq) {
        // Delta txn dedupe: already committed, answer with the version that holds it.
        const held = runner.commits.find((x) =>
          x.producer === producer && x.table === table && x.seq === seq
        );
        return c.json({ version: held?.version ?? last.version, rows: held?.table_.numRows ?? 0 });
      }
      const t = arrow.tableFromIPC(body);
      version++;
      runner.commits.push({ table, producer, seq, version, table_: t });
      lastSeq.set(key, { seq, version });
      if (fault === "lose-answer") return c.json({ error: "answer lost" }, 500);
      if (runner.nextCommitInMs !== undefined) {
        c.header(NEXT_COMMIT_HEADER, String(runner.nextCommitInMs));
      }
      return c.json({ version, rows: t.numRows });
    } finally {
      runner.active--;
    }
  });
  runner.forward = createHttpForward({
    runnerUrl: "http://runner.test",
    runnerToken: token,
    fetch: (input, init) => Promise.resolve(app.request(input as string, init)),
  });
  return runner;
}

/** Waits (in small real-time steps, no assertion on time) until `condition` holds. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`Gave up waiting for ${what}`);
}
