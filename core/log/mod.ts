/**
 * The Delta log: actions and their JSON codec, file names, log listing, checkpoint reading and
 * log replay.
 *
 * @example
 * ```ts
 * import { parseActions, serializeActions } from "./mod.ts";
 * const text = serializeActions([{ txn: { appId: "edge-1", version: 1 } }]);
 * if (parseActions(text, "version 0").length !== 1) throw new Error("round trip lost the action");
 * ```
 *
 * @module
 */
export * from "./actions.ts";
export * from "./paths.ts";
export * from "./last_checkpoint.ts";
export * from "./log_segment.ts";
export * from "./checkpoint_read.ts";
export * from "./replay.ts";
export * from "./conflict.ts";
export * from "./commit.ts";
export * from "./commit_protocol.ts";
export * from "./resolve_commit_protocol.ts";
export * from "./checkpoint_write.ts";
// The `s3-dynamodb` protocol is the AWS module's (aws/dynamodb_log_store.ts), registered by
// registerAws(): readers that never use it do not load the DynamoDB client.
