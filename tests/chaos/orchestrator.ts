/**
 * The chaos run (`deno task chaos`): the real service as separate processes — two runners and three
 * edges on one table, two of the edges configured with the same producer id — under open-loop
 * client traffic with a unique key per event, while a seeded scheduler injects faults:
 *
 * ```
 *   traffic (valid + poison) ──▶ edge 0 ─┐              ┌─▶ runner 0 ─┐  faults inside the runners:
 *                             ─▶ edge 1 ─┼─▶ (by index) ┤             ├─ storage errors, lost answers,
 *                             ─▶ edge 2 ─┘              └─▶ runner 1 ─┘  slow calls, SIGKILL after a
 *                                                                         data file (faults.ts)
 *   scheduler: SIGKILL + restart of any process (edges come back with their clock set back),
 *              the runners' own compaction / vacuum / log cleanup on a short schedule
 *   checker:   after every scheduled fault and at the end, `invariants.ts` over an independent
 *              reader (no code shared with the writer path)
 * ```
 *
 * Every request's answer is booked per key: `200` acked (must be in the table exactly once), a
 * refusal that says nothing was written (4xx, 502, 503 `written: "no"`: must be absent), anything
 * else unknown (at most once). Half of the valid traffic goes through `lakestrike/client` instead
 * (one client per edge, idempotent producers, ADR 0037), which retries on its own: every event a
 * client was told is committed must be in the table exactly once, every event it gave up on at
 * most once. Poison requests must all be answered 4xx and their keys never
 * appear. Edges' `/healthz` is polled to measure how long a table stays stuck.
 *
 * The run prints one JSON line last (see {@linkcode ChaosReport}) and its trace of scheduled
 * events on failure, with the command that replays the seed.
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRng, type Rng } from "./rng.ts";
import { createClient, type LakestrikeClient } from "../../client/mod.ts";
import { CHAOS_PARTITIONS, CHAOS_SCHEMA, makePoison, validEvent } from "./poison.ts";
import type { FaultPlan } from "./faults.ts";
import { checkInvariants } from "./invariants.ts";
import { localTableAccess, s3TableAccess, type TableAccess } from "./table_access.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const CLIENT_TOKEN = "chaos-client-token";
const REQUEST_TIMEOUT_MS = 5_000;
/** How long a client waits beyond the edge's deadline before it counts the request unanswered. */
const ANSWER_GUARD_MS = 3_000;
/** The longest a table may stay stuck: the edge's retry cap (10 attempts, 2 s each, backoff). */
export const STUCK_LIMIT_MS = 35_000;
/** Share of the valid requests sent through `lakestrike/client`. */
const CLIENT_SHARE = 0.5;
/** `delta.deletedFileRetentionDuration` of the chaos table: vacuum runs with a short retention. */
const RETENTION_MS = 20_000;

/** Which commit protocol the table uses. */
export type ChaosProtocol = "local" | "s3" | "s3-dynamodb";

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  seed: number;
  seconds: number;
  protocol: ChaosProtocol;
  /** S3 endpoint (moto) for `s3` and `s3-dynamodb`. */
  s3Endpoint?: string;
  /** DynamoDB endpoint (DynamoDB Local) for `s3-dynamodb`. */
  dynamodbEndpoint?: string;
  /** Client requests per second (default 30). */
  requestsPerSecond?: number;
  /** Share of requests that are poison (default 0.1). */
  poisonShare?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Fault counts of a run. */
export interface FaultCounts {
  kill: number;
  storage: number;
  clock: number;
  sharedProducer: number;
  poison: number;
  maintenance: number;
}

/** The last line of a run. */
export interface ChaosReport {
  seed: number;
  seconds: number;
  protocol: ChaosProtocol;
  faults: FaultCounts;
  acked: number;
  lost: number;
  duplicated: number;
  refusedButWritten: number;
  unreadable: number;
  stuckMs: number;
  requests: number;
  unknown: number;
  refused: number;
  checks: number;
  latestVersion: number;
  /** Answers of valid requests by status (`0`: no answer), with the error code. */
  answers: Record<string, number>;
  /** What the clients of `lakestrike/client` counted (summed over the clients). */
  clients: {
    committedEvents: number;
    gaveUpEvents: number;
    retries: number;
    duplicates: number;
    sequenceResets: number;
    producerRenewals: number;
  };
  /** Invariants that did not hold (empty when the run passed). */
  violations: string[];
}

