/**
 * Byte counts for people, as the table tools and the dashboard print them.
 *
 * @module
 */

/**
 * `n` bytes in binary units with one decimal (`"1.5 KiB"`), or whole bytes below 1 KiB (`"512 B"`).
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format_bytes.ts";
 * if (formatBytes(512) !== "512 B" || formatBytes(1536) !== "1.5 KiB") throw new Error("unexpected");
 * ```
 */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
