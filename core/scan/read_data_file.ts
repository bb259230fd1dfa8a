/**
 * Read the rows of one Parquet data file into {@linkcode LogicalRow}s of the table's logical schema.
 *
 * The Parquet file is decoded by hyparquet (pure JavaScript: exact INT96, field ids in the schema);
 * the logical annotations of decimals, lists and maps are removed from a copy of the file's schema
 * before decoding so that hyparquet hands over raw physical values (unscaled decimals, generic
 * repeated groups), and the conversion to Delta values is done here, driven by the Delta type of
 * each column:
 *
 * * columns are matched by name, by `delta.columnMapping.physicalName` (mode `name`) or by Parquet
 *   field id (mode `id`), recursively in structs; a column missing from the file reads as null;
 * * lists and maps are recognised in the standard 3-level encoding and in the legacy 2-level
 *   encodings of old Spark and parquet-avro writers (Parquet "LogicalTypes", backward compatibility);
 * * types are widened from the file's physical type to the table type (Delta PROTOCOL, "Type
 *   Widening"): integer to long, float to double, integers to double or decimal, decimal precision
 *   and scale (with rescaling), date to timestamp_ntz;
 * * timestamps come as microseconds from INT64 (millis, micros or nanos) and INT96 (nanos, floored).
 *
 * @module
 */
import { brotliDecompressSync, gunzipSync, zstdDecompressSync } from "node:zlib";
import { parquetMetadata, parquetRead, parquetSchema } from "hyparquet";
import type { Compressors, FileMetaData, SchemaElement, SchemaTree } from "hyparquet";
import { CorruptLogError, LakestrikeError } from "../errors.ts";
import { decompressLz4Block, decompressLz4Hadoop } from "./lz4.ts";
import type { ColumnMappingMode } from "../snapshot/snapshot.ts";
import type { DataType, StructField } from "../schema/types.ts";
import {
  type Decimal,
  floorDiv,
  type LogicalRow,
  type LogicalValue,
  MICROS_PER_DAY_BIGINT,
  parseDecimalType,
  rescaleDecimal,
} from "./logical_row.ts";

/** Options of {@linkcode readDataFile}. */
export interface ReadDataFileOptions {
  /** How logical columns map to Parquet columns; `none` when omitted. */
  columnMappingMode?: ColumnMappingMode;
  /** Name of the file, for error messages. */
  path?: string;
}

const PHYSICAL_NAME_KEY = "delta.columnMapping.physicalName";
const FIELD_ID_KEY = "delta.columnMapping.id";

/** The Parquet column (or group) of a Delta field in the file. */
function findChild(
  parent: SchemaTree,
  field: StructField,
  mode: ColumnMappingMode,
): SchemaTree | undefined {
  const children = parent.children;
  if (mode === "id") {
    const id = Number(field.metadata[FIELD_ID_KEY]);
    if (Number.isFinite(id) && children.some((c) => c.element.field_id !== undefined)) {
      return children.find((c) => c.element.field_id === id);
    }
  }
  const physical = mode === "none"
    ? field.name
    : String(field.metadata[PHYSICAL_NAME_KEY] ?? field.name);
  return children.find((c) => c.element.name === physical) ??
    children.find((c) => c.element.name.toLowerCase() === physical.toLowerCase());
}

/** A copy of the metadata whose decimal, list and map annotations are removed (see module doc). */
function rawMetadata(metadata: FileMetaData): FileMetaData {
  const schema = metadata.schema.map((e): SchemaElement => {
    const copy: SchemaElement = { ...e };
    const ct = e.converted_type;
    const lt = e.logical_type?.type;
    if (
      ct === "DECIMAL" || lt === "DECIMAL" || ct === "LIST" || lt === "LIST" || ct === "MAP" ||
      ct === "MAP_KEY_VALUE" || lt === "MAP"
    ) {
      delete copy.converted_type;
      delete copy.logical_type;
    }
    return copy;
  });
  return { ...metadata, schema };
}

const PARSERS = {
  timestampFromMilliseconds: (v: bigint) => BigInt(v) * 1000n,
  timestampFromMicroseconds: (v: bigint) => BigInt(v),
  timestampFromNanoseconds: (v: bigint) => floorDiv(BigInt(v), 1000n),
  dateFromDays: (v: number) => v,
};

