/**
 * Names of the files in `_delta_log`, as Delta PROTOCOL "Delta Log Entries" and "Checkpoints" spell
 * them. Pure functions, no IO.
 *
 * @module
 */

/** Folder of the log, relative to the table root. */
export const LOG_DIR = "_delta_log";

/** Zero-padded 20-digit version, as every log file name starts. */
export function formatVersion(version: number): string {
  return String(version).padStart(20, "0");
}

/**
 * Path of the commit file of `version`, relative to the table root.
 *
 * @example
 * ```ts
 * import { commitPath } from "./paths.ts";
 * if (commitPath(12) !== "_delta_log/00000000000000000012.json") throw new Error("bad name");
 * ```
 */
export function commitPath(version: number): string {
  return `${LOG_DIR}/${formatVersion(version)}.json`;
}

/** Path of the classic single-part checkpoint of `version`, relative to the table root. */
export function classicCheckpointPath(version: number): string {
  return `${LOG_DIR}/${formatVersion(version)}.checkpoint.parquet`;
}

/** Path of `_last_checkpoint`, relative to the table root. */
export const LAST_CHECKPOINT_PATH = `${LOG_DIR}/_last_checkpoint`;

/** What a file name in `_delta_log` is. */
export type LogFileName =
  | { kind: "commit"; version: number }
  | { kind: "checkpoint"; version: number; format: "classic" }
  | { kind: "checkpoint"; version: number; format: "multipart"; part: number; parts: number }
  | {
    kind: "checkpoint";
    version: number;
    format: "v2";
    uuid: string;
    extension: "json" | "parquet";
  }
  | { kind: "crc"; version: number }
  | { kind: "compacted"; fromVersion: number; toVersion: number };

const COMMIT_RE = /^(\d{20})\.json$/;
const CLASSIC_RE = /^(\d{20})\.checkpoint\.parquet$/;
const MULTIPART_RE = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/;
const V2_RE = /^(\d{20})\.checkpoint\.([0-9a-fA-F-]{36})\.(json|parquet)$/;
const CRC_RE = /^(\d{20})\.crc$/;
const COMPACTED_RE = /^(\d{20})\.(\d{20})\.compacted\.json$/;

/**
 * Classify a file name (the last path segment) of `_delta_log`, or `undefined` for other files.
 *
 * @example
 * ```ts
 * import { parseLogFileName } from "./paths.ts";
 * const f = parseLogFileName("00000000000000000010.checkpoint.0000000001.0000000002.parquet");
 * if (f?.kind !== "checkpoint" || f.format !== "multipart" || f.parts !== 2) throw new Error("bad");
 * ```
 */
export function parseLogFileName(name: string): LogFileName | undefined {
  let m = COMMIT_RE.exec(name);
  if (m) return { kind: "commit", version: Number(m[1]) };
  m = CLASSIC_RE.exec(name);
  if (m) return { kind: "checkpoint", version: Number(m[1]), format: "classic" };
  m = MULTIPART_RE.exec(name);
  if (m) {
    return {
      kind: "checkpoint",
      version: Number(m[1]),
      format: "multipart",
      part: Number(m[2]),
      parts: Number(m[3]),
    };
  }
  m = V2_RE.exec(name);
  if (m) {
    return {
      kind: "checkpoint",
      version: Number(m[1]),
      format: "v2",
      uuid: m[2]!,
      extension: m[3] as "json" | "parquet",
    };
  }
  m = CRC_RE.exec(name);
  if (m) return { kind: "crc", version: Number(m[1]) };
  m = COMPACTED_RE.exec(name);
  if (m) return { kind: "compacted", fromVersion: Number(m[1]), toVersion: Number(m[2]) };
  return undefined;
}

/** Folder of V2 checkpoint sidecar files, relative to the table root. */
export const SIDECAR_DIR = `${LOG_DIR}/_sidecars`;

/** Path of a multi-part checkpoint part (1-based), relative to the table root. */
export function multipartCheckpointPath(version: number, part: number, parts: number): string {
  const p = String(part).padStart(10, "0");
  const n = String(parts).padStart(10, "0");
  return `${LOG_DIR}/${formatVersion(version)}.checkpoint.${p}.${n}.parquet`;
}

// Characters a path segment of a URI may hold unescaped, as Java's `java.net.URI` (and so Spark and
// Hadoop `Path.toUri`) leaves them: unreserved, sub-delims, ':', '@' and '/'. Everything else that
// is ASCII is percent-encoded; non-ASCII characters are kept as they are (Java's `URI.toString`).
const URI_PATH_SAFE = /[A-Za-z0-9\-_.!~*'();:@&=+$,/]/;

/**
 * Percent-encode a file path the way Delta writers put it into `add`/`remove`/`cdc` actions
 * (Delta PROTOCOL, "Add File and Remove File": `path` is a URI). A space becomes `%20`, `%` becomes
 * `%25`, `#` becomes `%23`; an absolute URI keeps its scheme (`:` and `/` are never encoded).
 *
 * @example
 * ```ts
 * import { encodeLogPath } from "./paths.ts";
 * if (encodeLogPath("x=A%2FA/p q.parquet") !== "x=A%252FA/p%20q.parquet") throw new Error("bad");
 * ```
 */
export function encodeLogPath(path: string): string {
  let out = "";
  for (const ch of path) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x80 || URI_PATH_SAFE.test(ch)) {
      out += ch;
    } else {
      out += "%" + code.toString(16).toUpperCase().padStart(2, "0");
    }
  }
  return out;
}

/**
 * Decode a path of an `add`/`remove`/`cdc` action once, giving the real object name
 * (`x=A%252FA` becomes `x=A%2FA`). Returns `undefined` for malformed escapes.
 *
 * @example
 * ```ts
 * import { decodeLogPath } from "./paths.ts";
 * if (decodeLogPath("special%20p@%23h") !== "special p@#h") throw new Error("bad");
 * ```
 */
export function decodeLogPath(path: string): string | undefined {
  if (!path.includes("%")) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
