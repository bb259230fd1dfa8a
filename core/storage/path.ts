/**
 * Storage path rules shared by every backend: validation and byte-order comparison.
 *
 * A storage path is relative to the storage root, uses `/` as separator and has at least one segment;
 * no segment is empty, `.` or `..`, and no character is NUL. Any other character is allowed (spaces,
 * `%`, `=`, unicode), because Delta partition directories (`date=2024-01-01`) and user file names use
 * them.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";

/**
 * Throw {@linkcode InvalidArgumentError} unless `path` is a valid storage path (see the module doc).
 *
 * @example
 * ```ts
 * import { validatePath } from "./path.ts";
 * validatePath("date=2024-01-01/part 0001.parquet");
 * let rejected = false;
 * try {
 *   validatePath("a/../b");
 * } catch {
 *   rejected = true;
 * }
 * if (!rejected) throw new Error("'..' must be rejected");
 * ```
 */
export function validatePath(path: string): void {
  const why = invalidPathReason(path);
  if (why !== undefined) {
    throw new InvalidArgumentError(`Cannot use storage path ${JSON.stringify(path)}: ${why}`);
  }
}

/**
 * Throw {@linkcode InvalidArgumentError} unless `prefix` is a valid listing prefix: the empty string,
 * or a string that does not start with `/`, holds no NUL and whose complete segments (all but the
 * text after the last `/`) are valid path segments. `"a/"`, `"a/b"` and `"a/.t"` are valid prefixes.
 *
 * @example
 * ```ts
 * import { validatePrefix } from "./path.ts";
 * validatePrefix("");
 * validatePrefix("_delta_log/0000");
 * ```
 */
export function validatePrefix(prefix: string): void {
  if (prefix === "") return;
  const lastSlash = prefix.lastIndexOf("/");
  const why = prefix.includes("\0")
    ? "it contains a NUL character"
    : prefix.startsWith("/")
    ? "it starts with '/'"
    : lastSlash < 0
    ? undefined
    : invalidPathReason(prefix.slice(0, lastSlash));
  if (why !== undefined) {
    throw new InvalidArgumentError(`Cannot list prefix ${JSON.stringify(prefix)}: ${why}`);
  }
}

/**
 * Throw {@linkcode InvalidArgumentError} unless `offset` and `length` are non-negative safe integers.
 */
export function validateRange(path: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidArgumentError(`Cannot read ${path}: offset ${offset} is not a byte offset`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError(`Cannot read ${path}: length ${length} is not a byte count`);
  }
}

/** Validate `limit` of a listing; returns the limit, `Infinity` when absent. */
export function validateLimit(prefix: string, limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new InvalidArgumentError(
      `Cannot list prefix ${JSON.stringify(prefix)}: limit ${limit} is not a non-negative integer`,
    );
  }
  return limit;
}

function invalidPathReason(path: string): string | undefined {
  if (typeof path !== "string") return "it is not a string";
  if (path === "") return "it is empty";
  if (path.includes("\0")) return "it contains a NUL character";
  if (path.startsWith("/")) return "it starts with '/'";
  for (const segment of path.split("/")) {
    if (segment === "") return "it has an empty segment";
    if (segment === "." || segment === "..") return `it has a '${segment}' segment`;
  }
  return undefined;
}

/**
 * Compare two strings in the byte order of their UTF-8 encodings (equal to Unicode code point
 * order), the order `list` returns. JavaScript's `<` compares UTF-16 code units instead, which
 * differs for characters outside the Basic Multilingual Plane. Returns a negative number, zero or a
 * positive number, like a `sort` comparator.
 *
 * @example
 * ```ts
 * import { compareBytewise } from "./path.ts";
 * // U+FF5E encodes as EF BD 9E, U+1F600 as F0 9F 98 80: bytes order U+FF5E first.
 * if (compareBytewise("\uFF5E", "\u{1F600}") >= 0) throw new Error("not byte order");
 * if (["b", "a"].sort(compareBytewise)[0] !== "a") throw new Error("not sorted");
 * ```
 */
export function compareBytewise(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/**
 * Map a UTF-16 code unit so that comparing ranks orders strings by code point: surrogates (which only
 * encode code points above U+FFFF) move above U+E000..U+FFFF.
 */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