type KeyState = "inflight" | "acked" | "refused" | "unknown" | "poison";

interface Proc {
  role: "runner" | "edge";
  index: number;
  port: number;
  producer?: string;
  child?: Deno.ChildProcess;
  alive: boolean;
  /** Set while the orchestrator itself stops or kills it (so an exit is not a crash). */
  stopping: boolean;
  starts: number;
  stderrTail: string[];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs one chaos run and resolves with its report (it never throws for a violated invariant). */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const rng = createRng(options.seed);
  const dir = await Deno.makeTempDir({ prefix: `lakestrike-chaos-${options.seed}-` });
  const faults: FaultCounts = {
    kill: 0,
    storage: 0,
    clock: 0,
    sharedProducer: 0,
    poison: 0,
    maintenance: 0,
  };
  const trace: string[] = [];
  const startedMs = Date.now();
  const note = (line: string) => {
    const entry = `+${((Date.now() - startedMs) / 1000).toFixed(1)}s ${line}`;
    trace.push(entry);
    log(entry);
  };
  const violations: string[] = [];
  const keys = new Map<string, KeyState>();
  const runnerToken = crypto.randomUUID().replaceAll("-", "");

  // The table, its storage, and the access of the independent reader.
  let uri: string;
  let access: TableAccess;
  let cleanupStorage = async () => {};
  const env: Record<string, string> = {
    NO_COLOR: "1",
    LAKESTRIKE_RUNNER_TOKEN: runnerToken,
    AWS_ACCESS_KEY_ID: Deno.env.get("AWS_ACCESS_KEY_ID") ?? "test",
    AWS_SECRET_ACCESS_KEY: Deno.env.get("AWS_SECRET_ACCESS_KEY") ?? "test",
    AWS_REGION: "us-east-1",
  };
  let dynamodb = "";
  if (options.protocol === "local") {
    uri = join(dir, "events");
    access = localTableAccess(uri);
  } else {
    if (!options.s3Endpoint) throw new Error("Cannot run chaos on S3 without an S3 endpoint");
    const { S3Client, CreateBucketCommand } = await import("@aws-sdk/client-s3");
    const bucket = `chaos-${options.seed}-${Date.now() % 1_000_000}`;
    const client = new S3Client({
      endpoint: options.s3Endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
      },
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    uri = `s3://${bucket}/chaos/events`;
    env.AWS_ENDPOINT_URL_S3 = options.s3Endpoint;
    access = s3TableAccess({
      endpoint: options.s3Endpoint,
      bucket,
      prefix: "chaos/events",
      region: "us-east-1",
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID!,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
      },
    });
    if (options.protocol === "s3-dynamodb") {
      if (!options.dynamodbEndpoint) throw new Error("Cannot run s3-dynamodb without DynamoDB");
      const { setupDynamoDBTable } = await import("../../batch/setup_dynamodb.ts");
      const tableName = `chaos_${options.seed}_${Date.now() % 1_000_000}`;
      await setupDynamoDBTable({ tableName, endpoint: options.dynamodbEndpoint });
      dynamodb = `dynamodb: { tableName: ${JSON.stringify(tableName)}, endpoint: ${
        JSON.stringify(options.dynamodbEndpoint)
      }, region: "us-east-1" },`;
    }
    cleanupStorage = async () => {};
  }

