/**
 * The error of a request whose events do not match the table schema: the edge answers it with 422
 * and names the row and the field.
 *
 * @module
 */

/**
 * An event does not match the table schema.
 *
 * @example
 * ```ts
 * import { SchemaViolationError } from "./schema_violation_error.ts";
 * const e = new SchemaViolationError(2, "user.id", "missing required field");
 * if (e.message !== 'Cannot accept event 2: field "user.id": missing required field') throw new Error();
 * ```
 */
export class SchemaViolationError extends Error {
  /** Index of the offending event in the request (0-based). */
  readonly row: number;
  /** Path of the offending field, e.g. `user.id` or `tags[]`. */
  readonly field: string;
  /** What is wrong, e.g. `expected integer, got "abc"`. */
  readonly reason: string;
  /** Create the error for a row, a field path and a reason. */
  constructor(row: number, field: string, reason: string) {
    super(`Cannot accept event ${row}: field "${field}": ${reason}`);
    this.name = "SchemaViolationError";
    this.row = row;
    this.field = field;
    this.reason = reason;
  }
}
