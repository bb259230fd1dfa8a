/**
 * Command-line plumbing shared by every entry point (the edge, the runner, the table tools): flag
 * parsing with clear errors and one mapping of failures to exit statuses. It knows no table, no
 * config and no backend, so the edge may import it without loading the batch side.
 *
 * @example
 * ```ts
 * import { parseFlags, parseNonNegativeInt } from "./mod.ts";
 * const { values } = parseFlags(["--port", "0"], { port: { type: "string" } });
 * if (parseNonNegativeInt("port", values.port) !== 0) throw new Error("not parsed");
 * ```
 *
 * @module
 */
export { parseFlags, parseNonNegativeInt, UsageError } from "./parse_flags.ts";
export { runCli } from "./run_cli.ts";
