/**
 * The client-facing contract of idempotent producers (ADR 0037), shared by the client
 * (`client.ts`), the edge that reads the headers and the runner that applies the rules. Pure: no
 * imports, no runtime APIs.
 *
 * A request to `POST /v1/tables/{table}/events` may carry
 *
 * * `Lakestrike-Producer: <id>`: 1 to 128 characters of `[A-Za-z0-9._~-]`, starting with a letter or
 *   digit; one sender at a time per id;
 * * `Lakestrike-Sequence: <n>`: a positive integer, the next one per producer for each new request,
 *   the same one for a retry.
 *
 * Both or neither. The commit that writes the request records the sequence as a Delta `txn` action
 * `{appId: "lakestrike-client:<id>", version: n}` ({@linkcode clientAppId}). Edge incarnations'
 * appIds always hold a `#` (ADR 0022) and client ids never do, so the two never collide.
 *
 * The rules against the producer's committed sequence `c` (its `txn`, unless expired under
 * `delta.setTransactionRetentionDuration`):
 *
 * | request | answer |
 * |---|---|
 * | producer unknown (or expired), any `n` | committed: `200 {version, rows}` |
 * | `n == c + 1` | committed: `200 {version, rows}` |
 * | `n == c` (a retry) | `200 {version, rows, duplicate: true}`, nothing written |
 * | `n > c + 1` (a gap) | `409 sequence_gap` with `expectedSequence: c + 1`, nothing written |
 * | `n < c` | `409 sequence_conflict` with `expectedSequence`, nothing written (a retry of a recent sequence the runner remembers committing is `200 duplicate`) |
 *
 * @module
 */

/** Request header naming the producer. */
export const PRODUCER_ID_HEADER = "Lakestrike-Producer";
/** Request header carrying the producer's sequence number of the request. */
export const SEQUENCE_HEADER = "Lakestrike-Sequence";
/** Valid producer ids: no `#` (edges' appIds hold one) and no `:`. */
export const PRODUCER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
/** Namespace of client producers' `txn` appIds. */
export const CLIENT_APP_ID_PREFIX = "lakestrike-client:";

/**
 * The `txn` appId of a client producer.
 *
 * @example
 * ```ts
 * import { clientAppId, isClientAppId } from "./protocol.ts";
 * if (clientAppId("p-1") !== "lakestrike-client:p-1") throw new Error();
 * if (!isClientAppId(clientAppId("p-1")) || isClientAppId("edge#00ff")) throw new Error();
 * ```
 */
export function clientAppId(producerId: string): string {
  return CLIENT_APP_ID_PREFIX + producerId;
}

/**
 * True when `appId` is a client producer's (the sequence rules above apply), false for edges'
 * and other applications' appIds (gaps allowed, ADR 0022).
 */
export function isClientAppId(appId: string): boolean {
  return appId.startsWith(CLIENT_APP_ID_PREFIX) &&
    PRODUCER_ID_RE.test(appId.slice(CLIENT_APP_ID_PREFIX.length));
}

/**
 * Reads a `Lakestrike-Sequence` value: a positive safe integer, or `undefined`.
 *
 * @example
 * ```ts
 * import { parseSequence } from "./protocol.ts";
 * if (parseSequence("42") !== 42) throw new Error();
 * if (parseSequence("0") !== undefined || parseSequence("1e3") !== undefined) throw new Error();
 * ```
 */
export function parseSequence(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
