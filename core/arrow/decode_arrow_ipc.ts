/**
 * Decode an Arrow IPC body (stream or file) that a client sent, without trusting it: the one entry
 * point of the edge and the runner intake for Arrow bytes.
 *
 * Arrow JS decodes IPC metadata (FlatBuffers) without verifying it. Out-of-bounds reads silently
 * give zeros, and a few bytes can make it allocate without bound: two `children` entries pointing
 * back at their own field make the schema decoder build 2^depth fields, and a record batch that
 * claims 2^31 rows while its columns hold 12 makes it back-fill every column with a null bitmap of
 * 256 MiB (`ensureSameLengthData`), silently turning missing rows into nulls on the way. A 4 KiB
 * body brought the process down with an out-of-memory crash.
 *
 * So {@linkcode decodeArrowIpc} first walks every message's metadata the way Arrow JS will read it
 * and checks it ({@linkcode checkArrowIpc}), then decodes, then checks the decoded buffers
 * (`validateArrowLayout`):
 *
 * * every table, vector and string lies inside its message, every vtable is well formed;
 * * metadata version V4 or V5; no compressed bodies (no codec is registered to read them);
 * * at most {@linkcode IPC_FIELDS_MAX} fields (nested ones counted each time they are reached) and
 *   at most {@linkcode IPC_DEPTH_MAX} levels;
 * * every record batch has the field nodes its schema needs, each top-level column as long as the
 *   batch, lengths and null counts in `[0, 2^31)`, and every buffer region inside the message body;
 * * every message body inside the bytes, and nothing after a stream's end-of-stream marker (Arrow JS
 *   would read it as another stream).
 *
 * An Arrow file (`ARROW1` magic) is read the way Arrow JS reads it: the footer's schema, then the
 * message at each block's offset, which must be a dictionary batch (dictionary blocks) or a record
 * batch (record batch blocks; a block pointing at a schema would make Arrow JS loop forever).
 *
 * Decisions and limits: ADR 0015.
 *
 * @module
 */
import * as arrow from "apache-arrow";
import { LakestrikeError } from "../errors.ts";
import { validateArrowLayout } from "./validate_arrow_layout.ts";

/** Most fields (nested ones included, counted each time reached) a schema may have. */
export const IPC_FIELDS_MAX = 10_000;
/** Deepest nesting of fields a schema may have. */
export const IPC_DEPTH_MAX = 64;
/** Most custom metadata entries, field nodes, buffers or variadic counts in one vector. */
export const IPC_VECTOR_ITEMS_MAX = 1_000_000;

const INT32_MAX = 0x7fffffff;

/** Arrow IPC bytes whose metadata cannot be decoded safely. */
export class ArrowIpcError extends LakestrikeError {
  /** What is wrong, without the "Cannot". */
  readonly reason: string;
  /** Create the error for a reason. */
  constructor(reason: string) {
    super("INVALID_ARGUMENT", `Cannot read Arrow IPC data: ${reason}`);
    this.name = "ArrowIpcError";
    this.reason = reason;
  }
}

function fail(reason: string): never {
  throw new ArrowIpcError(reason);
}

/**
 * Check, decode and check again: the metadata of every message ({@linkcode checkArrowIpc}),
 * Arrow JS's `tableFromIPC`, then every decoded buffer (`validateArrowLayout`).
 *
 * @throws {ArrowIpcError} on metadata that is malformed or over the limits.
 * @throws {ArrowLayoutError} on buffers that do not hold what the lengths claim.
 * @throws {Error} whatever else `tableFromIPC` refuses.
 *
 * @example
 * ```ts
 * import * as arrow from "apache-arrow";
 * import { decodeArrowIpc } from "./decode_arrow_ipc.ts";
 * const bytes = arrow.tableToIPC(arrow.tableFromArrays({ n: Int32Array.of(1, 2) }), "stream");
 * if (decodeArrowIpc(bytes).numRows !== 2) throw new Error("unexpected");
 * const truncated = bytes.slice(0, bytes.length - 24);
 * let refused = false;
 * try {
 *   decodeArrowIpc(truncated);
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("a truncated body must be refused");
 * ```
 */
