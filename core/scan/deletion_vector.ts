/**
 * Deletion vectors (Delta PROTOCOL, "Deletion Vectors" and "Deletion Vector Format"): z85-encoded
 * descriptors, the DV file layout and the portable 64-bit RoaringBitmap ("RoaringTreemap")
 * serialization. A deletion vector is a set of row indexes (positions in the data file, from 0)
 * whose rows are not part of the table.
 *
 * @module
 */
import { CorruptLogError, UnsupportedFeatureError } from "../errors.ts";
import type { DeletionVectorDescriptor } from "../log/actions.ts";
import type { ObjectStorage } from "../storage/storage.ts";

const Z85_ALPHABET =
  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_DECODE = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < Z85_ALPHABET.length; i++) table[Z85_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Magic number in front of every serialized deletion vector bitmap. */
export const DELETION_VECTOR_MAGIC = 1681511377;
/** Magic number of the older native RoaringBitmapArray serialization. */
const NATIVE_MAGIC = 1681511376;

/**
 * Decode Z85 (ZeroMQ RFC 32) text; its length must be a multiple of 5.
 *
 * @example
 * ```ts
 * import { decodeZ85 } from "./deletion_vector.ts";
 * const bytes = decodeZ85("HelloWorld");
 * if (bytes.join(",") !== "134,79,210,111,181,89,247,91") throw new Error("bad z85");
 * ```
 */
export function decodeZ85(text: string): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new CorruptLogError(
      `Cannot decode z85 text of length ${text.length}: not a multiple of 5`,
    );
  }
  const out = new Uint8Array((text.length / 5) * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(i + j);
      const digit = code < 128 ? Z85_DECODE[code]! : -1;
      if (digit < 0) {
        throw new CorruptLogError(
          `Cannot decode z85 text: invalid character ${JSON.stringify(text[i + j])} at ${i + j}`,
        );
      }
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new CorruptLogError(`Cannot decode z85 text: overflow at ${i}`);
    view.setUint32((i / 5) * 4, value, false);
  }
  return out;
}