/** Codecs beyond hyparquet's built-in SNAPPY: `node:zlib` and our own LZ4. */
const COMPRESSORS: Compressors = {
  LZ4_RAW: (input, outputLength) => decompressLz4Block(input, outputLength),
  LZ4: (input, outputLength) => decompressLz4Hadoop(input, outputLength),
  ZSTD: (input) => new Uint8Array(zstdDecompressSync(input)),
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
};

class Converter {
  constructor(readonly mode: ColumnMappingMode, readonly path: string) {}

  fail(why: string): never {
    throw new CorruptLogError(`Cannot read data file ${this.path}: ${why}`);
  }

  value(type: DataType, node: SchemaTree, raw: unknown): LogicalValue {
    if (raw === null || raw === undefined) return null;
    if (typeof type === "string") return this.primitive(type, node.element, raw);
    switch (type.type) {
      case "struct": {
        if (typeof raw !== "object") this.fail(`${node.path.join(".")} is not a group`);
        const obj = raw as Record<string, unknown>;
        return type.fields.map((f) => {
          const child = findChild(node, f, this.mode);
          return child ? this.value(f.type, child, obj[child.element.name]) : null;
        });
      }
      case "array": {
        const { items, element } = this.repeated(node, raw);
        return items.map((item) => element.unwrap(item)).map((v) =>
          this.value(type.elementType, element.node, v)
        );
      }
      case "map": {
        const { items, element } = this.repeated(node, raw);
        const kv = element.node;
        const keyNode = kv.children.find((c) => c.element.name === "key") ?? kv.children[0];
        const valueNode = kv.children.find((c) => c.element.name === "value") ?? kv.children[1];
        if (!keyNode) this.fail(`map ${node.path.join(".")} has no key column`);
        return items.map((item): [LogicalValue, LogicalValue] => {
          const entry = element.unwrap(item) as Record<string, unknown>;
          return [
            this.value(type.keyType, keyNode, entry[keyNode.element.name]),
            valueNode ? this.value(type.valueType, valueNode, entry[valueNode.element.name]) : null,
          ];
        });
      }
    }
  }

  /**
   * The items of a list or map group and how to get the element out of each item. Follows the
   * backward-compatibility rules of Parquet "LogicalTypes" for 2-level lists.
   */
  repeated(node: SchemaTree, raw: unknown): {
    items: unknown[];
    element: { node: SchemaTree; unwrap: (item: unknown) => unknown };
  } {
    if (node.element.repetition_type === "REPEATED") {
      // A bare repeated field: the field itself is the element.
      if (!Array.isArray(raw)) this.fail(`${node.path.join(".")} is not repeated`);
      return { items: raw, element: { node, unwrap: (x) => x } };
    }
    const rep = node.children[0];
    if (!rep || node.children.length !== 1 || rep.element.repetition_type !== "REPEATED") {
      return this.fail(`${node.path.join(".")} is not a list or map group`);
    }
    const items = (raw as Record<string, unknown>)[rep.element.name];
    if (!Array.isArray(items)) return this.fail(`${node.path.join(".")} has no repeated values`);
    const name = rep.element.name;
    const elementIsRep = rep.children.length !== 1 || name === "array" ||
      name === `${node.element.name}_tuple`;
    if (elementIsRep) return { items, element: { node: rep, unwrap: (x) => x } };
    const inner = rep.children[0]!;
    return {
      items,
      element: {
        node: inner,
        unwrap: (x) =>
          x === null || x === undefined ? null : (x as Record<string, unknown>)[inner.element.name],
      },
    };
  }

