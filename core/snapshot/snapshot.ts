/**
 * The state of a table at one version, as log replay reconstructs it (Delta PROTOCOL, "Action
 * Reconciliation").
 *
 * @module
 */
import type { Add, DomainMetadata, Metadata, Protocol, Remove, Txn } from "../log/actions.ts";
import type { StructType } from "../schema/types.ts";

/** Which checkpoint replay started from. */
export interface CheckpointUsed {
  version: number;
  kind: "classic" | "multipart" | "v2-json" | "v2-parquet";
  parts: number;
}

/** Column mapping mode (Delta PROTOCOL, "Column Mapping"). */
export type ColumnMappingMode = "none" | "name" | "id";

/**
 * An immutable table state. Everything is already reconciled: `files` holds one entry per logical
 * file (keyed by path and deletion vector id), `tombstones` only removes whose file is not active.
 */
export interface Snapshot {
  /** The table version of this state. */
  readonly version: number;
  readonly protocol: Protocol;
  readonly metadata: Metadata;
  /** Parsed `metadata.schemaString`. */
  readonly schema: StructType;
  readonly columnMappingMode: ColumnMappingMode;
  /** Active `add` actions, in log order. */
  readonly files: readonly Add[];
  /** `remove` actions of files that are not active (for vacuum and checkpoints). */
  readonly tombstones: readonly Remove[];
  /** Latest `txn` per `appId`. */
  readonly txns: ReadonlyMap<string, Txn>;
  /** Latest non-removed `domainMetadata` per domain. */
  readonly domainMetadata: ReadonlyMap<string, DomainMetadata>;
  /** Commit timestamp of `version` in epoch ms (in-commit timestamp, else the commit file's mtime). */
  readonly timestampMs: number;
  /** The checkpoint replay started from, if any. */
  readonly checkpointUsed?: CheckpointUsed;
}
