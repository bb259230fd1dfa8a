/**
 * The calendar of Delta dates and timestamps: days since 1970-01-01 in the proleptic Gregorian
 * calendar, microseconds since 1970-01-01T00:00:00, and the range every Delta reader accepts.
 *
 * Arrow holds any int32 day and any int64 microsecond; Delta readers do not. Spark reads dates and
 * timestamps of years 1 to 9999 only, and a partition directory of another year
 * (`date=10183-09-21`, `date=0NaN-NaN-NaN`) makes every scan of the table fail (ADR 0016). The
 * functions here are total over JavaScript integers; callers that write check the range with
 * {@linkcode isDateDaysInRange} and {@linkcode isTimestampMicrosInRange}.
 *
 * @module
 */

/** Days since 1970-01-01 of 0001-01-01, the first date Delta readers accept. */
export const DATE_DAYS_MIN = -719_162;
/** Days since 1970-01-01 of 9999-12-31, the last date Delta readers accept. */
export const DATE_DAYS_MAX = 2_932_896;
/** Microseconds in a day. */
export const MICROS_PER_DAY = 86_400_000_000n;
/** Microseconds since the epoch of 0001-01-01 00:00:00. */
export const TIMESTAMP_MICROS_MIN: bigint = BigInt(DATE_DAYS_MIN) * MICROS_PER_DAY;
/** Microseconds since the epoch of 9999-12-31 23:59:59.999999. */
export const TIMESTAMP_MICROS_MAX: bigint = BigInt(DATE_DAYS_MAX + 1) * MICROS_PER_DAY - 1n;
/** The range of dates and timestamps, as error messages spell it. */
export const DATE_RANGE_TEXT = "0001-01-01 .. 9999-12-31";

/**
 * Whether days since 1970-01-01 name a date in 0001-01-01 .. 9999-12-31.
 *
 * @example
 * ```ts
 * import { isDateDaysInRange } from "./calendar.ts";
 * if (!isDateDaysInRange(0) || isDateDaysInRange(3_000_000)) throw new Error("unexpected");
 * ```
 */
export function isDateDaysInRange(days: number): boolean {
  return Number.isInteger(days) && days >= DATE_DAYS_MIN && days <= DATE_DAYS_MAX;
}

/**
 * Whether microseconds since the epoch name an instant (or wall-clock time) in
 * 0001-01-01 00:00:00 .. 9999-12-31 23:59:59.999999.
 *
 * @example
 * ```ts
 * import { isTimestampMicrosInRange } from "./calendar.ts";
 * if (!isTimestampMicrosInRange(0) || isTimestampMicrosInRange(9e18)) throw new Error();
 * ```
 */
export function isTimestampMicrosInRange(micros: number | bigint): boolean {
  if (typeof micros === "number") {
    if (!Number.isInteger(micros)) return false;
    // 2^53 microseconds are about 285 years: every safe integer lies inside the range.
    if (Number.isSafeInteger(micros)) return true;
    micros = BigInt(micros);
  }
  return micros >= TIMESTAMP_MICROS_MIN && micros <= TIMESTAMP_MICROS_MAX;
}

/**
 * Whether `year-month-day` is a date of the proleptic Gregorian calendar (month 1 to 12, day 1 to
 * the month's length).
 *
 * @example
 * ```ts
 * import { isCivilDate } from "./calendar.ts";
 * if (!isCivilDate(2024, 2, 29) || isCivilDate(2023, 2, 29)) throw new Error("unexpected");
 * ```
 */
export function isCivilDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian calendar date (H. Hinnant's `days_from_civil`).
 * A day past the end of its month counts on into the next month: check with
 * {@linkcode isCivilDate} first.
 *
 * @example
 * ```ts
 * import { daysFromCivil } from "./calendar.ts";
 * if (daysFromCivil(1970, 1, 2) !== 1) throw new Error("unexpected");
 * if (daysFromCivil(2000, 3, 1) !== 11017) throw new Error("unexpected");
 * ```
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Shift the year so that it starts in March: leap days fall at the end of a cycle year.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * The calendar date of a day count since 1970-01-01 (proleptic Gregorian), the inverse of
 * {@linkcode daysFromCivil}.
 *
 * @example
 * ```ts
 * import { civilFromDays } from "./calendar.ts";
 * const d = civilFromDays(-1);
 * if (d.year !== 1969 || d.month !== 12 || d.day !== 31) throw new Error("unexpected");
 * ```
 */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}
