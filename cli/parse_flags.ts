/**
 * Flag parsing with clear errors, for every command-line entry point (the edge, the runner, the
 * table tools): `node:util` `parseArgs` whose failures become {@linkcode UsageError}s, and the checks
 * of common flag values.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Thrown for bad command-line usage; `runCli` exits with status 2 and prints the usage. */
export class UsageError extends Error {
  /** Create a usage error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parse `args` with `node:util` `parseArgs` (strict, positionals allowed), turning its errors into
 * {@linkcode UsageError}s.
 *
 * @example
 * ```ts
 * import { parseFlags, UsageError } from "./parse_flags.ts";
 * const { values, positionals } = parseFlags(["--port", "8080", "t"], { port: { type: "string" } });
 * if (values.port !== "8080" || positionals[0] !== "t") throw new Error("not parsed");
 * try {
 *   parseFlags(["--prot", "1"], { port: { type: "string" } });
 *   throw new Error("not refused");
 * } catch (e) {
 *   if (!(e instanceof UsageError)) throw e;
 * }
 * ```
 */
export function parseFlags<T extends ParseArgsConfig["options"]>(
  args: string[],
  options: T,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: options ?? {},
      allowPositionals: true,
      strict: true,
    });
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    };
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Parse a flag value as a non-negative integer (`undefined` when the flag is absent).
 *
 * @throws {UsageError} naming the flag
 *
 * @example
 * ```ts
 * import { parseNonNegativeInt } from "./parse_flags.ts";
 * if (parseNonNegativeInt("port", "8080") !== 8080) throw new Error("not parsed");
 * if (parseNonNegativeInt("port", undefined) !== undefined) throw new Error("absent is undefined");
 * ```
 */
export function parseNonNegativeInt(
  flag: string,
  value: string | boolean | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(
      `Invalid value for --${flag}: expected a non-negative integer, got '${value}'`,
    );
  }
  return Number(value);
}