function formatUuid(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/**
 * The storage path of a `u` (relative) deletion vector file, relative to the table root:
 * `<random prefix>/deletion_vector_<uuid>.bin`, the uuid being the z85-decoded last 20 characters.
 *
 * @example
 * ```ts
 * import { relativeDeletionVectorPath } from "./deletion_vector.ts";
 * const p = relativeDeletionVectorPath("ab^-aqEH.-t@S}K{vb[*k^");
 * if (p !== "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin") throw new Error(p);
 * ```
 */
export function relativeDeletionVectorPath(pathOrInlineDv: string): string {
  if (pathOrInlineDv.length < 20) {
    throw new CorruptLogError(
      `Cannot resolve deletion vector ${JSON.stringify(pathOrInlineDv)}: shorter than a z85 uuid`,
    );
  }
  const prefix = pathOrInlineDv.slice(0, -20);
  const uuid = formatUuid(decodeZ85(pathOrInlineDv.slice(-20)));
  const name = `deletion_vector_${uuid}.bin`;
  return prefix === "" ? name : `${prefix}/${name}`;
}

function readU32(view: DataView, pos: number, what: string): number {
  if (pos + 4 > view.byteLength) throw truncated(what);
  return view.getUint32(pos, true);
}

function truncated(what: string): CorruptLogError {
  return new CorruptLogError(`Cannot read deletion vector: ${what} is truncated`);
}

const SERIAL_COOKIE_NO_RUNCONTAINER = 12346;
const SERIAL_COOKIE = 12347;
const NO_OFFSET_THRESHOLD = 4;

/**
 * Parse one standard 32-bit RoaringBitmap at `start`; calls `emit` for every value in ascending
 * order and returns the position after it (RoaringFormatSpec).
 */
function parseRoaring32(view: DataView, start: number, emit: (low: number) => void): number {
  let pos = start;
  const cookie = readU32(view, pos, "roaring cookie");
  pos += 4;
  let size: number;
  let runFlags: Uint8Array | undefined;
  if ((cookie & 0xffff) === SERIAL_COOKIE) {
    size = (cookie >>> 16) + 1;
    const bytes = Math.ceil(size / 8);
    if (pos + bytes > view.byteLength) throw truncated("roaring run flags");
    runFlags = new Uint8Array(view.buffer, view.byteOffset + pos, bytes);
    pos += bytes;
  } else if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
    size = readU32(view, pos, "roaring size");
    pos += 4;
  } else {
    throw new CorruptLogError(`Cannot read deletion vector: unknown roaring cookie ${cookie}`);
  }
  if (size > 65536) throw new CorruptLogError(`Cannot read deletion vector: ${size} containers`);
  const keys: number[] = [];
  const cardinalities: number[] = [];
  if (pos + size * 4 > view.byteLength) throw truncated("roaring header");
  for (let i = 0; i < size; i++) {
    keys.push(view.getUint16(pos, true));
    cardinalities.push(view.getUint16(pos + 2, true) + 1);
    pos += 4;
  }
  if (runFlags === undefined || size >= NO_OFFSET_THRESHOLD) pos += size * 4; // offset header
  for (let i = 0; i < size; i++) {
    const high = keys[i]! * 65536;
    const cardinality = cardinalities[i]!;
    const isRun = runFlags !== undefined && (runFlags[i >> 3]! & (1 << (i & 7))) !== 0;
    if (isRun) {
      if (pos + 2 > view.byteLength) throw truncated("run container");
      const runs = view.getUint16(pos, true);
      pos += 2;
      if (pos + runs * 4 > view.byteLength) throw truncated("run container");
      for (let r = 0; r < runs; r++) {
        const begin = view.getUint16(pos, true);
        const length = view.getUint16(pos + 2, true);
        pos += 4;
        for (let v = begin; v <= begin + length; v++) emit(high + v);
      }
    } else if (cardinality <= 4096) {
      if (pos + cardinality * 2 > view.byteLength) throw truncated("array container");
      for (let j = 0; j < cardinality; j++) emit(high + view.getUint16(pos + j * 2, true));
      pos += cardinality * 2;
    } else {
      if (pos + 8192 > view.byteLength) throw truncated("bitmap container");
      for (let w = 0; w < 2048; w++) {
        let word = view.getUint32(pos + w * 4, true);
        while (word !== 0) {
          const bit = 31 - Math.clz32(word & -word);
          emit(high + w * 32 + bit);
          word &= word - 1;
        }
      }
      pos += 8192;
    }
  }
  return pos;
}

/**
 * Parse a serialized deletion vector bitmap (magic number, then a portable 64-bit RoaringBitmap)
 * into its row indexes, ascending.
 *
 * @example
 * ```ts
 * import { decodeZ85, parseDeletionVectorBitmap } from "./deletion_vector.ts";
 * // The inline example of Delta PROTOCOL, "Deletion Vector Descriptor Schema".
 * const rows = parseDeletionVectorBitmap(decodeZ85("wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L"));
 * if (rows.join(",") !== "3,4,7,11,18,29") throw new Error(rows.join(","));
 * ```
 */
