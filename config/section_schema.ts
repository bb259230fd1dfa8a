/**
 * The config checks' schema vocabulary: config sections are declared as zod schemas (`npm:zod`,
 * ADR 0028) whose every failure reads as today's issues do, `path: expected ..., got ...`:
 *
 * ```
 *  checkSection(schema, value, "edge", issues)
 *     │ schema.safeParse(value)
 *     ├─ ok ──────────────▶ the parsed section
 *     └─ zod issues ──────▶ "edge.port: expected an integer from 0 to 65535, got 70000"
 *                           "edge.prot: unknown setting (known: port, hostname, ...)"
 * ```
 *
 * Each builder gives its schema one message for every way a value fails (wrong type, too small,
 * too large, no match), naming the value as {@linkcode show} does; unknown keys are reported one
 * issue per key, before the section's other issues. The owners of the sections declare them with
 * these builders (`edge/edge_settings.ts`, `ops/maintenance_options.ts`, the runner's limits in
 * `batch/runner/runner.ts`) and the readers compose them (`config/shared_sections.ts`,
 * `batch/config.ts`, `edge/config.ts`).
 *
 * @module
 */
import * as z from "zod";

export { z };

/** A value as an issue shows it: strings quoted, the rest as JSON. */
export function show(v: unknown): string {
  if (typeof v === "string") return `'${v}'`;
  if (v === undefined) return "undefined";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** One message for every failure of a schema: `expected <what>, got <value>`. */
function expected(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `expected ${what}, got ${show(issue.input)}` };
}

/** A safe integer from `min` to `max`. */
export function intIn(min: number, max: number): z.ZodInt {
  const error = expected(`an integer from ${min} to ${max}`);
  return z.int(error).min(min, error).max(max, error);
}

/** A safe integer of at least `min`. */
export function intAtLeast(min: number): z.ZodInt {
  const error = expected(`an integer >= ${min}`);
  return z.int(error).min(min, error);
}

/** A boolean. */
export function bool(): z.ZodBoolean {
  return z.boolean(expected("a boolean"));
}

/** A string matching `re`, described as `what` (`expected <what>, got <value>`). */
export function matching(re: RegExp, what: string): z.ZodString {
  const error = expected(what);
  return z.string(error).regex(re, error);
}

/** How {@linkcode checkSection} reports an unknown key of a section. */
export type UnknownKeyMessage = (key: string, known: readonly string[]) => string;

/** `unknown setting (known: a, b)`, the message of most sections. */
export const unknownSettingListed: UnknownKeyMessage = (_, known) =>
  `unknown setting (known: ${known.join(", ")})`;

/** `unknown setting`, for sections whose keys are documented elsewhere (tables, maintenance). */
export const unknownSetting: UnknownKeyMessage = () => "unknown setting";

/**
 * A section: an object of `shape` (every key optional unless the shape says otherwise) that
 * refuses unknown keys; anything but a plain object is `expected an object, got <value>`.
 * `unknownKey` words the issue of each unknown key.
 */
export function section<S extends z.ZodRawShape>(
  shape: S,
  unknownKey: UnknownKeyMessage = unknownSettingListed,
): z.ZodObject<S, z.core.$strict> {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        return JSON.stringify(issue.keys.map((k) => [k, unknownKey(k, known)]));
      }
      return `expected an object, got ${show(issue.input)}`;
    },
  });
}

/** `tables[0].dynamodb` + `["tableName"]` → `tables[0].dynamodb.tableName`; numbers as `[i]`. */
function pathOf(at: string, path: readonly PropertyKey[]): string {
  let out = at;
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return out;
}

/**
 * Parse `value` with `schema` (a {@linkcode section} or any schema of these builders) and push one
 * issue per problem, named by its path under `at`; returns the parsed value, or `undefined` when
 * an issue was pushed. Unknown keys come first, as a reader meets them.
 *
 * @example
 * ```ts
 * import { checkSection, intIn, section } from "./section_schema.ts";
 * const issues: string[] = [];
 * checkSection(section({ port: intIn(0, 65535).optional() }), { port: 70000, prot: 1 }, "edge", issues);
 * if (issues.join("|") !== "edge.prot: unknown setting (known: port)|edge.port: expected an integer from 0 to 65535, got 70000") {
 *   throw new Error(issues.join("|"));
 * }
 * ```
 */
export function checkSection<T>(
  schema: z.ZodType<T>,
  value: unknown,
  at: string,
  issues: string[],
): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const unknown: string[] = [];
  const rest: string[] = [];
  for (const issue of result.error.issues) {
    const where = pathOf(at, issue.path);
    if (issue.code === "unrecognized_keys") {
      for (const [key, message] of JSON.parse(issue.message) as [string, string][]) {
        unknown.push(`${where}.${key}: ${message}`);
      }
    } else rest.push(`${where}: ${issue.message}`);
  }
  issues.push(...unknown, ...rest);
  return undefined;
}
