/**
 * The batch runner's HTTP intake: a Hono app that implements the edge-to-runner wire contract
 * (docs/design.md section 4, `edge/wire.ts`) over one committer per table (`committer.ts`).
 *
 * `POST /v1/tables/{table}/batches` — body an Arrow IPC stream
 * (`application/vnd.apache.arrow.stream`), headers `x-lakestrike-producer`, `x-lakestrike-seq` and
 * `authorization: Bearer <runner token>`. Checked in this order, errors as JSON `{error, detail}`:
 *
 * | status | error | when |
 * |---|---|---|
 * | 401 | `unauthorized` | no bearer token, or not the runner token (compared in constant time) |
 * | 404 | `unknown_table` | the table is not configured |
 * | 415 | `unsupported_media_type` | content type is not an Arrow IPC stream |
 * | 400 | `invalid_header` | producer missing, longer than 256 or with control characters; seq not a non-negative safe integer |
 * | 413 | `payload_too_large` | body over `requestBodyBytesMax` (Hono `bodyLimit`) |
 * | 400 | `malformed_body` | empty body or not an Arrow IPC stream |
 * | 409 | `sequence_conflict` | seq below the producer's committed one and not known as a retry (carries `committedSeq`) |
 * | 409 | `sequence_gap` | a client producer's seq beyond its committed one + 1, checked on a fresh load of the table (carries `committedSeq`; ADR 0037) |
 * | 422 | `schema_mismatch` | the batch (after `transformBatch`) does not fit the table schema; names the column |
 * | 422 | `transform_rejected` | a `transformBatch` hook threw a schema or argument error |
 * | 422 | `commit_rejected` | a `beforeCommit` hook rejected the group (final; a hook timeout is 503) |
 * | 422 | `write_rejected`, `no_writer` | writing failed in a way every retry meets again (a name the storage refuses, an invalid value), or no writer answered |
 * | 429 | `buffer_full` | the table's queue is full (`Retry-After: 1`) |
 * | 500 | `write_failed`, `transform_failed`, `internal` | a plugin failed (transient for the edge) |
 * | 503 | `table_unavailable`, `commit_failed`, `commit_conflict`, `schema_changed`, `commit_rejected` (hook timeout), `earlier_batch_failed`, `closing`, `timeout` | not committed (or, for `timeout`, not yet known): retry with the same seq |
 *
 * Every error body also carries `written`: `"no"` when the batch was certainly not committed,
 * `"unknown"` when it may have been (a commit whose outcome is unknown, a timeout, an internal
 * error).
 *
 * `200 {"version": N, "rows": R}` comes after the commit file is durable. A retry of a committed
 * batch (its seq is the producer's committed seq, or one this runner remembers committing) is
 * answered `200 {"version", "rows", "duplicate": true}` with a version at which it is visible, and
 * is not written again (sequence rules: `committer.ts`, ADR 0022). `afterCommit` hooks
 * (checkpoints) run after the answer.
 *
 * The intake decodes the body, runs `transformBatch` and validates the result against the table
 * schema before the batch joins a commit group, so one bad batch never fails the others.
 *
 * `GET /healthz` and `GET /metrics` need no token: they are for the orchestrator and Prometheus on
 * the runner's private network and reveal only table names, versions and counters. `/healthz`
 * answers `200 {"status": "ok" | "closing", "tables": {name: {version, depth, inFlight,
 * afterCommitPending, lastError?}}}`; `/metrics` answers the Prometheus text format
 * (`runner_metrics.ts` lists the metrics).
 *
 * @module
 */
