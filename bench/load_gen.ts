/**
 * An open-loop load generator for the edge: posts requests of `--events` events at a fixed rate of
 * `--rate` events per second for `--seconds`, scheduled by the clock and never by answers (a slow
 * answer does not delay the next request, so latency is not hidden by coordinated omission).
 * Latency is measured from each request's *scheduled* send time to its answer. `--url` may name
 * several edges, separated by commas: requests go to them in turn, so one generator (and one set of
 * latencies) covers a service of several edges. Requests go over keep-alive HTTP/1.1 connections
 * written and read by `http1_client.ts` (`--client fetch` uses the runtime's `fetch`, which costs
 * the shared machine about 0.4 ms of CPU per request).
 *
 * Prints one JSON line on stdout:
 * `{rate, seconds, requests, events, acked, statuses, latencyMs: {p50, p90, p99, max}, ackedEventsPerS,
 * elapsedS, overloaded}`.
 *
 * ```sh
 * deno run -A bench/load_gen.ts --url http://127.0.0.1:8080 --token dev-token --rate 10000 --seconds 10
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { buildRequest, createHttp1Pool } from "./http1_client.ts";

/** Options of {@linkcode runLoad}. */
export interface LoadOptions {
  /** Edge base URL, or several separated by commas (requests go to them in turn). */
  url: string;
  /** Client bearer token. */
  token: string;
  /** Table name. */
  table: string;
  /** Events per second to offer. */
  rate: number;
  /** How long to offer them. */
  seconds: number;
  /** Events per request. */
  eventsPerRequest: number;
  /** Requests in flight at most; a request due beyond it is counted as `overloaded`, not sent. */
  inFlightMax: number;
  /**
   * The HTTP client: `http1` (default), keep-alive connections written and read by
   * `http1_client.ts`, or the runtime's `fetch` (about 0.4 ms of CPU per request, taken from the
   * service when they share a machine).
   */
  client?: "http1" | "fetch";
}

/** What {@linkcode runLoad} measured. */
export interface LoadResult {
  rate: number;
  seconds: number;
  requests: number;
  events: number;
  acked: number;
  statuses: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  ackedEventsPerS: number;
  elapsedS: number;
  overloaded: number;
}

/** The `q` quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Pre-built request bodies of the demo event schema (varied devices, today's date). */
function makeBodies(eventsPerRequest: number, count: number): string[] {
  const now = Date.now();
  const date = new Date(now).toISOString().slice(0, 10);
  return Array.from(
    { length: count },
    (_, b) =>
      JSON.stringify(Array.from({ length: eventsPerRequest }, (_, i) => ({
        ts: new Date(now + b * eventsPerRequest + i).toISOString(),
        device_id: `device-${(b * 31 + i) % 64}`,
        value_i: i,
        value_d: i / 8,
        payload: `bench event ${b}/${i}`,
        date,
      }))),
  );
}

/** Offers the load and waits for every answer. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const bodies = makeBodies(options.eventsPerRequest, 32);
  const intervalMs = 1000 * options.eventsPerRequest / options.rate;
  const total = Math.max(1, Math.floor(options.seconds * 1000 / intervalMs));
  const endpoints = options.url.split(",").map((u) =>
    `${u.trim().replace(/\/+$/, "")}/v1/tables/${options.table}/events`
  );
  const headers = {
    authorization: `Bearer ${options.token}`,
    "content-type": "application/json",
  };
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  let acked = 0;
  let overloaded = 0;
  let lastAnswerMs = 0;

  const client = options.client ?? "http1";
  const pools = client === "http1" ? endpoints.map((u) => createHttp1Pool(u)) : [];
  const encoded = bodies.map((b) => new TextEncoder().encode(b));
  const requests = client === "http1"
    ? endpoints.map((u) => encoded.map((b) => buildRequest(u, "POST", headers, b)))
    : [];
  const post = async (k: number): Promise<number> => {
    const e = k % endpoints.length;
    if (client === "http1") return (await pools[e]!.send(requests[e]![k % bodies.length]!)).status;
    const res = await fetch(endpoints[e]!, {
      method: "POST",
      headers,
      body: bodies[k % bodies.length]!,
    });
    await res.arrayBuffer();
    return res.status;
  };

  const send = (k: number, dueMs: number) => {
    const p = (async () => {
      let status = "error";
      try {
        const code = await post(k);
        status = String(code);
        if (code === 200) acked += options.eventsPerRequest;
      } catch {
        status = "network_error";
      }
      const now = performance.now();
      lastAnswerMs = Math.max(lastAnswerMs, now);
      latencies.push(now - dueMs);
      statuses[status] = (statuses[status] ?? 0) + 1;
    })();
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const startMs = performance.now();
  for (let k = 0; k < total; k++) {
    const dueMs = startMs + k * intervalMs;
    const waitMs = dueMs - performance.now();
    if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
    if (pending.size >= options.inFlightMax) {
      overloaded++;
      continue;
    }
    send(k, dueMs);
  }
  await Promise.all([...pending]);
  for (const pool of pools) pool.close();
  latencies.sort((a, b) => a - b);
  const elapsedS = (lastAnswerMs - startMs) / 1000;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    rate: options.rate,
    seconds: options.seconds,
    requests: total,
    events: total * options.eventsPerRequest,
    acked,
    statuses,
    latencyMs: {
      p50: round(quantile(latencies, 0.5)),
      p90: round(quantile(latencies, 0.9)),
      p99: round(quantile(latencies, 0.99)),
      max: round(latencies[latencies.length - 1] ?? NaN),
    },
    ackedEventsPerS: Math.round(acked / Math.max(elapsedS, 1e-3)),
    elapsedS: round(elapsedS),
    overloaded,
  };
}

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`error: --${name} must be a positive number, got '${v}'`);
    Deno.exit(2);
  }
  return n;
}

if (import.meta.main) {
  let values;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        url: { type: "string" },
        token: { type: "string", default: "dev-token" },
        table: { type: "string", default: "events" },
        rate: { type: "string" },
        seconds: { type: "string" },
        events: { type: "string" },
        "in-flight-max": { type: "string" },
        client: { type: "string", default: "http1" },
      },
    }).values;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
  if (values.url === undefined) {
    console.error("error: --url is required");
    Deno.exit(2);
  }
  if (values.client !== "http1" && values.client !== "fetch") {
    console.error(`error: --client must be http1 or fetch, got '${values.client}'`);
    Deno.exit(2);
  }
  const result = await runLoad({
    url: values.url,
    token: values.token,
    table: values.table,
    rate: positive("rate", values.rate, 1000),
    seconds: positive("seconds", values.seconds, 10),
    eventsPerRequest: Math.round(positive("events", values.events, 100)),
    inFlightMax: Math.round(positive("in-flight-max", values["in-flight-max"], 5000)),
    client: values.client,
  });
  console.log(JSON.stringify(result));
}
