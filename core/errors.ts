/**
 * Errors of lakestrike. Every error carries a stable `code` so that command-line entry points and
 * HTTP handlers can map it to an exit status or a status code without parsing messages.
 *
 * Messages follow the Deno style: "Cannot <do what>: <why>".
 *
 * @module
 */

/** Stable machine-readable error codes. */
export type LakestrikeErrorCode =
  | "TABLE_NOT_FOUND"
  | "TABLE_EXISTS"
  | "CORRUPT_LOG"
  | "UNSUPPORTED_FEATURE"
  | "VERSION_NOT_FOUND"
  | "INVALID_ARGUMENT"
  | "SCHEMA_MISMATCH"
  | "COMMIT_FAILED"
  | "STORAGE"
  | "NOT_FOUND";

/**
 * Base class of every error lakestrike throws on purpose.
 *
 * @example
 * ```ts
 * import { LakestrikeError } from "./errors.ts";
 * const e = new LakestrikeError("CORRUPT_LOG", "Cannot read version 3: invalid JSON on line 2");
 * if (e.code !== "CORRUPT_LOG") throw new Error("unexpected");
 * ```
 */
export class LakestrikeError extends Error {
  /** Stable code of the error. */
  readonly code: LakestrikeErrorCode;
  /** Create an error with a code and a message. */
  constructor(code: LakestrikeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LakestrikeError";
    this.code = code;
  }
}

/** The table root holds no `_delta_log` commit or checkpoint. */
export class TableNotFoundError extends LakestrikeError {
  /** Create the error for the given table location. */
  constructor(location: string) {
    super("TABLE_NOT_FOUND", `Cannot load table at ${location}: no Delta log found`);
    this.name = "TableNotFoundError";
  }
}

/** The log is unreadable or violates the Delta protocol. */
export class CorruptLogError extends LakestrikeError {
  /** Create the error with a message that names the file and what is wrong. */
  constructor(message: string, options?: ErrorOptions) {
    super("CORRUPT_LOG", message, options);
    this.name = "CorruptLogError";
  }
}

/** The table needs a protocol version or table feature this implementation does not support. */
export class UnsupportedFeatureError extends LakestrikeError {
  /** Create the error with a message that names the feature. */
  constructor(message: string) {
    super("UNSUPPORTED_FEATURE", message);
    this.name = "UnsupportedFeatureError";
  }
}

/** An object was not found in storage. */
export class NotFoundError extends LakestrikeError {
  /** The storage path that is missing. */
  readonly path: string;
  /** Create the error for a missing storage path. */
  constructor(path: string) {
    super("NOT_FOUND", `Cannot read ${path}: not found`);
    this.name = "NotFoundError";
    this.path = path;
  }
}

/** Bad input given by a caller (a flag, an option, a batch). */
export class InvalidArgumentError extends LakestrikeError {
  /** Create the error with a message that names the bad input. */
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
    this.name = "InvalidArgumentError";
  }
}

/** Returns true if `e` is a {@linkcode LakestrikeError} with the given code. */
export function isLakestrikeError(e: unknown, code?: LakestrikeErrorCode): e is LakestrikeError {
  return e instanceof LakestrikeError && (code === undefined || e.code === code);
}