export function parseDeletionVectorBitmap(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = readU32(view, 0, "magic number");
  const rows: number[] = [];
  if (magic === DELETION_VECTOR_MAGIC) {
    // Portable format: u64 bucket count, then per bucket a u32 key and a 32-bit RoaringBitmap.
    if (view.byteLength < 12) throw truncated("bucket count");
    const buckets = view.getBigUint64(4, true);
    if (buckets > 0xffffffffn) {
      throw new CorruptLogError(`Cannot read deletion vector: ${buckets} buckets`);
    }
    let pos = 12;
    for (let b = 0; b < Number(buckets); b++) {
      const key = readU32(view, pos, "bucket key");
      pos += 4;
      const high = key * 2 ** 32;
      pos = parseRoaring32(view, pos, (low) => rows.push(high + low));
    }
    return rows;
  }
  const littleEndian = magic === NATIVE_MAGIC;
  if (littleEndian || view.getUint32(0, false) === NATIVE_MAGIC) {
    // The older "native" RoaringBitmapArray format (the inline example of PROTOCOL.md uses it):
    // a count of 32-bit bitmaps, each prefixed by its byte size; bitmap i holds bucket key i.
    if (view.byteLength < 8) throw truncated("bitmap count");
    const count = view.getUint32(4, littleEndian);
    let pos = 8;
    for (let i = 0; i < count; i++) {
      if (pos + 4 > view.byteLength) throw truncated("bitmap size");
      const size = view.getUint32(pos, littleEndian);
      pos += 4;
      const high = i * 2 ** 32;
      const end = parseRoaring32(view, pos, (low) => rows.push(high + low));
      if (end !== pos + size) {
        throw new CorruptLogError(`Cannot read deletion vector: bitmap ${i} size mismatch`);
      }
      pos = end;
    }
    return rows;
  }
  throw new CorruptLogError(`Cannot read deletion vector: bad magic number ${magic}`);
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE) of `bytes`, as `java.util.zip.CRC32` computes it. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A URI scheme at the start of a path: `s3:`, `file:`, `abfss:`… */
const SCHEME_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s;

/** Schemes naming the same store (Hadoop's S3 connectors). */
const SCHEME_ALIASES: Readonly<Record<string, string>> = { s3a: "s3", s3n: "s3" };

/** Scheme, authority and path of an absolute URI (already percent-decoded), or `undefined`. */
function splitAbsoluteUri(
  uri: string,
): { scheme: string; authority: string; path: string } | undefined {
  const m = SCHEME_RE.exec(uri);
  if (!m) return undefined;
  const lower = m[1]!.toLowerCase();
  const scheme = SCHEME_ALIASES[lower] ?? lower;
  const rest = m[2]!;
  if (!rest.startsWith("/")) return undefined; // opaque (`s3:x`): not a path
  let authority = "";
  let path = rest;
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    path = slash < 0 ? "/" : rest.slice(slash);
  }
  authority = authority.toLowerCase();
  // `file:/p`, `file:///p` and `file://localhost/p` name the same local file.
  if (scheme === "file" && authority === "localhost") authority = "";
  return { scheme, authority, path };
}

/**
 * The storage path (relative to the table root `storageLocation`) of a path from the log that is
 * already percent-decoded (as `add`/`remove`/`cdc` paths are after reading), or `undefined` when it
 * is an absolute URI outside the root. Relative paths are returned as they are. Both sides are
 * compared decoded (the location is a URI, so it is decoded first); `file:/p`, `file:///p` and
 * `file://localhost/p` are one file, and `s3`, `s3a` and `s3n` one scheme.
 *
 * @throws {CorruptLogError} when the path has a scheme but is not a hierarchical URI (`s3:x`), or
 *   when a path resolved under the root has `.` or `..` segments: which file it names is unknown
 *
 * @example
 * ```ts
 * import { tableRelativePath } from "./deletion_vector.ts";
 * const root = "file:///tmp/my%20table";
 * if (tableRelativePath("file:/tmp/my table/a.parquet", root) !== "a.parquet") throw new Error("1");
 * if (tableRelativePath("s3a://b/t/x/a.parquet", "s3://b/t") !== "x/a.parquet") throw new Error("2");
 * if (tableRelativePath("s3://b/other/a.parquet", "s3://b/t") !== undefined) throw new Error("3");
 * if (tableRelativePath("a=1/a.parquet", "s3://b/t") !== "a=1/a.parquet") throw new Error("4");
 * ```
 */
