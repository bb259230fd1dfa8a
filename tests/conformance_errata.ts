/**
 * Corrections to the shared conformance expectations, where an expected value contradicts the Delta
 * protocol and the reference readers. Each erratum names the table, the column, the versions it
 * applies to, the wrong and the right canonical value, and why. The conformance test applies an
 * erratum only after checking that the shipped `rows` reproduce the shipped `checksum` and that the
 * wrong value is really there, so an erratum can never hide a different failure.
 *
 * @module
 */
import type { CanonicalValue } from "./canonical.ts";

/** One corrected cell value. */
export interface Erratum {
  table: string;
  column: string;
  /** Versions whose expected checksum is corrected (the column has the widened type there). */
  versions: number[];
  wrong: string;
  right: string;
  why: string;
}

/** The known errata. */
export const ERRATA: readonly Erratum[] = [
  {
    table: "kernel-type-widening",
    column: "date_timestamp_ntz",
    versions: [2],
    wrong: "19975",
    // 19975 days after 1970-01-01 is 2024-09-09; widened to timestamp_ntz it is that midnight.
    right: String(19975n * 86_400_000_000n),
    why:
      "Delta PROTOCOL 'Type Widening' lets a date column widen to timestamp_ntz; a value written " +
      "as a date reads as midnight of that day (delta-kernel-rs type_widening_basic expects " +
      "2024-09-09T00:00:00). The expected file kept the raw day count 19975, which as a " +
      "timestamp_ntz would be 1970-01-01T00:00:00.019975.",
  },
];

/**
 * Apply the errata of `table` at `version` to expected rows whose columns are `columns`.
 * Returns `undefined` when no erratum applies; throws when an erratum applies but its wrong value
 * is not found (the erratum is stale).
 */
export function correctRows(
  table: string,
  version: number,
  columns: readonly string[],
  rows: readonly CanonicalValue[][],
): CanonicalValue[][] | undefined {
  const errata = ERRATA.filter((e) => e.table === table && e.versions.includes(version));
  if (!errata.length) return undefined;
  let corrected = rows.map((r) => [...r]);
  for (const e of errata) {
    const index = columns.indexOf(e.column);
    if (index < 0) throw new Error(`Erratum for ${table}: no column '${e.column}'`);
    let hits = 0;
    corrected = corrected.map((r) => {
      if (r[index] !== e.wrong) return r;
      hits++;
      const copy = [...r];
      copy[index] = e.right;
      return copy;
    });
    if (hits === 0) throw new Error(`Erratum for ${table}: value '${e.wrong}' not found; stale`);
  }
  return corrected;
}
