/**
 * Decimals as text: the parser of the edge, `createArrowTable` and the scan's partition values, and
 * the formatter of the scan, the partition writer and the statistics.
 *
 * A decimal of Delta type `decimal(p,s)` is held as its unscaled value, the value times `10^s`
 * (`12.30` in `decimal(5,2)` is `1230`). The parser reads `[+-]digits[.digits][(e|E)[+-]digits]`
 * (an exponent of at most four digits, a text of at most `2p + 16` characters, so the work is
 * bounded whatever a client sends) and refuses what does not fit: more than `s` fractional digits
 * (trailing zeros excepted) or more than `p - s` integer digits.
 *
 * @module
 */

const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/;

/**
 * Reads a decimal for a `decimal(precision, scale)` column and returns its unscaled value: a number
 * when it has at most 15 digits, else a bigint. Returns a string naming the problem when the text
 * is no decimal or does not fit (so the caller can report it).
 *
 * @example
 * ```ts
 * import { parseDecimal } from "./decimal_text.ts";
 * if (parseDecimal("-12.30", 5, 2) !== -1230) throw new Error("unexpected");
 * if (parseDecimal("1.2e1", 4, 2) !== 1200) throw new Error("unexpected");
 * if (typeof parseDecimal("1.234", 5, 2) !== "string") throw new Error("scale not checked");
 * if (typeof parseDecimal("1234", 5, 2) !== "string") throw new Error("precision not checked");
 * ```
 */
export function parseDecimal(
  text: string,
  precision: number,
  scale: number,
): number | bigint | string {
  if (text.length > 2 * precision + 16) return "too many characters";
  const m = DECIMAL_RE.exec(text);
  if (m === null) return "not a decimal number";
  const intPart = m[2] ?? "";
  const fracPart = m[3] ?? "";
  if (intPart.length + fracPart.length === 0) return "not a decimal number";
  const exponent = m[4] === undefined ? 0 : +m[4];
  // value = digits * 10^-(fractionDigits)
  let digits = intPart + fracPart;
  let fractionDigits = fracPart.length - exponent;
  if (fractionDigits > scale) {
    const extra = fractionDigits - scale;
    if (extra > digits.length) {
      if (!/^0*$/.test(digits)) return `more than ${scale} fractional digits`;
      digits = "0";
    } else {
      if (!/^0*$/.test(digits.slice(digits.length - extra))) {
        return `more than ${scale} fractional digits`;
      }
      digits = digits.slice(0, digits.length - extra);
    }
    fractionDigits = scale;
  }
  const pad = scale - fractionDigits;
  if (pad > precision) {
    if (!/^0*$/.test(digits)) return `more than ${precision - scale} integer digits`;
    return 0;
  }
  digits = digits + "0".repeat(pad);
  let start = 0;
  while (start < digits.length - 1 && digits.charCodeAt(start) === 48) start++;
  digits = digits.slice(start);
  if (digits.length > precision) {
    return `more than ${precision - scale} integer digits`;
  }
  const negative = m[1] === "-";
  if (digits.length <= 15) {
    const n = +digits;
    return negative && n !== 0 ? -n : n;
  }
  const b = BigInt(digits);
  return negative ? -b : b;
}

/**
 * Formats an unscaled decimal as plain text with exactly `scale` fractional digits (a negative
 * scale appends zeros).
 *
 * @example
 * ```ts
 * import { formatUnscaledDecimal } from "./decimal_text.ts";
 * if (formatUnscaledDecimal(-12345n, 3) !== "-12.345") throw new Error("bad");
 * if (formatUnscaledDecimal(5n, 2) !== "0.05") throw new Error("bad");
 * if (formatUnscaledDecimal(7n, -2) !== "700") throw new Error("bad");
 * ```
 */
export function formatUnscaledDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  const sign = negative ? "-" : "";
  if (scale <= 0) return sign + digits + "0".repeat(-scale);
  const padded = digits.padStart(scale + 1, "0");
  return `${sign}${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
}
