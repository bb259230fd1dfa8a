/**
 * Bounded parallel IO: every fan-out over storage (commit reads, sidecars, listings, deletes, data
 * file writes) goes through {@linkcode mapBounded}, so each has a limit (TIGER_STYLE: put a limit on
 * everything).
 *
 * @module
 */

/**
 * Run `fn` over `items` with at most `limit` calls in flight; results keep the input order.
 *
 * `min(limit, items.length)` workers each take the next unstarted item until none is left. The
 * first rejection rejects the result; calls already started run on, and no worker starts another
 * item after its own call rejected. `limit` is taken as `Array.from` takes a length (truncated; 0
 * or less starts no worker), so callers validate it.
 *
 * @param items the inputs, in order
 * @param limit calls in flight at most
 * @param fn the call, given the item and its index in `items`
 *
 * @example
 * ```ts
 * import { mapBounded } from "./concurrency.ts";
 * let active = 0;
 * let peak = 0;
 * const squares = await mapBounded([1, 2, 3, 4, 5], 2, async (n) => {
 *   peak = Math.max(peak, ++active);
 *   await new Promise((r) => setTimeout(r, 5 - n));
 *   active--;
 *   return n * n;
 * });
 * if (squares.join() !== "1,4,9,16,25" || peak !== 2) throw new Error("bad");
 * ```
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
