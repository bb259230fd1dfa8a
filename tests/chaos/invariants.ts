/**
 * The chaos checker: the guarantees of lakestrike, checked over the table with the harness's own
 * reader (`independent_reader.ts`, which shares no code with the writer path).
 *
 * ```text
 *   list the table root ──► existence snapshot (before the log is read: a file a concurrent
 *        │                   commit adds later is confirmed with a get, never reported missing)
 *   walk the log ─────────► versions, timestamps, file lifetimes, gaps, log errors
 *        │
 *   read the key column of every active file at the latest version
 *        │
 *   report: lost / duplicated / refusedButWritten / unexpected keys,
 *           gaps, files that a retained version needs and storage lacks, unreadable versions
 * ```
 *
 * The invariants:
 *
 * 1. every acknowledged key is in the latest version exactly once;
 * 2. a key whose outcome is unknown (the client got no answer) is there at most once;
 * 3. a refused key is not there; a key in none of the three sets is reported as unexpected;
 * 4. commit files are contiguous above the newest checkpoint (log cleanup deletes commit files below
 *    a checkpoint, which is fine);
 * 5. every version that can be reconstructed and whose commit timestamp is within `retentionMs` of
 *    `nowMs`, and always the latest version, has all its data files in storage;
 * 6. the latest version is readable as a reader reads it (newest checkpoint, then commits), the
 *    newest checkpoint agrees with the commits before it, and every data file of it decodes.
 *
 * Ask it with `nowMs` taken before the call: files that a concurrent vacuum deletes during the check
 * then belong to versions older than the window it checks.
 *
 * @module
 */
import {
  type IndependentHistory,
  IndependentReadError,
  loadHistoryIndependently,
  readKeysIndependently,
  resolveDataPath,
} from "./independent_reader.ts";
import type { TableAccess } from "./table_access.ts";

/** Options of {@linkcode checkInvariants}. */
export interface InvariantOptions {
  /** The column that holds each event's key (a top-level column). */
  keyColumn: string;
  /** Keys the service acknowledged (2xx). */
  acked: ReadonlySet<string>;
  /** Keys the service refused (4xx, and poison). */
  refused: ReadonlySet<string>;
  /** Keys whose outcome the client does not know (no answer, 5xx, timeouts). */
  unknown: ReadonlySet<string>;
  /** "Now" in epoch ms, for the retention window. */
  nowMs: number;
  /** The retention window: versions committed at or after `nowMs - retentionMs` keep their files. */
  retentionMs: number;
  /** Data files read at once; default 8. */
  concurrency?: number;
}

/** A data file that a retained version needs and storage lacks. */
export interface MissingFile {
  /** The newest retained version that needs the file. */
  version: number;
  /** The file's path (URI-decoded, as in storage). */
  path: string;
}

/** What {@linkcode checkInvariants} found; every list is sorted. */
export interface InvariantReport {
  /** The latest version of the table; -1 when there is no log. */
  latestVersion: number;
  /** Acknowledged keys not in the latest version. */
  lost: string[];
  /** Acknowledged or unknown keys more than once in the latest version. */
  duplicated: string[];
  /** Refused keys in the latest version. */
  refusedButWritten: string[];
  /** Keys in the latest version that are in none of the sets (a phantom write). */
  unexpected: string[];
  /** Rows of the latest version whose key is null. */
  nullKeys: number;
  /** Problems that make a version unreadable, each naming its version. */
  unreadable: string[];
  /** Missing commit files above the newest checkpoint. */
  gaps: number[];
  /** Data files that a retained version needs and storage lacks. */
  missingFiles: MissingFile[];
  /** Rows read at the latest version. */
  rows: number;
  /** Versions inside the retention window (the latest always counts). */
  retainedVersions: number;
  /** True when every list above is empty and `nullKeys` is 0. */
  ok: boolean;
}

/** A key as a string: strings as they are, Dates as ISO text, other values by `String`. */
function keyText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** Largest element of ascending `sorted` that is `< bound`, or undefined. */
function lastBelow(sorted: readonly number[], bound: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < bound) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : sorted[lo - 1];
}