export function decodeArrowIpc(bytes: Uint8Array): arrow.Table {
  checkArrowIpc(bytes);
  const table = arrow.tableFromIPC(bytes);
  validateArrowLayout(table);
  return table;
}

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

function hasMagic(bytes: Uint8Array, at: number): boolean {
  return MAGIC.every((b, k) => bytes[at + k] === b);
}

/**
 * Check the metadata of every message Arrow JS's `tableFromIPC` will read from `bytes`: for a
 * stream, every message in order; for a file (`ARROW1` magic), the footer's schema and the
 * dictionary and record batch messages its blocks point at.
 *
 * @throws {ArrowIpcError} naming the first problem.
 */
export function checkArrowIpc(bytes: Uint8Array): void {
  if (bytes.length >= 6 && hasMagic(bytes, 0)) checkFile(bytes);
  else checkStream(bytes);
}

// ---------------------------------------------------------------------------------------------
// FlatBuffers reading with bounds, mirroring flatbuffers' ByteBuffer (signed offsets).

class Flat {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(pos: number, size: number, what: string): void {
    if (!(pos >= 0 && pos + size <= this.bytes.length)) fail(`${what} out of bounds`);
  }
  i16(pos: number): number {
    this.need(pos, 2, "metadata");
    return this.view.getInt16(pos, true);
  }
  i32(pos: number): number {
    this.need(pos, 4, "metadata");
    return this.view.getInt32(pos, true);
  }
  i64(pos: number): bigint {
    this.need(pos, 8, "metadata");
    return this.view.getBigInt64(pos, true);
  }
  /** A table at `pos`: its fields, by index, as positions (or `undefined` when absent). */
  table(pos: number, what: string): Table {
    this.need(pos, 4, what);
    const vtable = pos - this.i32(pos);
    const vtableSize = this.i16(vtable);
    if (vtableSize < 4 || vtableSize % 2 !== 0) fail(`${what}: malformed vtable`);
    this.need(vtable, vtableSize, what);
    const tableSize = this.i16(vtable + 2);
    if (tableSize < 4) fail(`${what}: malformed vtable`);
    this.need(pos, tableSize, what);
    return new Table(this, pos, vtable, vtableSize, tableSize, what);
  }
}

class Table {
  constructor(
    readonly flat: Flat,
    readonly pos: number,
    readonly vtable: number,
    readonly vtableSize: number,
    readonly size: number,
    readonly what: string,
  ) {}
  /** Position of field `index` with `size` bytes inside the table, or `undefined` when absent. */
  field(index: number, size: number): number | undefined {
    const slot = 4 + 2 * index;
    if (slot >= this.vtableSize) return undefined;
    const offset = this.flat.i16(this.vtable + slot);
    if (offset === 0) return undefined;
    if (offset < 0 || offset + size > this.size) fail(`${this.what}: field ${index} out of bounds`);
    return this.pos + offset;
  }
  i16(index: number): number | undefined {
    const at = this.field(index, 2);
    return at === undefined ? undefined : this.flat.i16(at);
  }
  i32(index: number): number | undefined {
    const at = this.field(index, 4);
    return at === undefined ? undefined : this.flat.i32(at);
  }
  i64(index: number): bigint | undefined {
    const at = this.field(index, 8);
    return at === undefined ? undefined : this.flat.i64(at);
  }
  u8(index: number): number | undefined {
    const at = this.field(index, 1);
    return at === undefined ? undefined : this.flat.bytes[at]!;
  }
  /** Target position of an offset field (table, vector, string, union). */
  private target(index: number): number | undefined {
    const at = this.field(index, 4);
    if (at === undefined) return undefined;
    return at + this.flat.i32(at);
  }
  child(index: number, what: string): Table | undefined {
    const to = this.target(index);
    return to === undefined ? undefined : this.flat.table(to, what);
  }
  /** Start and length of a vector of `itemSize`-byte items (strings: `itemSize` 1). */
  vector(index: number, itemSize: number, what: string): [number, number] | undefined {
    const to = this.target(index);
    if (to === undefined) return undefined;
    const n = this.flat.i32(to);
    if (n < 0 || n > IPC_VECTOR_ITEMS_MAX) fail(`${what}: ${n} items`);
    this.flat.need(to + 4, n * itemSize, what);
    return [to + 4, n];
  }
  /** The tables of a vector of tables. */
  tables(index: number, what: string): Table[] {
    const v = this.vector(index, 4, what);
    if (v === undefined) return [];
    const out: Table[] = [];
    for (let i = 0; i < v[1]; i++) {
      const at = v[0] + 4 * i;
      out.push(this.flat.table(at + this.flat.i32(at), what));
    }
    return out;
  }
  string(index: number, what: string): void {
    this.vector(index, 1, what);
  }
}

