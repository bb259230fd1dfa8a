/**
 * Delta log actions, spelled as PROTOCOL.md spells them ("Actions").
 *
 * Types only live here with the JSON codec; replay and commit logic live in their own modules.
 *
 * @module
 */

/** Delta PROTOCOL, "Protocol Evolution". */
export interface Protocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}

/** Delta PROTOCOL, "Format Specification" of `metaData`. */
export interface Format {
  provider: string;
  options?: Record<string, string>;
}

/** Delta PROTOCOL, "Change Metadata". */
export interface Metadata {
  id: string;
  name?: string | null;
  description?: string | null;
  format: Format;
  schemaString: string;
  partitionColumns: string[];
  createdTime?: number | null;
  configuration: Record<string, string>;
}

/** Delta PROTOCOL, "Deletion Vector Descriptor Schema". */
export interface DeletionVectorDescriptor {
  /** `u` (relative path with random prefix, z85 uuid), `i` (inline, z85) or `p` (absolute path). */
  storageType: "u" | "i" | "p";
  pathOrInlineDv: string;
  offset?: number;
  sizeInBytes: number;
  cardinality: number;
}

/** Delta PROTOCOL, "Add File and Remove File" (`add`). `path` is percent-decoded. */
export interface Add {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  /** JSON-encoded statistics, as in the log. */
  stats?: string | null;
  /** Statistics already parsed (from a checkpoint's `stats_parsed`), when present. */
  statsParsed?: Record<string, unknown> | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
  clusteringProvider?: string | null;
}

/** Delta PROTOCOL, "Add File and Remove File" (`remove`). `path` is percent-decoded. */
export interface Remove {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean | null;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  stats?: string | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
}

/** Delta PROTOCOL, "Add CDC File". `path` is percent-decoded. */
export interface Cdc {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  dataChange: boolean;
  tags?: Record<string, string> | null;
}

/** Delta PROTOCOL, "Transaction Identifiers". */
export interface Txn {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

/** Delta PROTOCOL, "Commit Provenance Information": free-form. */
export type CommitInfo = Record<string, unknown>;

/** Delta PROTOCOL, "Domain Metadata". */
export interface DomainMetadata {
  domain: string;
  configuration: string;
  removed: boolean;
}

/** Delta PROTOCOL, "Checkpoint Metadata" (V2 checkpoints). */
export interface CheckpointMetadata {
  version: number;
  tags?: Record<string, string> | null;
}

/** Delta PROTOCOL, "Sidecar File Information" (V2 checkpoints). `path` is relative to `_delta_log/_sidecars`. */
export interface Sidecar {
  path: string;
  sizeInBytes: number;
  modificationTime: number;
  tags?: Record<string, string> | null;
}

/** One line of a commit file: exactly one of the keys is set. */
export type Action =
  | { protocol: Protocol }
  | { metaData: Metadata }
  | { add: Add }
  | { remove: Remove }
  | { cdc: Cdc }
  | { txn: Txn }
  | { commitInfo: CommitInfo }
  | { domainMetadata: DomainMetadata }
  | { checkpointMetadata: CheckpointMetadata }
  | { sidecar: Sidecar };