import type * as arrow from "apache-arrow";
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { timeout } from "hono/timeout";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type Clock, systemClock } from "../../core/clock.ts";
import { isLakestrikeError } from "../../core/errors.ts";
import { intAtLeast, section, type z } from "../../config/section_schema.ts";
import type { ObjectStorage } from "../../core/storage/storage.ts";
import type { Snapshot } from "../../core/snapshot/snapshot.ts";
import { decodeArrowIpc } from "../../core/arrow/decode_arrow_ipc.ts";
import { validateBatch } from "../../core/write/validate_batch.ts";
import {
  ARROW_STREAM_CONTENT_TYPE,
  digestsEqual,
  NEXT_COMMIT_HEADER,
  PRODUCER_HEADER,
  SEQ_HEADER,
  tokenDigest,
} from "../../edge/wire.ts";
import { PluginHookError } from "../../plugins/errors.ts";
import { noopLogger } from "../../plugins/logger.ts";
import type { PluginRegistry } from "../../plugins/registry.ts";
import type { Logger, WriteContext } from "../../plugins/types.ts";
import {
  type CommittedVersion,
  type Committer,
  COMMITTER_LIMITS_DEFAULT,
  type CommitterLimits,
  type CommitterStats,
  createCommitter,
  type RunnerCommitOptions,
  staleOutcome,
} from "./committer.ts";
import { gapOutcome } from "./client_producers.ts";
import { ACK_SLA_MS_DEFAULT, type AckSla, bucketsWithSlas, createAckSla } from "./ack_sla.ts";
import { LATENCY_BUCKETS_SECONDS, PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
import { createRunnerMetrics, type RunnerMetrics } from "./runner_metrics.ts";

/** One table the runner commits to. */
export interface RunnerTable {
  /** Storage scoped to the table root (the table must exist: `createTable` first). */
  storage: ObjectStorage;
  /** The table's URI, as plugins see it (`ctx.table.uri`). */
  uri: string;
  /** Passed through to every `commitActions` call (commit protocol, `maxAttempts`). */
  commitOptions?: RunnerCommitOptions;
  /**
   * Ceiling on the table's commits per second (default `COMMITS_PER_SECOND_MAX_DEFAULT`, 40):
   * a group that would start sooner waits, and what arrives meanwhile joins it (ADR 0031).
   */
  commitsPerSecondMax?: number;
  /** Acknowledgement SLA in ms (default `ACK_SLA_MS_DEFAULT`, 250; `ack_sla.ts`, ADR 0040). */
  ackSlaMs?: number;
  /**
   * The table as its opener just loaded it: the committer starts from it instead of loading the
   * table again (a second load at start was a second chance for a storage fault to end the runner).
   */
  snapshot?: Snapshot;
}

/** Limits of the runner: the intake's plus each committer's. */
export interface RunnerLimits extends CommitterLimits {
  /** Largest request body in bytes. */
  requestBodyBytesMax: number;
  /** Time from arrival to answer; past it the answer is 503 `timeout` (the batch may still commit). */
  requestTimeoutMs: number;
}

/** Default {@linkcode RunnerLimits}. */
export const RUNNER_LIMITS_DEFAULT: Readonly<RunnerLimits> = Object.freeze({
  ...COMMITTER_LIMITS_DEFAULT,
  requestBodyBytesMax: 32 * 1024 * 1024,
  requestTimeoutMs: 30_000,
});

/**
 * The `runner.limits` section of the config, declared by its owner: every limit of
 * {@linkcode RUNNER_LIMITS_DEFAULT} by name, an integer >= 1 (`conflictRetriesMax` >= 0).
 */
export const RUNNER_LIMITS_SECTION = section(
  Object.fromEntries(
    Object.keys(RUNNER_LIMITS_DEFAULT).map((
      key,
    ) => [key, intAtLeast(key === "conflictRetriesMax" ? 0 : 1).optional()]),
  ) as Record<keyof RunnerLimits, z.ZodOptional<z.ZodInt>>,
  (_, known) => `unknown limit (known: ${known.join(", ")})`,
);

/** Longest accepted `x-lakestrike-producer`. */
export const PRODUCER_LENGTH_MAX = 256;

/** Dependencies of {@linkcode createRunner}. */
export interface RunnerDeps {
  /** Tables by name. */
  tables: ReadonlyMap<string, RunnerTable> | Readonly<Record<string, RunnerTable>>;
  /**
   * Frozen plugin registry with at least one `writeFiles` handler (e.g. `writerPlugin()`). Its
   * owner runs `runSetup` before the first request and `dispose` after {@linkcode Runner.close}.
   */
  registry: PluginRegistry;
  /** The bearer token edges must send. */
  runnerToken: string;
  /** Default the system clock. */
  clock?: Clock;
  /** Overrides of {@linkcode RUNNER_LIMITS_DEFAULT}. */
  limits?: Partial<RunnerLimits>;
  /** Default: drops everything. */
  logger?: Logger;
  /** Where the metrics live; default a fresh set. */
  metrics?: RunnerMetrics;
  /**
   * Told of every version a table's committer writes, after its answers (the maintenance
   * scheduler's compaction trigger, `maintenance_scheduler.ts`); it must only take note.
   */
  onCommitted?: (table: string, commit: CommittedVersion) => void;
}

/** State of one table of the runner. */
export type RunnerTableStats = CommitterStats;

/** The runner: its Hono app and its lifecycle. */
export interface Runner {
  /** The HTTP app; serve it with `Deno.serve(runner.app.fetch)` or test it with `app.request`. */
  readonly app: Hono;
  /** The runner's metrics (`metrics.registry.render()` is what `GET /metrics` answers). */
  readonly metrics: RunnerMetrics;
  /** Load every table's snapshot now; rejects when one cannot be loaded (e.g. it does not exist). */
  ready(): Promise<void>;
  /** State of a table, `undefined` for an unknown name. */
  tableStats(table: string): RunnerTableStats | undefined;
  /** The in-memory snapshot of a table (loaded on first use), `undefined` for an unknown name. */
  tableSnapshot(table: string): Promise<Snapshot> | undefined;
  /** The tables' acknowledgement SLAs: answers within and over, rolling quantiles, warnings. */
  readonly ackSla: AckSla;
  /** Refuse new batches (503), commit the queued ones and wait for afterCommit hooks. */
  close(): Promise<void>;
}

type Env = { Variables: { committer: Committer; tableName: string; startMs: number } };

function errorResponse(status: ContentfulStatusCode, error: string, detail: string): Response {
  return Response.json({ error, detail, written: "unknown" }, { status });
}

/**
 * An error answer. `written` tells the edge whether the batch may have been committed all the same:
 * `"no"` unless the caller knows the outcome is unknown.
 */
function errorBody(
  c: Context,
  status: ContentfulStatusCode,
  error: string,
  detail: string,
  extra: { written?: "no" | "unknown"; committedSeq?: number } = {},
): Response {
  return c.json({ error, detail, written: "no", ...extra }, status);
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const SEQ_RE = /^\d{1,16}$/;

function checkLimits(limits: RunnerLimits): void {
  for (const [key, v] of Object.entries(limits)) {
    const zeroOk = key === "conflictRetriesMax";
    if (!Number.isSafeInteger(v) || v < (zeroOk ? 0 : 1)) {
      throw new RangeError(`Cannot create the runner: limit ${key} must be a positive integer`);
    }
  }
}

/**
 * Create the batch runner.
 *
 * @throws {RangeError} on a limit that is not a positive integer
 * @throws {TypeError} on an empty token, no tables, or a registry that is not frozen or has no
 * `writeFiles` handler
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { createArrowTable } from "../../core/parquet/create_arrow_table.ts";
 * import { createMemoryStorage } from "../../core/storage/memory.ts";
 * import { createTable } from "../../core/write/create_table.ts";
 * import { createPluginRegistry } from "../../plugins/registry.ts";
 * import { writerPlugin } from "../../plugins/writer/mod.ts";
 * import { createRunner } from "./runner.ts";
 * const storage = createMemoryStorage();
 * const schema = {
 *   type: "struct" as const,
 *   fields: [{ name: "n", type: "long" as const, nullable: true, metadata: {} }],
 * };
 * await createTable(storage, { schema });
 * const runner = createRunner({
 *   tables: { events: { storage, uri: "memory://events" } },
 *   registry: createPluginRegistry([writerPlugin()]).freeze(),
 *   runnerToken: "secret",
 * });
 * const res = await runner.app.request("/v1/tables/events/batches", {
 *   method: "POST",
 *   headers: {
 *     authorization: "Bearer secret",
 *     "content-type": "application/vnd.apache.arrow.stream",
 *     "x-lakestrike-producer": "edge-1",
 *     "x-lakestrike-seq": "1",
 *   },
 *   body: arrow.tableToIPC(createArrowTable(schema, [{ n: 1 }, { n: 2 }]), "stream") as BodyInit,
 * });
 * const body = await res.json();
 * if (res.status !== 200 || body.version !== 1 || body.rows !== 2) throw new Error("not committed");
 * await runner.close();
 * ```
 */
export function createRunner(deps: RunnerDeps): Runner {
  const limits: RunnerLimits = { ...RUNNER_LIMITS_DEFAULT };
  for (const [key, v] of Object.entries(deps.limits ?? {})) {
    if (v !== undefined) (limits as unknown as Record<string, number>)[key] = v;
  }
  checkLimits(limits);
  if (typeof deps.runnerToken !== "string" || deps.runnerToken === "") {
    throw new TypeError("Cannot create the runner: runnerToken must be a non-empty string");
  }
  if (!deps.registry.frozen) {
    throw new TypeError("Cannot create the runner: freeze() the plugin registry first");
  }
  if (deps.registry.hookOrder("writeFiles").length === 0) {
    throw new TypeError(
      "Cannot create the runner: no plugin has a writeFiles hook (register writerPlugin())",
    );
  }
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? noopLogger;
  const registry = deps.registry;
  const shutdown = new AbortController();
  const tableEntries = deps.tables instanceof Map
    ? [...deps.tables]
    : Object.entries(deps.tables as Record<string, RunnerTable>);
  if (tableEntries.length === 0) throw new TypeError("Cannot create the runner: no tables");
  const slas = Object.fromEntries(
    tableEntries.map(([n, t]) => [n, t.ackSlaMs ?? ACK_SLA_MS_DEFAULT]),
  );
  const metrics = deps.metrics ?? createRunnerMetrics(undefined, {
    ackLatencyBucketsSeconds: bucketsWithSlas(LATENCY_BUCKETS_SECONDS, Object.values(slas)),
  });
  const ackSla = createAckSla({ tables: slas, metrics, logger, nowMs: () => clock.nowMs() });
  const committers = new Map<string, Committer>();
  for (const [name, t] of tableEntries) {
    const ceiling = t.commitsPerSecondMax;
    if (ceiling !== undefined && !(Number.isFinite(ceiling) && ceiling > 0)) {
      throw new RangeError(
        `Cannot create the runner: commitsPerSecondMax of table ${name} must be a positive number, got ${ceiling}`,
      );
    }
    const table = {
      name,
      uri: t.uri,
      storage: t.storage,
      ...(t.commitOptions === undefined ? {} : { commitOptions: t.commitOptions }),
      ...(ceiling === undefined ? {} : { commitsPerSecondMax: ceiling }),
      ...(t.snapshot === undefined ? {} : { initialSnapshot: t.snapshot }),
    };
    committers.set(
      name,
      createCommitter({
        table,
        registry,
        clock,
        logger,
        limits,
        metrics,
        signal: shutdown.signal,
        ...(deps.onCommitted ? { onCommitted: (c) => deps.onCommitted!(name, c) } : {}),
      }),
    );
  }
  const runnerTokenDigest = tokenDigest(deps.runnerToken);
  let closing = false;

  const app = new Hono<Env>();

  app.onError((e, c) => {
    if (e instanceof HTTPException) return e.getResponse();
    logger.error("Request failed", { path: c.req.path, error: String(e) });
    return errorBody(c, 500, "internal", String(e), { written: "unknown" });
  });
  app.notFound((c) => errorBody(c, 404, "not_found", `Cannot ${c.req.method} ${c.req.path}`));

  app.get("/healthz", (c) => {
    const tables: Record<string, RunnerTableStats> = {};
    for (const [name, committer] of committers) tables[name] = committer.stats();
    return c.json({ status: closing ? "closing" : "ok", tables });
  });

  app.get("/metrics", (c) => {
    for (const [name, committer] of committers) {
      metrics.bufferDepth.set({ table: name }, committer.stats().depth);
    }
    return c.body(metrics.registry.render(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE });
  });

  const countStatus: MiddlewareHandler<Env> = async (c, next) => {
    c.set("startMs", clock.nowMs());
    await next();
    metrics.requests.inc({ status: String(c.res.status) });
    if (c.res.status >= 400) await countError(c);
  };

  /** Errors by code and table, for the dashboard; labels stay bounded (codes, configured tables). */
  async function countError(c: Context<Env>): Promise<void> {
    const name = c.req.param("table") ?? "";
    let error = "unknown";
    try {
      const body = await c.res.clone().json() as { error?: unknown };
      if (typeof body.error === "string" && /^[a-z_]{1,40}$/.test(body.error)) error = body.error;
    } catch { /* not a JSON error body */ }
    metrics.errors.inc({ table: committers.has(name) ? name : "", error });
  }

  const authenticate: MiddlewareHandler<Env> = async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (m === null) {
      return errorBody(c, 401, "unauthorized", "Cannot accept batch: no bearer token");
    }
    if (!digestsEqual(await tokenDigest(m[1]!), await runnerTokenDigest)) {
      return errorBody(c, 401, "unauthorized", "Cannot accept batch: wrong bearer token");
    }
    await next();
  };

  const checkRequest: MiddlewareHandler<Env> = async (c, next) => {
    const name = c.req.param("table") ?? "";
    const committer = committers.get(name);
    if (committer === undefined) {
      return errorBody(c, 404, "unknown_table", `Cannot accept batch: unknown table ${name}`);
    }
    const type = mediaType(c.req.header("content-type"));
    if (type !== ARROW_STREAM_CONTENT_TYPE) {
      return errorBody(
        c,
        415,
        "unsupported_media_type",
        `Cannot accept batch: content type must be ${ARROW_STREAM_CONTENT_TYPE}, not ${
          type || "missing"
        }`,
      );
    }
    const producer = c.req.header(PRODUCER_HEADER);
    if (
      producer === undefined || producer === "" || producer.length > PRODUCER_LENGTH_MAX ||
      CONTROL_RE.test(producer)
    ) {
      return errorBody(
        c,
        400,
        "invalid_header",
        `Cannot accept batch: ${PRODUCER_HEADER} must be 1 to ${PRODUCER_LENGTH_MAX} printable characters`,
      );
    }
    const seqText = c.req.header(SEQ_HEADER) ?? "";
    if (!SEQ_RE.test(seqText) || !Number.isSafeInteger(Number(seqText))) {
      return errorBody(
        c,
        400,
        "invalid_header",
        `Cannot accept batch: ${SEQ_HEADER} must be a non-negative integer, not ${
          JSON.stringify(seqText)
        }`,
      );
    }
    c.set("committer", committer);
    c.set("tableName", name);
    await next();
  };

  const limitBody = bodyLimit({
    maxSize: limits.requestBodyBytesMax,
    onError: (c) =>
      errorBody(
        c,
        413,
        "payload_too_large",
        `Cannot accept batch: body over ${limits.requestBodyBytesMax} bytes`,
      ),
  });

  const limitTime = timeout(limits.requestTimeoutMs, () =>
    new HTTPException(503, {
      res: errorResponse(
        503,
        "timeout",
        `Cannot answer within ${limits.requestTimeoutMs} ms; the batch may still commit: retry with the same seq`,
      ),
    }));

  function pluginContext(name: string, snapshot: Snapshot): WriteContext {
    const t = tableEntries.find(([n]) => n === name)![1];
    return {
      table: { name, uri: t.uri },
      snapshot,
      storage: t.storage,
      clock,
      signal: shutdown.signal,
      limits: { ...limits },
      logger,
      operation: "write",
      dryRun: false,
    };
  }

  app.post(
    "/v1/tables/:table/batches",
    countStatus,
    authenticate,
    checkRequest,
    limitTime,
    limitBody,
    async (c) => {
      const committer = c.get("committer");
      const name = c.get("tableName");
      const producer = c.req.header(PRODUCER_HEADER)!;
      const seq = Number(c.req.header(SEQ_HEADER));
      const body = new Uint8Array(await c.req.arrayBuffer());
      if (body.length === 0) {
        return errorBody(c, 400, "malformed_body", "Cannot read batch: the body is empty");
      }
      let batch: arrow.Table;
      try {
        // Metadata and buffers checked (the edge's check, repeated): decodeArrowIpc, not tableFromIPC.
        batch = decodeArrowIpc(body);
        // Bytes without a schema message read as a table of no columns: not a batch.
        if (batch.schema.fields.length === 0) throw new Error("no schema message");
      } catch (e) {
        return errorBody(
          c,
          400,
          "malformed_body",
          `Cannot read batch: not an Arrow IPC stream (${(e as Error).message})`,
        );
      }
      if (closing) {
        return errorBody(c, 503, "closing", "Cannot accept batch: the runner is shutting down");
      }
      let snapshot;
      try {
        snapshot = await committer.snapshot();
      } catch (e) {
        return errorBody(c, 503, "table_unavailable", (e as Error).message);
      }
      let status = committer.seqStatus(producer, seq);
      // A client's gap may be this runner's stale view: look at the table again (ADR 0037).
      if (status.kind === "gap") status = await committer.freshSeqStatus(producer, seq);
      if (status.kind === "duplicate") {
        metrics.batches.inc({ table: name, outcome: "duplicate" });
        ackSla.observe(name, clock.nowMs() - c.get("startMs"));
        return c.json({ version: status.version, rows: batch.numRows, duplicate: true });
      }
      if (status.kind === "stale" || status.kind === "gap") {
        metrics.batches.inc({ table: name, outcome: "rejected" });
        const stale = status.kind === "gap"
          ? gapOutcome({ producer, seq }, status.committedSeq)
          : staleOutcome({ producer, seq }, status.committedSeq);
        return errorBody(c, 409, stale.error, stale.detail, {
          committedSeq: status.committedSeq,
        });
      }
      let valid: arrow.Table;
      try {
        const transformed = await registry.runTransformBatch(
          batch,
          pluginContext(name, snapshot),
        );
        valid = validateBatch(transformed, snapshot.schema, {
          partitionColumns: snapshot.metadata.partitionColumns,
        });
      } catch (e) {
        if (isLakestrikeError(e, "SCHEMA_MISMATCH")) {
          metrics.batches.inc({ table: name, outcome: "rejected" });
          return errorBody(c, 422, "schema_mismatch", e.message);
        }
        if (
          e instanceof PluginHookError && e.failure === "threw" &&
          (isLakestrikeError(e.cause, "SCHEMA_MISMATCH") ||
            isLakestrikeError(e.cause, "INVALID_ARGUMENT"))
        ) {
          metrics.batches.inc({ table: name, outcome: "rejected" });
          return errorBody(c, 422, "transform_rejected", e.message);
        }
        metrics.batches.inc({ table: name, outcome: "failed" });
        return errorBody(c, 500, "transform_failed", (e as Error).message);
      }
      const outcome = await committer.submit({ producer, seq, batch: valid, bytes: body.length });
      if (!outcome.ok) {
        if (outcome.status === 429) c.header("retry-after", "1");
        return errorBody(c, outcome.status, outcome.error, outcome.detail, {
          written: outcome.written,
          ...(outcome.committedSeq === undefined ? {} : { committedSeq: outcome.committedSeq }),
        });
      }
      ackSla.observe(name, clock.nowMs() - c.get("startMs"));
      // The ceiling's pace, so an edge holds its next batch rather than send it to wait here.
      const nextCommitInMs = committer.nextCommitInMs();
      if (nextCommitInMs > 0) c.header(NEXT_COMMIT_HEADER, String(nextCommitInMs));
      return c.json(
        outcome.duplicate
          ? { version: outcome.version, rows: outcome.rows, duplicate: true }
          : { version: outcome.version, rows: outcome.rows },
      );
    },
  );

  return {
    app: app as unknown as Hono,
    metrics,
    async ready() {
      await Promise.all([...committers.values()].map((c) => c.snapshot()));
    },
    tableStats: (table) => committers.get(table)?.stats(),
    tableSnapshot: (table) => committers.get(table)?.snapshot(),
    ackSla,
    async close() {
      closing = true;
      await Promise.all([...committers.values()].map((c) => c.close()));
      shutdown.abort(new Error("the runner is closed"));
    },
  };
}