  primitive(type: string, el: SchemaElement, raw: unknown): LogicalValue {
    switch (type) {
      case "string":
        if (typeof raw === "string") return raw;
        if (raw instanceof Uint8Array) return new TextDecoder().decode(raw);
        break;
      case "binary":
        if (raw instanceof Uint8Array) return raw;
        if (typeof raw === "string") return new TextEncoder().encode(raw);
        break;
      case "boolean":
        if (typeof raw === "boolean") return raw;
        break;
      case "byte":
      case "short":
      case "integer":
        if (typeof raw === "number") return raw;
        if (typeof raw === "bigint") return Number(raw);
        break;
      case "long":
        if (typeof raw === "bigint") return raw;
        if (typeof raw === "number" && Number.isInteger(raw)) return BigInt(raw);
        break;
      case "float":
        if (typeof raw === "number") return Math.fround(raw);
        break;
      case "double":
        if (typeof raw === "number") return raw;
        if (typeof raw === "bigint") return Number(raw);
        if (isFileDecimal(el)) {
          return Number(this.fileDecimal(el, raw).unscaled) / 10 ** (el.scale ?? 0);
        }
        break;
      case "date":
        if (typeof raw === "number") return raw;
        break;
      case "timestamp":
      case "timestamp_ntz":
        if (typeof raw === "bigint") return raw;
        // Type widening date -> timestamp_ntz: a DATE column reads as midnight.
        if (typeof raw === "number") return BigInt(raw) * MICROS_PER_DAY_BIGINT;
        break;
      default: {
        const decimal = parseDecimalType(type);
        if (!decimal) break;
        const value = rescaleDecimal(this.fileDecimal(el, raw), decimal.scale);
        if (!value) this.fail(`${el.name} has more fraction digits than ${type}`);
        return value;
      }
    }
    return this.fail(
      `column ${el.name} of physical type ${el.type ?? "group"} cannot be read as ${type}`,
    );
  }

  /** The exact decimal of a physical value (an integer column widened to decimal has scale 0). */
  fileDecimal(el: SchemaElement, raw: unknown): Decimal {
    const scale = isFileDecimal(el) ? el.scale ?? 0 : 0;
    if (typeof raw === "number" && Number.isInteger(raw)) return { unscaled: BigInt(raw), scale };
    if (typeof raw === "bigint") return { unscaled: raw, scale };
    if (raw instanceof Uint8Array) return { unscaled: bigEndianSigned(raw), scale };
    return this.fail(`column ${el.name} holds no decimal`);
  }
}

function isFileDecimal(el: SchemaElement): boolean {
  return el.converted_type === "DECIMAL" || el.logical_type?.type === "DECIMAL";
}

/** A two's complement big-endian integer. */
function bigEndianSigned(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  if (bytes[0]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return value;
}

/**
 * Decode a Parquet data file into rows holding the given `fields` (in that order).
 *
 * @param bytes the whole Parquet file
 * @param fields the Delta fields to read (not partition columns: those are not in data files)
 */
export async function readDataFile(
  bytes: Uint8Array,
  fields: readonly StructField[],
  options: ReadDataFileOptions = {},
): Promise<LogicalRow[]> {
  const path = options.path ?? "(parquet)";
  const mode = options.columnMappingMode ?? "none";
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer
    : bytes.slice().buffer as ArrayBuffer;
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(buffer);
  } catch (e) {
    throw new CorruptLogError(`Cannot read data file ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const root = parquetSchema(metadata);
  const converter = new Converter(mode, path);
  const nodes = fields.map((f) => findChild(root, f, mode));
  const names = [...new Set(nodes.flatMap((n) => (n ? [n.element.name] : [])))];
  const numRows = Number(metadata.num_rows);
  if (names.length === 0) return Array.from({ length: numRows }, () => fields.map(() => null));

  let records: Record<string, unknown>[] = [];
  try {
    await parquetRead({
      file: buffer,
      metadata: rawMetadata(metadata),
      columns: names,
      rowFormat: "object",
      utf8: false,
      parsers: PARSERS,
      compressors: COMPRESSORS,
      onComplete: (rows) => {
        records = rows;
      },
    });
  } catch (e) {
    if (e instanceof LakestrikeError) throw e;
    throw new CorruptLogError(`Cannot read data file ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (records.length !== numRows) {
    converter.fail(`decoded ${records.length} rows, the footer says ${numRows}`);
  }
  return records.map((rec) =>
    fields.map((f, i) => {
      const node = nodes[i];
      return node ? converter.value(f.type, node, rec[node.element.name]) : null;
    })
  );
}
