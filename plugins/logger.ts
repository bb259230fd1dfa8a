/**
 * Small {@linkcode Logger} implementations: one that drops everything, one that keeps records in
 * memory (for tests and dry runs) and a wrapper that adds fields to every record.
 *
 * @module
 */
import type { LogFields, Logger } from "./types.ts";

/** Severity of a log record. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** One record kept by {@linkcode createMemoryLogger}. */
export interface LogRecord {
  /** Severity. */
  level: LogLevel;
  /** The message. */
  message: string;
  /** Structured fields (empty when none were given). */
  fields: LogFields;
}

/** A logger that drops every record. */
export const noopLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** A {@linkcode Logger} that keeps its records. */
export interface MemoryLogger extends Logger {
  /** Every record so far, oldest first. */
  readonly records: readonly LogRecord[];
}

/**
 * Create a logger that keeps records in memory, at most `recordsMax` (the oldest are dropped).
 *
 * @example
 * ```ts
 * import { createMemoryLogger } from "./logger.ts";
 * const logger = createMemoryLogger();
 * logger.warn("slow hook", { plugin: "p" });
 * if (logger.records[0]?.fields.plugin !== "p") throw new Error("not recorded");
 * ```
 */
export function createMemoryLogger(options: { recordsMax?: number } = {}): MemoryLogger {
  const recordsMax = options.recordsMax ?? 10_000;
  const records: LogRecord[] = [];
  const add = (level: LogLevel) => (message: string, fields?: LogFields) => {
    records.push({ level, message, fields: { ...fields } });
    if (records.length > recordsMax) records.shift();
  };
  return {
    records,
    debug: add("debug"),
    info: add("info"),
    warn: add("warn"),
    error: add("error"),
  };
}

/**
 * Wrap a logger so every record also carries `bound` (fields given at the call win).
 *
 * @example
 * ```ts
 * import { createMemoryLogger, withLogFields } from "./logger.ts";
 * const base = createMemoryLogger();
 * withLogFields(base, { plugin: "p" }).info("hello", { n: 1 });
 * const r = base.records[0];
 * if (r?.fields.plugin !== "p" || r.fields.n !== 1) throw new Error("fields lost");
 * ```
 */
export function withLogFields(logger: Logger, bound: LogFields): Logger {
  return {
    debug: (message, fields) => logger.debug(message, { ...bound, ...fields }),
    info: (message, fields) => logger.info(message, { ...bound, ...fields }),
    warn: (message, fields) => logger.warn(message, { ...bound, ...fields }),
    error: (message, fields) => logger.error(message, { ...bound, ...fields }),
  };
}
