/**
 * Fault injection inside a runner process of the chaos run, installed before the runner starts
 * (`runner_child.ts`). Nothing here is part of the service: it wraps, from outside, the calls the
 * storage backends and the DynamoDB log store make — `Deno.link`/`rename`/`remove`/`readFile` and
 * the `Deno.open`/`openSync` that creates a file (a data file written in place by an `atomic: false`
 * put, or a temp file) for the local disk, `S3Client.send` and `DynamoDBClient.send` for S3 and
 * DynamoDB — and, chosen by a seeded random source, makes a call
 *
 * * fail before it takes effect (`error`),
 * * take effect and then fail, as a lost answer (`lost`),
 * * wait up to `slowMsMax` first (`slow`),
 * * or, right after a data file was written, kill the process with SIGKILL (`kill`): the crash
 *   between a data-file write and its commit.
 *
 * Each injected fault is reported on stderr as one line `chaos-fault {"kind","op","target"}` (written
 * synchronously, so a kill's line is out before the process dies); the orchestrator counts them.
 *
 * @module
 */
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createRng, type Rng } from "./rng.ts";

/** What to inject, and how often (probabilities per call). */
export interface FaultPlan {
  seed: number;
  errorRate: number;
  lostRate: number;
  slowRate: number;
  slowMsMax: number;
  /** Probability of SIGKILL right after a data file was written. */
  killAfterDataRate: number;
}

/** What a storage call touches, from its path or key. */
export type FaultTarget =
  | "data"
  | "commit"
  | "checkpoint"
  | "last_checkpoint"
  | "log_other"
  | "dynamodb"
  | "other";

/** Classifies a path or key of a table's storage. */
export function classifyTarget(path: string): FaultTarget {
  const log = path.lastIndexOf("_delta_log/");
  if (log < 0) return path.endsWith(".parquet") ? "data" : "other";
  const name = path.slice(log + "_delta_log/".length);
  if (/^\d{20}\.json$/.test(name)) return "commit";
  if (name.includes(".checkpoint")) return "checkpoint";
  if (name === "_last_checkpoint") return "last_checkpoint";
  return "log_other";
}

const encoder = new TextEncoder();

function report(kind: string, op: string, target: string): void {
  const line = `chaos-fault ${JSON.stringify({ kind, op, target })}\n`;
  try {
    Deno.stderr.writeSync(encoder.encode(line));
  } catch {
    // stderr closed: the orchestrator is gone
  }
}

/** An error as a storage call that failed would throw it. */
class InjectedFault extends Error {
  readonly $metadata = { httpStatusCode: 500 };
  constructor(what: string) {
    super(`chaos: injected ${what}`);
    this.name = "InternalError";
  }
}

/** What happens to one call, decided by one draw of the seeded source. */
type Fate = "error" | "lost" | "slow" | "pass";

function fateOf(rng: Rng, plan: FaultPlan): Fate {
  const r = rng.next();
  if (r < plan.errorRate) return "error";
  if (r < plan.errorRate + plan.lostRate) return "lost";
  if (r < plan.errorRate + plan.lostRate + plan.slowRate) return "slow";
  return "pass";
}

/** After a data file's put, kills the process with the plan's chance: the crash before a commit. */
function maybeKillAfterDataPut(rng: Rng, plan: FaultPlan, op: string, target: FaultTarget): void {
  if (target === "data" && /put/i.test(op) && rng.chance(plan.killAfterDataRate)) {
    report("kill", `${op}:after-data-write`, target);
    Deno.kill(Deno.pid, "SIGKILL");
  }
}

