/**
 * The JSON spellings of Delta values: what a client sends in a JSON or NDJSON body. This is the
 * client API contract; everything JSON spells like JavaScript is read by the shared readers of
 * `core/values` (`VALUE_READERS`), and this module changes only what JSON spells differently.
 *
 * | Delta type | JSON value |
 * |---|---|
 * | `timestamp` | ISO-8601 string (`2024-05-01T12:00:00.123456Z`, offset `±hh:mm` or `Z`; without an offset the value is read as UTC; a date alone means midnight) or a number of **epoch milliseconds** (a fraction keeps microseconds) |
 * | `timestamp_ntz` | ISO-8601 string without an offset, or a number of epoch milliseconds of the wall-clock time |
 * | `date` | `"YYYY-MM-DD"` or an integer number of epoch days |
 * | `decimal(p,s)` | a string (preferred, exact) or a number (read through its shortest round-trip spelling); at most `s` fractional digits (trailing zeros excepted) and at most `p - s` integer digits |
 * | `long` | a safe-integer number or a decimal string |
 * | `float`, `double` | a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` (JSON has no literal for them; `1e400` parses as Infinity and is refused as out of range) |
 * | `binary` | standard base64 with padding |
 *
 * Numeric timestamps are epoch **milliseconds** on the wire (README, "HTTP API (edge)") while the
 * library's unit is epoch microseconds (ADR 0027): {@linkcode epochMillisToMicros} converts at this
 * boundary, explicitly, before the shared range check.
 *
 * @module
 */
import {
  expected,
  FLOAT32_MAX,
  parseDecimal,
  readTimestampText,
  timestampInRange,
  VALUE_READERS,
  type ValueReaders,
} from "../core/values/mod.ts";

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Converts epoch milliseconds (possibly fractional) to whole epoch microseconds, or `undefined`
 * when the number is not finite or the result is not a safe integer.
 *
 * A fraction is read from the number's shortest round-trip spelling (what the client wrote), not
 * by multiplying the double, so `1704067200000.123` gives exactly `1704067200000123` for every
 * time before the year 2248 (|ms| < 2^43, where doubles still tell 0.001 apart). Digits beyond
 * the microsecond are rounded.
 *
 * @example
 * ```ts
 * import { epochMillisToMicros } from "./json_values.ts";
 * if (epochMillisToMicros(1.5) !== 1500) throw new Error("unexpected");
 * if (epochMillisToMicros(-4404866833042.011) !== -4404866833042011) throw new Error("unexpected");
 * ```
 */
export function epochMillisToMicros(ms: number): number | undefined {
  if (!Number.isFinite(ms)) return undefined;
  if (Number.isInteger(ms)) {
    const micros = ms * 1000;
    return Number.isSafeInteger(micros) ? micros : undefined;
  }
  const exact = parseDecimal(String(ms), 18, 3);
  const micros = typeof exact === "string" ? Math.round(ms * 1000) : Number(exact);
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/**
 * Decodes standard base64 (with padding); `undefined` when the text is not base64.
 *
 * @example
 * ```ts
 * import { decodeBase64 } from "./json_values.ts";
 * const bytes = decodeBase64("AQID");
 * if (bytes?.join(",") !== "1,2,3") throw new Error("unexpected");
 * ```
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !BASE64_RE.test(text)) return undefined;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function readJsonTimestamp(v: unknown, ntz: boolean): number | bigint | string {
  if (typeof v === "number") {
    const micros = epochMillisToMicros(v);
    if (micros === undefined) return expected("timestamp in epoch milliseconds", v);
    return timestampInRange(micros, v, ntz);
  }
  if (typeof v === "string") return readTimestampText(v, ntz);
  return expected("timestamp (ISO-8601 string or epoch milliseconds)", v);
}

function readJsonFloat(v: unknown, type: "float" | "double"): number | string {
  // JSON.parse reads 1e400 as Infinity: JSON has no infinity, so it is a number out of range.
  if (typeof v === "number" && !Number.isFinite(v)) {
    return `a number beyond ±${
      type === "float" ? FLOAT32_MAX : Infinity
    } is out of range for ${type}`;
  }
  return VALUE_READERS.float(v, type);
}

function readBase64(v: unknown): Uint8Array | string {
  const bytes = typeof v === "string" ? decodeBase64(v) : undefined;
  return bytes ?? expected("base64 string", v);
}

/**
 * The readers of JSON values: the library's, with epoch milliseconds for numeric timestamps,
 * base64 for binary, and non-finite numbers refused as JSON overflow.
 *
 * @example
 * ```ts
 * import { JSON_VALUE_READERS } from "./json_values.ts";
 * if (JSON_VALUE_READERS.timestamp(1.5, false) !== 1500) throw new Error("milliseconds");
 * if (JSON_VALUE_READERS.long("9007199254740993") !== 9007199254740993n) throw new Error();
 * ```
 */
export const JSON_VALUE_READERS: ValueReaders = {
  ...VALUE_READERS,
  timestamp: readJsonTimestamp,
  float: readJsonFloat,
  binary: readBase64,
};