// ---------------------------------------------------------------------------------------------
// Arrow messages (format/Message.fbs, Schema.fbs)

const HEADER_SCHEMA = 1, HEADER_DICTIONARY_BATCH = 2, HEADER_RECORD_BATCH = 3;
const METADATA_V4 = 3, METADATA_V5 = 4;

/**
 * The scalar fields (their byte sizes, by field index) of the `Type` union members whose table
 * Arrow JS reads: Int, FloatingPoint, Decimal, Date, Time, Timestamp, Interval, Union,
 * FixedSizeBinary, FixedSizeList, Map, Duration (Schema.fbs).
 */
const TYPE_SCALARS: ReadonlyMap<number, readonly number[]> = new Map([
  [2, [4, 1]],
  [3, [2]],
  [7, [4, 4, 4]],
  [8, [2]],
  [9, [2, 4]],
  [10, [2]],
  [11, [2]],
  [14, [2]],
  [15, [4]],
  [16, [4]],
  [17, [1]],
  [18, [2]],
]);
const TYPE_UNION = 14, TYPE_TIMESTAMP = 10, TYPE_MAX = 26;

/** What the record batches of a schema must hold. */
interface SchemaShape {
  /** Field nodes of each top-level field's subtree. */
  topNodes: number[];
  /** Field nodes of each dictionary's value subtree, by dictionary id. */
  dictionaryNodes: Map<bigint, number>;
}

function checkKeyValues(t: Table, index: number, what: string): void {
  for (const kv of t.tables(index, what)) {
    kv.string(0, what);
    kv.string(1, what);
  }
}

function checkSchema(schema: Table): SchemaShape {
  let fields = 0;
  const dictionaryNodes = new Map<bigint, number>();
  /** Checks a field; returns the field nodes its subtree takes in a record batch. */
  const checkField = (f: Table, depth: number): number => {
    if (++fields > IPC_FIELDS_MAX) fail(`more than ${IPC_FIELDS_MAX} fields`);
    if (depth > IPC_DEPTH_MAX) fail(`fields nested deeper than ${IPC_DEPTH_MAX}`);
    f.string(0, "field name");
    f.u8(1);
    const typeType = f.u8(2) ?? 0;
    if (typeType > TYPE_MAX) fail(`unknown type ${typeType}`);
    const scalars = TYPE_SCALARS.get(typeType);
    if (scalars !== undefined) {
      const type = f.child(3, "field type");
      if (type === undefined) fail("field type is missing");
      scalars.forEach((size, i) => type.field(i, size));
      if (typeType === TYPE_UNION) type.vector(1, 4, "union type ids");
      if (typeType === TYPE_TIMESTAMP) type.string(1, "timestamp zone");
    }
    let nodes = 1;
    for (const c of f.tables(5, "field children")) nodes += checkField(c, depth + 1);
    checkKeyValues(f, 6, "field metadata");
    const dictionary = f.child(4, "dictionary encoding");
    if (dictionary !== undefined) {
      const id = dictionary.i64(0) ?? 0n;
      const index = dictionary.child(1, "dictionary index type");
      index?.i32(0);
      index?.u8(1);
      dictionary.u8(2);
      if (!dictionaryNodes.has(id)) dictionaryNodes.set(id, nodes);
      return 1; // a dictionary-encoded column is one node of indices in a record batch
    }
    return nodes;
  };
  const topNodes = schema.tables(1, "schema fields").map((f) => checkField(f, 1));
  checkKeyValues(schema, 2, "schema metadata");
  return { topNodes, dictionaryNodes };
}