  const configPath = join(dir, "lakestrike.config.ts");
  const configModule = pathToFileURL(join(REPO_ROOT, "batch/config.ts")).href;
  await Deno.writeTextFile(
    configPath,
    `import { defineConfig } from ${JSON.stringify(configModule)};
export const config = defineConfig({
  tables: [{
    name: "events",
    uri: ${JSON.stringify(uri)},
    schema: ${JSON.stringify(CHAOS_SCHEMA)},
    partitionColumns: ${JSON.stringify(CHAOS_PARTITIONS)},
    ${options.protocol === "local" ? "" : `commitProtocol: ${JSON.stringify(options.protocol)},`}
    ${dynamodb}
    properties: {
      "delta.checkpointInterval": "10",
      "delta.deletedFileRetentionDuration": "interval ${RETENTION_MS / 1000} seconds",
      "delta.logRetentionDuration": "interval 1 minute",
    },
    maintenance: {
      compactEnabled: true,
      compactIntervalMs: 2000,
      compactMinFiles: 4,
      vacuumEnabled: true,
      vacuumIntervalMs: 3000,
    },
  }],
  tokens: { ${JSON.stringify(CLIENT_TOKEN)}: ["events"] },
  edge: { requestTimeoutMs: ${REQUEST_TIMEOUT_MS}, flushIntervalMs: 20 },
  runner: { tokenEnv: "LAKESTRIKE_RUNNER_TOKEN" },
});
`,
  );

  // --- processes --------------------------------------------------------------------------------
  const runners: Proc[] = [0, 1].map((index) => ({
    role: "runner" as const,
    index,
    port: freePort(),
    alive: false,
    stopping: false,
    starts: 0,
    stderrTail: [],
  }));
  // Edges 0 and 1 share one producer name, as two edges started from one config would.
  const edges: Proc[] = [0, 1, 2].map((index) => ({
    role: "edge" as const,
    index,
    port: freePort(),
    producer: index < 2 ? "edge-shared" : `edge-${index}`,
    alive: false,
    stopping: false,
    starts: 0,
    stderrTail: [],
  }));
  faults.sharedProducer = 1;
  const procName = (p: Proc) => `${p.role}-${p.index}`;