function wrap<A extends unknown[], R>(
  rng: Rng,
  plan: FaultPlan,
  describe: (...args: A) => { op: string; target: FaultTarget },
  real: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async function (this: unknown, ...args: A): Promise<R> {
    const { op, target } = describe(...args);
    const call = () => real.apply(this, args);
    if (target === "other") return await call();
    const fate = fateOf(rng, plan);
    if (fate === "error") {
      report("storage", `${op}:error`, target);
      throw new InjectedFault(`error on ${op}`);
    }
    if (fate === "lost") {
      await call();
      report("storage", `${op}:lost`, target);
      throw new InjectedFault(`lost answer of ${op}`);
    }
    if (fate === "slow") {
      report("storage", `${op}:slow`, target);
      await new Promise((res) => setTimeout(res, rng.int(1, plan.slowMsMax)));
    }
    const result = await call();
    maybeKillAfterDataPut(rng, plan, op, target);
    return result;
  };
}

/**
 * {@linkcode wrap} for a synchronous call (the local disk's open of a small file): an error, or a
 * lost answer (the call done, its file handle closed, then an error), or a kill after the call; a
 * synchronous call cannot be slowed without blocking the whole process, so a slow fate passes
 * unreported.
 */
function wrapSync<A extends unknown[], R>(
  rng: Rng,
  plan: FaultPlan,
  describe: (...args: A) => { op: string; target: FaultTarget },
  real: (...args: A) => R,
): (...args: A) => R {
  return function (this: unknown, ...args: A): R {
    const { op, target } = describe(...args);
    const call = () => real.apply(this, args);
    if (target === "other") return call();
    const fate = fateOf(rng, plan);
    if (fate === "error") {
      report("storage", `${op}:error`, target);
      throw new InjectedFault(`error on ${op}`);
    }
    if (fate === "lost") {
      (call() as { close?: () => void }).close?.();
      report("storage", `${op}:lost`, target);
      throw new InjectedFault(`lost answer of ${op}`);
    }
    const result = call();
    maybeKillAfterDataPut(rng, plan, op, target);
    return result;
  };
}

/** Installs the faults of `plan` into this process. Call once, before the runner starts. */
export function installFaults(plan: FaultPlan): void {
  const rng = createRng(plan.seed);
  const d = Deno as unknown as Record<string, unknown>;
  const on = (op: string, p: unknown) => ({ op, target: classifyTarget(String(p)) });
  // Local disk: put-if-absent links, put renames, delete removes, get reads.
  d.link = wrap(rng, plan, (_from: string, to: string) => on("put-if-absent", to), Deno.link);
  d.rename = wrap(rng, plan, (_from: string, to: string) => on("put", to), Deno.rename);
  d.remove = wrap(rng, plan, (p: string | URL) => on("delete", p), Deno.remove);
  d.readFile = wrap(rng, plan, (p: string | URL) => on("get", p), Deno.readFile);
  // A data file written in place is put by its create: the open with createNew (or truncate),
  // synchronous for a small file.
  const openOp = (p: string | URL, o?: Deno.OpenOptions) =>
    o?.createNew === true || o?.truncate === true
      ? on(o.createNew === true ? "put-if-absent" : "put", p)
      : { op: "open", target: "other" as const };
  d.open = wrap(rng, plan, openOp, Deno.open);
  d.openSync = wrapSync(rng, plan, openOp, Deno.openSync);
  // S3 and DynamoDB: every command goes through the client's send.
  const s3Send = S3Client.prototype.send as (...args: unknown[]) => Promise<unknown>;
  S3Client.prototype.send = wrap(rng, plan, (command: unknown) => {
    const input = (command as { input?: { Key?: string; Prefix?: string } }).input ?? {};
    const name = (command as object).constructor.name.replace(/Command$/, "");
    if (name === "ListObjectsV2") return on(`s3:${name}`, input.Prefix ?? "");
    if (name === "DeleteObjects") return { op: `s3:${name}`, target: "data" as const };
    return on(`s3:${name}`, input.Key ?? "");
  }, s3Send) as typeof S3Client.prototype.send;
  const ddbSend = DynamoDBClient.prototype.send as (...args: unknown[]) => Promise<unknown>;
  DynamoDBClient.prototype.send = wrap(rng, plan, (command: unknown) => ({
    op: `dynamodb:${(command as object).constructor.name.replace(/Command$/, "")}`,
    target: "dynamodb" as const,
  }), ddbSend) as typeof DynamoDBClient.prototype.send;
}