/** Checks a record batch against the shape it must have; `topNodes` of its columns. */
function checkRecordBatch(batch: Table, topNodes: readonly number[], bodyLength: number): void {
  const length = batch.i64(0) ?? 0n;
  if (length < 0n || length > BigInt(INT32_MAX)) fail(`record batch of ${length} rows`);
  const nodes = batch.vector(1, 16, "field nodes");
  const needed = topNodes.reduce((a, b) => a + b, 0);
  if ((nodes?.[1] ?? 0) < needed) fail(`${nodes?.[1] ?? 0} field nodes for ${needed} fields`);
  const flat = batch.flat;
  for (let i = 0; i < (nodes?.[1] ?? 0); i++) {
    const nodeLength = flat.i64(nodes![0] + 16 * i);
    const nullCount = flat.i64(nodes![0] + 16 * i + 8);
    if (
      nodeLength < 0n || nodeLength > BigInt(INT32_MAX) || nullCount < 0n || nullCount > nodeLength
    ) {
      fail(`field node ${i}: length ${nodeLength}, null count ${nullCount}`);
    }
  }
  let at = 0;
  for (const n of topNodes) {
    const columnLength = flat.i64(nodes![0] + 16 * at);
    if (columnLength !== length) fail(`a column of ${columnLength} rows in a batch of ${length}`);
    at += n;
  }
  const buffers = batch.vector(2, 16, "buffers");
  for (let i = 0; i < (buffers?.[1] ?? 0); i++) {
    const offset = flat.i64(buffers![0] + 16 * i);
    const size = flat.i64(buffers![0] + 16 * i + 8);
    if (offset < 0n || size < 0n || offset + size > BigInt(bodyLength)) {
      fail(`buffer ${i} (${size} bytes at ${offset}) is outside the ${bodyLength}-byte body`);
    }
  }
  if (batch.child(3, "body compression") !== undefined) {
    fail("compressed bodies are not supported");
  }
  batch.vector(4, 8, "variadic buffer counts");
}

/** A message's checked metadata. */
interface MessageAt {
  headerType: number;
  header: Table;
  bodyLength: number;
  /** Position right after the metadata (where the body starts). */
  end: number;
}

/**
 * Reads the message at `pos` as Arrow JS's MessageReader does (continuation marker, legacy length
 * prefix); `undefined` at the end of the stream.
 */
function readMessageAt(bytes: Uint8Array, flat: Flat, pos: number): MessageAt | undefined {
  if (pos + 4 > bytes.length) return undefined;
  let metadataLength = flat.i32(pos);
  pos += 4;
  if (metadataLength === -1) {
    if (pos + 4 > bytes.length) return undefined;
    metadataLength = flat.i32(pos);
    pos += 4;
  }
  if (metadataLength === 0) return undefined; // end of stream
  if (metadataLength < 0 || pos + metadataLength > bytes.length) {
    fail(`message metadata of ${metadataLength} bytes at ${pos} is past the end`);
  }
  const metadata = new Flat(bytes.subarray(pos, pos + metadataLength));
  const end = pos + metadataLength;
  const message = metadata.table(metadata.i32(0), "message");
  const version = message.i16(0) ?? 0;
  if (version !== METADATA_V4 && version !== METADATA_V5) {
    fail(`metadata version ${version} (only V4 and V5 are read)`);
  }
  const bodyLength = message.i64(3) ?? 0n;
  if (bodyLength < 0n || bodyLength > BigInt(bytes.length - end)) {
    fail(`message body of ${bodyLength} bytes is past the end`);
  }
  checkKeyValues(message, 4, "message metadata");
  const header = message.child(2, "message header");
  if (header === undefined) fail("message without a header");
  return { headerType: message.u8(1) ?? 0, header, bodyLength: Number(bodyLength), end };
}

