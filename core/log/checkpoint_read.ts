/**
 * Reading checkpoints into actions (Delta PROTOCOL, "Checkpoints"): classic single-part and
 * multi-part Parquet checkpoints, and V2 checkpoints (a JSON or Parquet top-level file whose
 * `sidecar` actions point at Parquet files in `_delta_log/_sidecars/`).
 *
 * Parquet is decoded with `hyparquet`, which returns Parquet maps as plain objects and int64 as
 * `bigint`; both are mapped to the action types here. It is loaded with a dynamic import when the
 * first Parquet checkpoint is read: a table whose log segment has none (or a JSON one) never loads
 * it, nor does a command's start (`deno task compact`, ADR 0046).
 *
 * @module
 */
import { mapBounded } from "../concurrency.ts";
import { CorruptLogError } from "../errors.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { type Action, parseActions, toAction } from "./actions.ts";
import type { CheckpointFiles } from "./log_segment.ts";
import { SIDECAR_DIR } from "./paths.ts";

/** Top-level checkpoint columns that hold actions this reader uses. */
const ACTION_COLUMNS = [
  "protocol",
  "metaData",
  "add",
  "remove",
  "txn",
  "domainMetadata",
  "checkpointMetadata",
  "sidecar",
] as const;

/** Sidecars of one V2 checkpoint read at once. */
const SIDECAR_CONCURRENCY_MAX = 8;

/** `bigint` -> `number` (when exact), recursively; everything else unchanged. */
function normalize(value: unknown): unknown {
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (Array.isArray(value)) return value.map(normalize);
  if (value instanceof Uint8Array || value instanceof Date) return value;
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalize(v);
    return out;
  }
  return value;
}

/** Map one checkpoint row struct of column `key` to the shape the JSON log uses. */
function rowToActionBody(key: string, body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    // Absent and null mean the same in a checkpoint row; keep nulls out.
    if (v !== null && v !== undefined) out[k] = v;
  }
  if (key === "add" && out.partitionValues === undefined) out.partitionValues = {};
  return out;
}

function toNumber(v: unknown): unknown {
  if (typeof v !== "bigint") return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/**
 * Fast path for the rows that dominate a checkpoint (`add`, `remove`): map the known fields
 * directly instead of walking the struct generically.
 */
function fileRowToBody(
  key: "add" | "remove",
  row: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in row) {
    const v = row[k];
    if (v === null || v === undefined) continue;
    switch (k) {
      case "size":
      case "modificationTime":
      case "deletionTimestamp":
      case "baseRowId":
      case "defaultRowCommitVersion":
        out[k] = toNumber(v);
        break;
      case "deletionVector":
        out[k] = normalize(v);
        break;
      case "stats_parsed":
        out.statsParsed = normalize(v);
        break;
      case "partitionValues_parsed":
        // Derived from `partitionValues`, which checkpoints always hold too.
        break;
      default:
        out[k] = v;
    }
  }
  if (key === "add" && out.partitionValues === undefined) out.partitionValues = {};
  return out;
}

/** Actions decoded from one checkpoint file, and the first malformed row's error, if any. */
interface DecodedCheckpoint {
  actions: Action[];
  error?: CorruptLogError;
}

async function decodeParquetCheckpoint(
  bytes: Uint8Array,
  source: string,
): Promise<DecodedCheckpoint> {
  const file = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer as ArrayBuffer;
  const { parquetMetadata, parquetReadObjects, parquetSchema } = await import("hyparquet");
  let rows: Record<string, unknown>[];
  try {
    const metadata = parquetMetadata(file);
    const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
    const columns = ACTION_COLUMNS.filter((c) => present.has(c));
    if (columns.length === 0) return { actions: [] };
    rows = await parquetReadObjects({ file, metadata, columns });
  } catch (e) {
    throw new CorruptLogError(`Cannot read checkpoint ${source}: invalid Parquet (${e})`, {
      cause: e,
    });
  }
  const out: DecodedCheckpoint = { actions: [] };
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    for (const key of ACTION_COLUMNS) {
      const body = row[key];
      if (body === null || body === undefined) continue;
      try {
        const mapped = key === "add" || key === "remove"
          ? fileRowToBody(key, body as Record<string, unknown>)
          : rowToActionBody(key, normalize(body) as Record<string, unknown>);
        const action = toAction({ [key]: mapped }, source, i + 1);
        if (action) out.actions.push(action);
      } catch (e) {
        // Keep going: a missing protocol is reported before a malformed row (see the caller).
        if (!(e instanceof CorruptLogError)) throw e;
        out.error ??= e;
      }
      break;
    }
  }
  return out;
}

/**
 * Decode the rows of one Parquet checkpoint file (classic part, V2 top-level file or sidecar) into
 * actions.
 *
 * @param bytes the whole file
 * @param source a name for error messages
 * @throws {CorruptLogError} when the file is not Parquet or a row holds a malformed action
 */
export async function parseParquetCheckpoint(bytes: Uint8Array, source: string): Promise<Action[]> {
  const decoded = await decodeParquetCheckpoint(bytes, source);
  if (decoded.error) throw decoded.error;
  return decoded.actions;
}

async function readSidecars(
  storage: ObjectStorage,
  sidecars: readonly string[],
): Promise<Action[][]> {
  return await mapBounded(sidecars, SIDECAR_CONCURRENCY_MAX, async (name) => {
    // Delta PROTOCOL, "Sidecar File Information": a path relative to `_delta_log/_sidecars`
    // (or an absolute URI, which this reader does not follow outside the table).
    const path = name.includes("/") ? name : `${SIDECAR_DIR}/${name}`;
    return await parseParquetCheckpoint(await storage.get(path), path);
  });
}

/**
 * Read a complete checkpoint into actions: every part of a multi-part checkpoint, and for V2
 * checkpoints the top-level file plus all its sidecars (the `sidecar` actions themselves are
 * dropped from the result). The checkpoint must hold a `protocol` and a `metaData` action.
 *
 * @throws {CorruptLogError} when a file is not a valid checkpoint or misses protocol/metaData
 */
export async function loadCheckpointActions(
  storage: ObjectStorage,
  checkpoint: CheckpointFiles,
): Promise<Action[]> {
  const parts = await Promise.all(checkpoint.files.map(async (meta) => {
    const bytes = await storage.get(meta.path);
    if (meta.path.endsWith(".json")) {
      return { actions: parseActions(new TextDecoder().decode(bytes), meta.path) };
    }
    return await decodeParquetCheckpoint(bytes, meta.path);
  }));
  const actions: Action[] = [];
  const sidecars: string[] = [];
  let error: CorruptLogError | undefined;
  for (const part of parts) {
    error ??= part.error;
    for (const a of part.actions) {
      if ("sidecar" in a) sidecars.push(a.sidecar.path);
      else actions.push(a);
    }
  }
  if (sidecars.length > 0) {
    for (const part of await readSidecars(storage, sidecars)) {
      for (const a of part) actions.push(a);
    }
  }
  const first = checkpoint.files[0]?.path ?? `checkpoint ${checkpoint.version}`;
  if (!actions.some((a) => "protocol" in a)) {
    throw new CorruptLogError(
      `Cannot read checkpoint ${first}: no protocol action in reconstructed snapshot`,
    );
  }
  if (error) throw error;
  if (!actions.some((a) => "metaData" in a)) {
    throw new CorruptLogError(
      `Cannot read checkpoint ${first}: no metaData action in reconstructed snapshot`,
    );
  }
  return actions;
}
