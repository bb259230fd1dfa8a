/**
 * The one place where a command's failure becomes a one-line message on stderr and an exit status,
 * never a stack trace.
 *
 * Exit statuses: 0 success, 1 the operation failed (missing table, corrupt log, unsupported feature),
 * 2 bad usage (unknown flag, bad value).
 *
 * @module
 */
import { InvalidArgumentError, isLakestrikeError } from "../core/errors.ts";
import { UsageError } from "./parse_flags.ts";

/**
 * Run a command's `main`, mapping failures to a one-line error and an exit status (see the module
 * doc). `usage` is printed after a usage error.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./run_cli.ts";
 * if (import.meta.main) await runCli("usage: deno task hello", () => Promise.resolve());
 * ```
 */
export async function runCli(usage: string, main: () => Promise<void>): Promise<never> {
  try {
    await main();
    Deno.exit(0);
  } catch (e) {
    if (e instanceof UsageError || e instanceof InvalidArgumentError) {
      console.error(`error: ${e.message}`);
      console.error(usage);
      Deno.exit(2);
    }
    if (isLakestrikeError(e)) {
      console.error(`error: ${e.message}`);
      Deno.exit(1);
    }
    if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