/** Where the end-of-stream marker that {@linkcode readMessageAt} found at `pos` ends. */
function endOfStream(bytes: Uint8Array, flat: Flat, pos: number): number {
  if (pos + 4 > bytes.length) return bytes.length;
  if (flat.i32(pos) === -1) return Math.min(pos + 8, bytes.length);
  return pos + 4;
}

function checkBatchMessage(m: MessageAt, shape: SchemaShape): void {
  if (m.headerType === HEADER_RECORD_BATCH) {
    checkRecordBatch(m.header, shape.topNodes, m.bodyLength);
  } else if (m.headerType === HEADER_DICTIONARY_BATCH) {
    const id = m.header.i64(0) ?? 0n;
    const nodes = shape.dictionaryNodes.get(id);
    if (nodes === undefined) fail(`dictionary ${id} is not in the schema`);
    const data = m.header.child(1, "dictionary data");
    if (data === undefined) fail("dictionary batch without data");
    checkRecordBatch(data, [nodes], m.bodyLength);
    m.header.u8(2);
  } else {
    fail(`message type ${m.headerType} is not a schema, dictionary or record batch`);
  }
}

/**
 * Walks the messages of a stream as Arrow JS's stream reader does, checking each. Arrow JS does not
 * stop at the end-of-stream marker: it reads whatever follows as another stream (legacy length
 * prefixes included), so bytes after the marker are refused rather than left unchecked.
 */
function checkStream(bytes: Uint8Array): void {
  const flat = new Flat(bytes);
  let shape: SchemaShape | undefined;
  let pos = 0;
  for (;;) {
    const m = readMessageAt(bytes, flat, pos);
    if (m === undefined) {
      const end = endOfStream(bytes, flat, pos);
      if (end < bytes.length) {
        fail(`${bytes.length - end} bytes after the end-of-stream marker at ${pos}`);
      }
      return;
    }
    pos = m.end;
    if (m.headerType === HEADER_SCHEMA) {
      shape = checkSchema(m.header);
      continue; // Arrow JS reads no body after a schema
    }
    if (shape === undefined) fail("a batch before the schema");
    checkBatchMessage(m, shape);
    pos += m.bodyLength;
  }
}

/** Checks a file as Arrow JS's file reader reads it: footer, then the messages of its blocks. */
function checkFile(bytes: Uint8Array): void {
  // magic, padding, messages, footer, int32 footer length, magic
  if (bytes.length < 8 + 10 || !hasMagic(bytes, bytes.length - 6)) fail("truncated Arrow file");
  const flat = new Flat(bytes);
  const footerLength = flat.i32(bytes.length - 10);
  const footerStart = bytes.length - 10 - footerLength;
  if (footerLength <= 0 || footerStart < 8) fail("Arrow file footer out of bounds");
  const footerFlat = new Flat(bytes.subarray(footerStart, footerStart + footerLength));
  const footer = footerFlat.table(footerFlat.i32(0), "file footer");
  const version = footer.i16(0) ?? 0;
  if (version !== METADATA_V4 && version !== METADATA_V5) {
    fail(`metadata version ${version} (only V4 and V5 are read)`);
  }
  const schema = footer.child(1, "file schema");
  if (schema === undefined) fail("Arrow file without a schema");
  const shape = checkSchema(schema);
  const checkBlocks = (index: number, headerType: number, what: string) => {
    const blocks = footer.vector(index, 24, what);
    for (let i = 0; i < (blocks?.[1] ?? 0); i++) {
      const offset = footerFlat.i64(blocks![0] + 24 * i);
      if (offset < 0n || offset >= BigInt(footerStart)) fail(`${what} ${i} out of bounds`);
      const m = readMessageAt(bytes, flat, Number(offset));
      if (m === undefined || m.headerType !== headerType) {
        fail(`${what} ${i} does not point at a ${what.replace(/ blocks?$/, "")}`);
      }
      checkBatchMessage(m, shape);
    }
  };
  checkBlocks(2, HEADER_DICTIONARY_BATCH, "dictionary batch block");
  checkBlocks(3, HEADER_RECORD_BATCH, "record batch block");
}