export function tableRelativePath(path: string, storageLocation: string): string | undefined {
  if (!SCHEME_RE.test(path)) return path;
  const abs = splitAbsoluteUri(path);
  if (abs === undefined) {
    throw new CorruptLogError(
      `Cannot resolve path ${JSON.stringify(path)}: not a hierarchical URI`,
    );
  }
  const root = splitAbsoluteUri(safeDecodeComponent(storageLocation));
  if (root === undefined) return undefined; // a root that is no URI holds no absolute path
  if (abs.scheme !== root.scheme || abs.authority !== root.authority) return undefined;
  const rootPath = root.path.replace(/\/+$/, "") + "/";
  if (!abs.path.startsWith(rootPath)) return undefined;
  const rel = abs.path.slice(rootPath.length);
  if (rel === "" || rel.split("/").some((s) => s === "." || s === "..")) {
    throw new CorruptLogError(
      `Cannot resolve path ${JSON.stringify(path)}: not a file path under ${storageLocation}`,
    );
  }
  return rel;
}

/**
 * Where a deletion vector's file lives, relative to the storage root, or `undefined` when inline.
 * An absolute (`p`) path is percent-decoded first and must lie under `storage.location` (see
 * {@linkcode tableRelativePath}).
 *
 * @throws {UnsupportedFeatureError} for a `p` path outside the root
 * @throws {CorruptLogError} for a `p` path that cannot be decoded or parsed
 */
export function deletionVectorStoragePath(
  descriptor: DeletionVectorDescriptor,
  storageLocation: string,
): string | undefined {
  switch (descriptor.storageType) {
    case "i":
      return undefined;
    case "u":
      return relativeDeletionVectorPath(descriptor.pathOrInlineDv);
    case "p": {
      const abs = descriptor.pathOrInlineDv;
      let decoded: string;
      try {
        decoded = decodeURIComponent(abs);
      } catch {
        throw new CorruptLogError(
          `Cannot resolve deletion vector ${abs}: malformed percent-encoding`,
        );
      }
      if (!SCHEME_RE.test(decoded)) {
        throw new CorruptLogError(`Cannot resolve deletion vector ${abs}: not an absolute URI`);
      }
      const rel = tableRelativePath(decoded, storageLocation);
      if (rel !== undefined) return rel;
      throw new UnsupportedFeatureError(
        `Cannot read deletion vector ${abs}: absolute path outside the table root ${storageLocation}`,
      );
    }
    default:
      throw new UnsupportedFeatureError(
        `Cannot read deletion vector: unknown storageType ${
          JSON.stringify(descriptor.storageType)
        }`,
      );
  }
}

function safeDecodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Load the row indexes of a deletion vector, ascending: inline (`i`) from the descriptor, else from
 * its file (`u`, `p`): at `offset` a 4-byte big-endian size, the bitmap, and its CRC-32.
 */
export async function loadDeletionVector(
  storage: ObjectStorage,
  descriptor: DeletionVectorDescriptor,
): Promise<number[]> {
  let bitmap: Uint8Array;
  const path = deletionVectorStoragePath(descriptor, storage.location);
  if (path === undefined) {
    bitmap = decodeZ85(descriptor.pathOrInlineDv).subarray(0, descriptor.sizeInBytes);
  } else {
    const offset = descriptor.offset ?? 1;
    const bytes = await storage.getRange(path, offset, descriptor.sizeInBytes + 8);
    if (bytes.byteLength < descriptor.sizeInBytes + 8) {
      throw new CorruptLogError(`Cannot read deletion vector ${path}: file is truncated`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = view.getUint32(0, false);
    if (size !== descriptor.sizeInBytes) {
      throw new CorruptLogError(
        `Cannot read deletion vector ${path}: size ${size} differs from sizeInBytes ${descriptor.sizeInBytes}`,
      );
    }
    bitmap = bytes.subarray(4, 4 + size);
    const checksum = view.getUint32(4 + size, false);
    if (crc32(bitmap) !== checksum) {
      throw new CorruptLogError(`Cannot read deletion vector ${path}: checksum mismatch`);
    }
  }
  const rows = parseDeletionVectorBitmap(bitmap);
  if (rows.length !== descriptor.cardinality) {
    throw new CorruptLogError(
      `Cannot read deletion vector: ${rows.length} rows, cardinality says ${descriptor.cardinality}`,
    );
  }
  return rows;
}
