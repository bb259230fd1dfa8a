/**
 * Which Delta protocols this implementation can read and write (Delta PROTOCOL, "Protocol
 * Evolution", "Table Features").
 *
 * Reading: reader versions 1 to 3 and the reader features in {@linkcode SUPPORTED_READER_FEATURES}.
 *
 * Writing: lakestrike only ever appends new files (blind appends), so it supports the writer
 * features an appending writer can honour and refuses the others. Some features are fine only while
 * unused: `invariants` (no `delta.invariants` in the schema), `checkConstraints` (no
 * `delta.constraints.*` property), `columnMapping` (mode `none`), and for legacy writer versions
 * generated columns (v4) and identity columns (v6) only when the schema has none.
 *
 * @module
 */
import { UnsupportedFeatureError } from "../errors.ts";
import type { Metadata, Protocol } from "../log/actions.ts";

/** Reader features this reader supports. */
export const SUPPORTED_READER_FEATURES: ReadonlySet<string> = new Set([
  "columnMapping",
  "deletionVectors",
  "timestampNtz",
  "typeWidening",
  "typeWidening-preview",
  "v2Checkpoint",
  "vacuumProtocolCheck",
]);

/** Writer features an appending writer can honour (some only while unused, see the module doc). */
export const SUPPORTED_WRITER_FEATURES: ReadonlySet<string> = new Set([
  "appendOnly",
  "invariants",
  "checkConstraints",
  "changeDataFeed",
  "deletionVectors",
  "timestampNtz",
  "typeWidening",
  "typeWidening-preview",
  "vacuumProtocolCheck",
  "domainMetadata",
  "columnMapping",
]);

/** Highest protocol versions understood. */
export const READER_VERSION_MAX = 3;
/** Highest writer protocol version understood. */
export const WRITER_VERSION_MAX = 7;

/**
 * Throw unless this reader can read a table with `protocol`.
 *
 * @throws {UnsupportedFeatureError} naming the version or the feature
 *
 * @example
 * ```ts
 * import { assertReadSupported } from "./protocol.ts";
 * assertReadSupported({ minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ["deletionVectors"] });
 * let refused = false;
 * try {
 *   assertReadSupported({ minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ["variantType"] });
 * } catch (e) {
 *   refused = (e as Error).message === "Cannot read table: unsupported reader feature 'variantType'";
 * }
 * if (!refused) throw new Error("variantType must be refused");
 * ```
 */
export function assertReadSupported(protocol: Protocol): void {
  const v = protocol.minReaderVersion;
  if (!Number.isInteger(v) || v < 1 || v > READER_VERSION_MAX) {
    throw new UnsupportedFeatureError(`Cannot read table: unsupported minReaderVersion ${v}`);
  }
  if (v === 3) {
    for (const f of protocol.readerFeatures ?? []) {
      if (!SUPPORTED_READER_FEATURES.has(f)) {
        throw new UnsupportedFeatureError(`Cannot read table: unsupported reader feature '${f}'`);
      }
    }
  }
}

/** Every metadata object of every (nested) field of a schema given as JSON. */
function fieldMetadata(schemaString: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let root: unknown;
  try {
    root = JSON.parse(schemaString);
  } catch {
    return out;
  }
  const visitType = (t: unknown): void => {
    if (typeof t !== "object" || t === null) return;
    const o = t as Record<string, unknown>;
    if (o.type === "struct" && Array.isArray(o.fields)) {
      for (const f of o.fields) {
        if (typeof f !== "object" || f === null) continue;
        const field = f as Record<string, unknown>;
        if (typeof field.metadata === "object" && field.metadata !== null) {
          out.push(field.metadata as Record<string, unknown>);
        }
        visitType(field.type);
      }
    } else if (o.type === "array") visitType(o.elementType);
    else if (o.type === "map") {
      visitType(o.keyType);
      visitType(o.valueType);
    }
  };
  visitType(root);
  return out;
}

function schemaHasKey(metadata: Metadata, test: (key: string) => boolean): boolean {
  return fieldMetadata(metadata.schemaString).some((m) => Object.keys(m).some(test));
}

/** Legacy writer versions imply features (Delta PROTOCOL, "Table Features", table of versions). */
function impliedWriterFeatures(version: number): string[] {
  const features: string[] = [];
  if (version >= 2) features.push("appendOnly", "invariants");
  if (version >= 3) features.push("checkConstraints");
  if (version >= 4) features.push("changeDataFeed", "generatedColumns");
  if (version >= 5) features.push("columnMapping");
  if (version >= 6) features.push("identityColumns");
  return features;
}

function refuse(feature: string, why?: string): never {
  throw new UnsupportedFeatureError(
    `Cannot write table: unsupported writer feature '${feature}'${why ? ` (${why})` : ""}`,
  );
}

/**
 * Throw unless lakestrike can append to a table with `protocol` and `metadata` (it must also be
 * able to read it).
 *
 * @throws {UnsupportedFeatureError} naming the version or the feature
 *
 * @example
 * ```ts
 * import { assertWriteSupported } from "./protocol.ts";
 * const metadata = {
 *   id: "t", format: { provider: "parquet" }, partitionColumns: [], configuration: {},
 *   schemaString: '{"type":"struct","fields":[]}',
 * };
 * assertWriteSupported({ minReaderVersion: 1, minWriterVersion: 2 }, metadata);
 * let refused = false;
 * try {
 *   assertWriteSupported(
 *     { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: [], writerFeatures: ["rowTracking"] },
 *     metadata,
 *   );
 * } catch (e) {
 *   refused = (e as Error).message.includes("'rowTracking'");
 * }
 * if (!refused) throw new Error("rowTracking must be refused");
 * ```
 */
export function assertWriteSupported(protocol: Protocol, metadata: Metadata): void {
  assertReadSupported(protocol);
  const v = protocol.minWriterVersion;
  if (!Number.isInteger(v) || v < 1 || v > WRITER_VERSION_MAX) {
    throw new UnsupportedFeatureError(`Cannot write table: unsupported minWriterVersion ${v}`);
  }
  const legacy = v < 7;
  const features = legacy ? impliedWriterFeatures(v) : protocol.writerFeatures ?? [];
  for (const f of features) {
    switch (f) {
      case "invariants":
        if (schemaHasKey(metadata, (k) => k === "delta.invariants")) {
          refuse(f, "the schema has invariants this writer does not enforce");
        }
        break;
      case "checkConstraints":
        if (Object.keys(metadata.configuration).some((k) => k.startsWith("delta.constraints."))) {
          refuse(f, "the table has CHECK constraints this writer does not enforce");
        }
        break;
      case "columnMapping": {
        const mode = metadata.configuration["delta.columnMapping.mode"] ?? "none";
        if (mode !== "none") refuse(f, `column mapping mode '${mode}'`);
        break;
      }
      case "generatedColumns":
        // Only implied by legacy version 4+; with table features it is always refused below.
        if (!legacy) refuse(f);
        if (schemaHasKey(metadata, (k) => k === "delta.generationExpression")) {
          refuse(f, "the schema has generated columns");
        }
        break;
      case "identityColumns":
        if (!legacy) refuse(f);
        if (schemaHasKey(metadata, (k) => k.startsWith("delta.identity."))) {
          refuse(f, "the schema has identity columns");
        }
        break;
      default:
        if (!SUPPORTED_WRITER_FEATURES.has(f)) refuse(f);
    }
  }
}
