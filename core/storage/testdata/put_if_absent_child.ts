/**
 * Child process of the multi-process put-if-absent test in `../local_test.ts`.
 *
 * Usage: `deno run --allow-all put_if_absent_child.ts <rootDir> <path> <writerId>`. Prints `ready`,
 * waits for a line on stdin (the barrier, so all children race at once), puts `<writerId>` at `<path>`
 * with `ifAbsent` and prints the result as JSON.
 *
 * @module
 */

import { createLocalStorage } from "../local.ts";

const [rootDir, path, writerId] = Deno.args;
if (rootDir === undefined || path === undefined || writerId === undefined) {
  throw new Error("usage: put_if_absent_child.ts <rootDir> <path> <writerId>");
}
const storage = createLocalStorage(rootDir);
const encoder = new TextEncoder();
await Deno.stdout.write(encoder.encode("ready\n"));
const reader = Deno.stdin.readable.getReader();
await reader.read();
reader.releaseLock();
const result = await storage.put(path, encoder.encode(writerId), { ifAbsent: true });
await Deno.stdout.write(encoder.encode(`${JSON.stringify({ writerId, result })}\n`));