/** Files that retained versions need and `existing` lacks (confirmed with a get). */
async function findMissingFiles(
  access: TableAccess,
  history: IndependentHistory,
  existing: ReadonlySet<string>,
  retained: readonly number[],
): Promise<{ missing: MissingFile[]; errors: string[] }> {
  const missing: MissingFile[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const life of history.files) {
    const version = lastBelow(retained, life.removedVersion ?? Infinity);
    if (version === undefined || version < life.addedVersion) continue;
    let path: string;
    try {
      path = resolveDataPath(access, life.path);
    } catch (e) {
      errors.push(`version ${version}: ${(e as Error).message}`);
      continue;
    }
    if (existing.has(path) || seen.has(path)) continue;
    seen.add(path);
    // Not listed: committed after the listing (then it is there now) or gone.
    if (await access.get(path) !== undefined) continue;
    missing.push({ version, path: life.path });
  }
  return { missing, errors };
}

/**
 * Check the invariants (see the module documentation) on the table behind `access`.
 *
 * Deterministic for a table that does not change during the call: every list is sorted. Reads the
 * table root listing once, every commit file once, the newest checkpoint (and older ones only where
 * commit files are missing), and every data file of the latest version once.
 *
 * @example
 * ```ts
 * import { checkInvariants } from "./invariants.ts";
 * const access = { list: () => Promise.resolve([]), get: () => Promise.resolve(undefined) };
 * const report = await checkInvariants(access, {
 *   keyColumn: "key",
 *   acked: new Set(["k1"]),
 *   refused: new Set(),
 *   unknown: new Set(),
 *   nowMs: 0,
 *   retentionMs: 0,
 * });
 * // No table at all: the acknowledged key is lost.
 * if (report.latestVersion !== -1 || report.lost.join() !== "k1" || report.ok) throw new Error("bad");
 * ```
 */
export async function checkInvariants(
  access: TableAccess,
  options: InvariantOptions,
): Promise<InvariantReport> {
  // Existence first, the log second: see findMissingFiles.
  const existing = new Set(
    (await access.list("")).map((o) => o.path).filter((p) => !p.startsWith("_delta_log/")),
  );
  const history = await loadHistoryIndependently(access);
  const unreadable = [...history.errors];

  const windowStartMs = options.nowMs - options.retentionMs;
  const retained = history.versions
    .filter((v) => v.timestampMs >= windowStartMs || v.version === history.latestVersion)
    .map((v) => v.version);
  const found = await findMissingFiles(access, history, existing, retained);
  unreadable.push(...found.errors);

  const counts = new Map<string, number>();
  let nullKeys = 0;
  let rows = 0;
  if (history.latest !== undefined) {
    try {
      const read = await readKeysIndependently(access, history.latest, options.keyColumn, {
        collectErrors: true,
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      });
      for (const e of read.errors) {
        unreadable.push(`version ${history.latest.version}: ${e.message}`);
      }
      rows = read.values.length;
      for (const value of read.values) {
        if (value === null || value === undefined) {
          nullKeys++;
          continue;
        }
        const key = keyText(value);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    } catch (e) {
      if (!(e instanceof IndependentReadError)) throw e;
      unreadable.push(`version ${history.latest.version}: ${e.message}`);
    }
  }

  const lost: string[] = [];
  for (const key of options.acked) if (!counts.has(key)) lost.push(key);
  const duplicated: string[] = [];
  const refusedButWritten: string[] = [];
  const unexpected: string[] = [];
  for (const [key, n] of counts) {
    if (options.refused.has(key)) refusedButWritten.push(key);
    else if (options.acked.has(key) || options.unknown.has(key)) {
      if (n > 1) duplicated.push(key);
    } else unexpected.push(key);
  }
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const missingFiles = found.missing.sort((a, b) => byText(a.path, b.path));
  const report: InvariantReport = {
    latestVersion: history.latestVersion,
    lost: lost.sort(byText),
    duplicated: duplicated.sort(byText),
    refusedButWritten: refusedButWritten.sort(byText),
    unexpected: unexpected.sort(byText),
    nullKeys,
    unreadable: unreadable.sort(byText),
    gaps: history.gaps,
    missingFiles,
    rows,
    retainedVersions: retained.length,
    ok: false,
  };
  report.ok = report.lost.length === 0 && report.duplicated.length === 0 &&
    report.refusedButWritten.length === 0 && report.unexpected.length === 0 &&
    report.nullKeys === 0 && report.unreadable.length === 0 && report.gaps.length === 0 &&
    report.missingFiles.length === 0;
  return report;
}
