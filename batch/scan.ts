/**
 * `deno task scan <table-uri> [--version N] [--limit N]`: the rows of a table as NDJSON, one object
 * per row keyed by logical column name (timestamps ISO-8601 UTC with microseconds, dates `YYYY-MM-DD`,
 * decimals and 64-bit integers as strings, binary as base64).
 *
 * @module
 */
import { rowToJson, scanSnapshot } from "../core/scan/mod.ts";
import {
  parseFlags,
  parseNonNegativeInt,
  parseTableFlags,
  runCli,
  TABLE_FLAGS,
  TABLE_FLAGS_USAGE,
  UsageError,
} from "./cli.ts";
import { openTable } from "./open_table.ts";

const USAGE = "usage: deno task scan <table-uri> [--version N] [--limit N]\n" +
  `  ${TABLE_FLAGS_USAGE}`;

/** Entry point of `deno task scan`: writes NDJSON to `out` (stdout by default). */
export async function main(
  args: string[],
  out: WritableStreamDefaultWriter<Uint8Array> = Deno.stdout.writable.getWriter(),
): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    version: { type: "string" },
    limit: { type: "string" },
    ...TABLE_FLAGS,
  });
  if (positionals.length !== 1) {
    throw new UsageError(`Expected exactly one table URI, got ${positionals.length}`);
  }
  const version = parseNonNegativeInt("version", values["version"]);
  const limit = parseNonNegativeInt("limit", values["limit"]);
  const { storage, snapshot } = await openTable(positionals[0]!, {
    ...parseTableFlags(values),
    ...(version === undefined ? {} : { version }),
  });
  const encoder = new TextEncoder();
  let written = 0;
  if (limit === 0) return;
  const options = limit === undefined ? {} : { limit };
  for await (const rows of scanSnapshot(storage, snapshot, options)) {
    let chunk = "";
    for (const row of rows) {
      chunk += JSON.stringify(rowToJson(row, snapshot.schema)) + "\n";
      written++;
      if (limit !== undefined && written >= limit) break;
    }
    await out.write(encoder.encode(chunk));
    if (limit !== undefined && written >= limit) break;
  }
}

if (import.meta.main) await runCli(USAGE, () => main(Deno.args));