  /** Every stderr line of every process, stamped, written to the run's directory on failure. */
  const logLines: string[] = [];
  async function readStderr(p: Proc, child: Deno.ChildProcess): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of child.stderr) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logLines.push(`${new Date().toISOString()} ${procName(p)} ${line}`);
        if (line.startsWith("chaos-fault ")) {
          const fault = JSON.parse(line.slice("chaos-fault ".length)) as { kind: string };
          if (fault.kind === "kill") {
            faults.kill++;
            note(`${procName(p)} killed itself: ${line.slice(12)}`);
          } else faults.storage++;
          continue;
        }
        if (
          /"message":"Maintenance (compaction|vacuum|logCleanup|log cleanup)[^"]* ran"/.test(line)
        ) {
          faults.maintenance++;
        }
        p.stderrTail.push(line);
        if (p.stderrTail.length > 40) p.stderrTail.shift();
      }
    }
  }

  async function waitHealthy(p: Proc, child: Deno.ChildProcess, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    child.status.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(`${procName(p)} exited at start:\n${p.stderrTail.slice(-15).join("\n")}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${p.port}/healthz`);
        await res.body?.cancel();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${procName(p)} did not become healthy in ${timeoutMs} ms`);
  }

  async function start(p: Proc, clockSkewMs = 0): Promise<void> {
    p.starts++;
    const procEnv: Record<string, string> = { ...env, CHAOS_CLOCK_SKEW_MS: String(clockSkewMs) };
    let script: string;
    let args: string[];
    if (p.role === "runner") {
      const plan: FaultPlan = {
        seed: (options.seed * 31 + p.index * 1009 + p.starts * 7) >>> 0,
        errorRate: 0.01,
        lostRate: 0.01,
        slowRate: 0.03,
        slowMsMax: 400,
        killAfterDataRate: 0.002,
      };
      procEnv.CHAOS_FAULTS = JSON.stringify(plan);
      script = "tests/chaos/runner_child.ts";
      args = ["--config", configPath, "--port", String(p.port), "--log-level", "info"];
    } else {
      const runner = runners[p.index % runners.length]!;
      script = "tests/chaos/edge_child.ts";
      args = [
        "--config",
        configPath,
        "--port",
        String(p.port),
        "--hostname",
        "127.0.0.1",
        "--runner",
        `http://127.0.0.1:${runner.port}`,
        "--producer",
        p.producer!,
      ];
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(REPO_ROOT, script), ...args],
      cwd: dir,
      env: procEnv,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    p.child = child;
    p.stopping = false;
    void readStderr(p, child).catch(() => {});
    await waitHealthy(p, child);
    p.alive = true;
    child.status.then((status) => {
      if (p.child !== child) return;
      p.alive = false;
      if (!p.stopping && !finishing) {
        // Crashed (or killed itself after a data file): the orchestrator brings it back.
        note(`${procName(p)} exited (${status.signal ?? status.code}); restarting`);
        restarting.add(p);
        void sleep(rng.int(100, 800)).then(() => startRetrying(p)).catch((e) => {
          violations.push(`cannot restart ${procName(p)}: ${(e as Error).message}`);
        }).finally(() => restarting.delete(p));
      }
    });
  }

  /**
   * Starts `p`, again when it exits at start (a storage fault while it loads the table): as an
   * orchestrator restarts a crash-looping process, at most 5 times.
   */
  async function startRetrying(p: Proc, clockSkewMs = 0): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        return await start(p, clockSkewMs);
      } catch (e) {
        if (attempt >= 5 || finishing) throw e;
        note(`${procName(p)} failed to start (attempt ${attempt}); starting it again`);
        await sleep(200 * attempt);
      }
    }
  }

  async function kill(p: Proc): Promise<void> {
    if (!p.alive || p.child === undefined) return;
    p.stopping = true;
    try {
      p.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await p.child.status;
    p.alive = false;
  }

  async function stopGracefully(p: Proc): Promise<void> {
    if (!p.alive || p.child === undefined) return;
    p.stopping = true;
    try {
      p.child.kill("SIGTERM");
    } catch {
      return;
    }
    const status = await Promise.race([p.child.status, sleep(30_000).then(() => undefined)]);
    if (status === undefined) {
      violations.push(`${procName(p)} did not stop within 30 s of SIGTERM`);
      p.child.kill("SIGKILL");
      await p.child.status;
    }
    p.alive = false;
  }

  let finishing = false;
  const restarting = new Set<Proc>();

  // --- traffic ----------------------------------------------------------------------------------
  let requestSeq = 0;
  let requests = 0;
  const answers: Record<string, number> = {};
  const outstanding = new Set<Promise<void>>();
  const trafficRng = rng.fork(1);
  /** One client per edge; it retries through the edge's restarts with the same sequences. */
  const clients: LakestrikeClient[] = edges.map((e) =>
    createClient({
      url: `http://127.0.0.1:${e.port}`,
      token: CLIENT_TOKEN,
      table: "events",
      retryDelayMaxMs: 2_000,
      attemptsMax: 30,
    })
  );

  /** Sends `events` through the edge's client and books its keys by what the client says. */
  async function sendThroughClient(edge: Proc, events: Record<string, unknown>[], keys_: string[]) {
    let state: KeyState;
    try {
      const result = await clients[edge.index]!.send(events);
      const label = result.duplicate ? "client 200 duplicate" : "client 200";
      answers[label] = (answers[label] ?? 0) + 1;
      state = "acked";
    } catch (e) {
      const err = e as { code?: string; written?: string };
      const label = `client gave up ${err.code ?? String(e)} ${err.written ?? ""}`.trim();
      answers[label] = (answers[label] ?? 0) + 1;
      state = "unknown"; // given up: at most once
    }
    for (const k of keys_) keys.set(k, state);
  }

  async function sendRequest(): Promise<void> {
    const edge = trafficRng.pick(edges);
    const id = requestSeq++;
    requests++;
    const poison = trafficRng.chance(options.poisonShare ?? 0.1);
    let body: Uint8Array;
    let contentType: string;
    let requestKeys: string[];
    let kind = "valid";
    if (poison) {
      const p = makePoison(trafficRng, `poison${id}`);
      faults.poison++;
      body = p.body;
      contentType = p.contentType;
      requestKeys = p.keys;
      kind = p.kind;
      for (const k of requestKeys) keys.set(k, "poison");
    } else {
      const n = trafficRng.int(1, 20);
      const events = Array.from({ length: n }, (_, i) => validEvent(`r${id}-${i}`, id * 20 + i));
      const ndjson = trafficRng.chance(0.3);
      body = new TextEncoder().encode(
        ndjson ? events.map((e) => JSON.stringify(e)).join("\n") : JSON.stringify(events),
      );
      contentType = ndjson ? "application/x-ndjson" : "application/json";
      requestKeys = events.map((e) => String(e.key));
      for (const k of requestKeys) keys.set(k, "inflight");
      if (trafficRng.chance(CLIENT_SHARE)) {
        return await sendThroughClient(edge, events, requestKeys);
      }
    }
    const edgeStartsBefore = edge.starts;
    const sentMs = Date.now();
    let status = 0;
    let answer: Record<string, unknown> = {};
    try {
      const res = await fetch(`http://127.0.0.1:${edge.port}/v1/tables/events/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_TOKEN}`, "content-type": contentType },
        body: body as Uint8Array<ArrayBuffer>,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS + ANSWER_GUARD_MS),
      });
      status = res.status;
      try {
        answer = await res.json();
      } catch {
        answer = {};
      }
    } catch (e) {
      const timedOut = e instanceof DOMException && e.name === "TimeoutError";
      if (timedOut && edge.starts === edgeStartsBefore && edge.alive) {
        violations.push(
          `request ${id} to ${procName(edge)} had no answer ${
            Date.now() - sentMs
          } ms after it was sent (deadline ${REQUEST_TIMEOUT_MS} ms)`,
        );
      }
      status = 0;
    }
    if (poison) {
      if (status === 200) {
        violations.push(`poison ${kind} (request ${id}) was accepted: ${JSON.stringify(answer)}`);
      } else if (status !== 0 && (status < 400 || status >= 500)) {
        violations.push(`poison ${kind} (request ${id}) was answered ${status}, not 4xx`);
      }
      return;
    }
    const label = status === 200
      ? "200"
      : `${status} ${answer.error ?? ""}${answer.written ? ` ${answer.written}` : ""}`.trim();
    answers[label] = (answers[label] ?? 0) + 1;
    let state: KeyState;
    if (status === 200) {
      state = "acked";
      if (answer.rows !== requestKeys.length) {
        violations.push(`request ${id}: 200 with rows ${answer.rows}, sent ${requestKeys.length}`);
      }
    } else if (status === 400 || status === 422) {
      violations.push(`valid request ${id} was refused ${status}: ${JSON.stringify(answer)}`);
      state = "refused";
    } else if (
      (status >= 400 && status < 500) || status === 502 ||
      (status === 503 && answer.written === "no")
    ) {
      state = "refused";
    } else {
      state = "unknown";
    }
    for (const k of requestKeys) keys.set(k, state);
  }

  // --- checks -----------------------------------------------------------------------------------
  let checks = 0;
  let checking: Promise<void> | undefined;
  let last = {
    lost: 0,
    duplicated: 0,
    refusedButWritten: 0,
    unreadable: 0,
    latestVersion: -1,
  };

  async function check(why: string): Promise<void> {
    if (checking) return await checking;
    checking = (async () => {
      // Sets as of now: what is acked now was committed before the log is read. Requests sent
      // after this point may be in the table already; only keys of earlier requests must be known.
      const requestsBefore = requestSeq;
      const acked = new Set<string>();
      const refused = new Set<string>();
      const unknown = new Set<string>();
      for (const [k, s] of keys) {
        if (s === "acked") acked.add(k);
        else if (s === "refused" || s === "poison") refused.add(k);
        else unknown.add(k);
      }
      checks++;
      const report = await checkInvariants(access, {
        keyColumn: "key",
        acked,
        refused,
        unknown,
        nowMs: Date.now(),
        retentionMs: RETENTION_MS,
      });
      last = {
        lost: Math.max(last.lost, report.lost.length),
        duplicated: Math.max(last.duplicated, report.duplicated.length),
        refusedButWritten: Math.max(last.refusedButWritten, report.refusedButWritten.length),
        unreadable: Math.max(last.unreadable, report.unreadable.length),
        latestVersion: report.latestVersion,
      };
      const bad: string[] = [];
      if (report.lost.length) bad.push(`lost ${report.lost.slice(0, 5).join(",")}`);
      if (report.duplicated.length) {
        bad.push(`duplicated ${report.duplicated.slice(0, 5).join(",")}`);
      }
      if (report.refusedButWritten.length) {
        bad.push(`refused but written ${report.refusedButWritten.slice(0, 5).join(",")}`);
      }
      if (report.unreadable.length) {
        bad.push(`unreadable ${report.unreadable.slice(0, 3).join("; ")}`);
      }
      if (report.gaps.length) bad.push(`version gaps ${report.gaps.slice(0, 5).join(",")}`);
      const unexpected = report.unexpected.filter((k) => {
        const id = /^r(\d+)-/.exec(k)?.[1];
        return id === undefined || Number(id) < requestsBefore;
      });
      if (unexpected.length) bad.push(`rows nobody sent ${unexpected.slice(0, 5).join(",")}`);
      if (report.nullKeys) bad.push(`${report.nullKeys} rows without a key`);
      if (report.missingFiles.length) {
        bad.push(
          `missing files ${
            report.missingFiles.slice(0, 3).map((m) => `v${m.version}:${m.path}`).join(", ")
          }`,
        );
      }
      note(
        `check ${checks} (${why}): version ${report.latestVersion}, ${acked.size} acked${
          bad.length ? ` — VIOLATION ${bad.join("; ")}` : ""
        }`,
      );
      for (const b of bad) violations.push(`check ${checks} (${why}): ${b}`);
    })().finally(() => (checking = undefined));
    return await checking;
  }

  // --- stuck tables -----------------------------------------------------------------------------
  let stuckMs = 0;
  const stuckSince = new Map<Proc, number>();
  async function pollStuck(): Promise<void> {
    for (const e of edges) {
      if (!e.alive) {
        stuckSince.delete(e);
        continue;
      }
      try {
        const res = await fetch(`http://127.0.0.1:${e.port}/healthz`, {
          signal: AbortSignal.timeout(1_000),
        });
        const health = await res.json() as { status?: string };
        if (health.status === "stuck") {
          const since = stuckSince.get(e) ?? Date.now();
          stuckSince.set(e, since);
          stuckMs = Math.max(stuckMs, Date.now() - since);
        } else stuckSince.delete(e);
      } catch {
        stuckSince.delete(e);
      }
    }
  }

  // --- the run ----------------------------------------------------------------------------------
  const result = (): ChaosReport => ({
    seed: options.seed,
    seconds: options.seconds,
    protocol: options.protocol,
    faults,
    acked: [...keys.values()].filter((s) => s === "acked").length,
    lost: last.lost,
    duplicated: last.duplicated,
    refusedButWritten: last.refusedButWritten,
    unreadable: last.unreadable,
    stuckMs,
    requests,
    unknown: [...keys.values()].filter((s) => s === "unknown" || s === "inflight").length,
    refused: [...keys.values()].filter((s) => s === "refused").length,
    checks,
    latestVersion: last.latestVersion,
    answers,
    clients: clients.map((c) => c.metrics()).reduce((sum, m) => ({
      committedEvents: sum.committedEvents + m.committedEvents,
      gaveUpEvents: sum.gaveUpEvents + m.gaveUpEvents,
      retries: sum.retries + m.retries,
      duplicates: sum.duplicates + m.duplicates,
      sequenceResets: sum.sequenceResets + m.sequenceResets,
      producerRenewals: sum.producerRenewals + m.producerRenewals,
    }), {
      committedEvents: 0,
      gaveUpEvents: 0,
      retries: 0,
      duplicates: 0,
      sequenceResets: 0,
      producerRenewals: 0,
    }),
    violations,
  });

  try {
    note(
      `starting ${options.protocol} run, seed ${options.seed}, ${options.seconds} s, dir ${dir}`,
    );
    // The first runner creates the table; the others find it.
    await start(runners[0]!);
    for (const p of [...runners.slice(1), ...edges]) await start(p);
    note("all processes healthy");

    const endMs = Date.now() + options.seconds * 1000;
    const perSecond = options.requestsPerSecond ?? 30;
    const traffic = (async () => {
      let next = Date.now();
      while (Date.now() < endMs) {
        // Open loop: requests leave on schedule whatever the answers do.
        const p = sendRequest().catch((e) => {
          violations.push(`client error: ${(e as Error).message}`);
        });
        outstanding.add(p);
        void p.finally(() => outstanding.delete(p));
        next += 1000 / perSecond;
        await sleep(Math.max(0, next - Date.now()));
      }
    })();
    const poller = (async () => {
      while (Date.now() < endMs + REQUEST_TIMEOUT_MS) {
        await pollStuck();
        await sleep(250);
      }
    })();
    const scheduleRng = rng.fork(2);
    const scheduler = (async () => {
      await sleep(scheduleRng.int(1_000, 3_000));
      while (Date.now() < endMs - 2_000) {
        const all = [...runners, ...edges].filter((p) => p.alive && !restarting.has(p));
        if (all.length > 0) {
          const p = scheduleRng.pick(all);
          const clockBack = p.role === "edge" || scheduleRng.chance(0.3);
          note(`SIGKILL ${procName(p)}${clockBack ? "; it restarts with its clock 1 h back" : ""}`);
          faults.kill++;
          await kill(p);
          await sleep(scheduleRng.int(100, 1_500));
          if (clockBack) faults.clock++;
          try {
            await startRetrying(p, clockBack ? -3_600_000 : 0);
          } catch (e) {
            violations.push(`cannot restart ${procName(p)}: ${(e as Error).message}`);
          }
          await check(`after restart of ${procName(p)}`);
        }
        await sleep(scheduleRng.int(2_000, 5_000));
      }
    })();
    await Promise.all([traffic, scheduler]);
    note("traffic stopped; waiting for the answers");
    while (outstanding.size > 0) await Promise.race([...outstanding]);
    await poller;
    await check("after the traffic");
    finishing = true;
    for (const p of edges) await stopGracefully(p);
    for (const p of runners) await stopGracefully(p);
    await check("after shutdown");
    if (stuckMs > STUCK_LIMIT_MS) {
      violations.push(`a table was stuck ${stuckMs} ms, beyond the retry cap ${STUCK_LIMIT_MS}`);
    }
    for (const [kind, n] of Object.entries(faults)) {
      if (n === 0 && options.seconds >= 60) violations.push(`no ${kind} fault was injected`);
    }
  } catch (e) {
    violations.push(`harness: ${(e as Error).stack ?? String(e)}`);
  } finally {
    finishing = true;
    for (const p of [...edges, ...runners]) await kill(p).catch(() => {});
    await cleanupStorage();
  }
  if (violations.length === 0) await Deno.remove(dir, { recursive: true }).catch(() => {});
  else {
    log(`run failed; its directory is kept: ${dir}`);
    await keepEvidence(dir, access, logLines).then(
      () => log(`evidence kept in ${dir}: processes.log, objects.tsv, delta_log/`),
      (e) => log(`cannot keep the evidence: ${(e as Error).message}`),
    );
    for (const p of [...runners, ...edges]) {
      if (p.stderrTail.length) {
        log(`--- last stderr of ${procName(p)}:\n${p.stderrTail.slice(-10).join("\n")}`);
      }
    }
    log(`--- trace up to the failure:\n${trace.join("\n")}`);
  }
  return result();
}

/**
 * Keep what a failed run leaves for its diagnosis in `dir`: `processes.log` (every stderr line of
 * every process, stamped), `objects.tsv` (every object of the table: path, size, modification
 * time) and a copy of `_delta_log/` under `delta_log/` (an S3 table is gone with its server).
 */
async function keepEvidence(dir: string, access: TableAccess, logLines: string[]): Promise<void> {
  await Deno.writeTextFile(join(dir, "processes.log"), logLines.join("\n") + "\n");
  const objects = await access.list("");
  await Deno.writeTextFile(
    join(dir, "objects.tsv"),
    objects.map((o) => `${o.path}\t${o.size}\t${new Date(o.lastModifiedMs).toISOString()}`)
      .join("\n") + "\n",
  );
  await Deno.mkdir(join(dir, "delta_log"), { recursive: true });
  for (const o of objects) {
    if (!o.path.startsWith("_delta_log/")) continue;
    const bytes = await access.get(o.path);
    if (bytes) {
      await Deno.writeFile(join(dir, "delta_log", o.path.slice("_delta_log/".length)), bytes);
    }
  }
}

/** Re-export for the CLI: a random seed when none is given. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! % 1_000_000_000;
}

/** For tests of the harness itself. */
export { createRng, type Rng };
