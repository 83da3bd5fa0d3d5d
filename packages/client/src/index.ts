export { TrainfsClient, type TrainfsClientOptions, type PutOptions, type GetOptions, type CallOptions, type ContentSummary } from "./client.js";
export type { PutSource } from "./file-writer.js";
export type { FileStatus } from "./file-status.js";
export type { BalancerStatus, ClusterHistory, ClusterStatus, DataNodeStatus, SafeModeStatus } from "./cluster-status.js";
export { TrainfsError, type ErrorCode } from "@trainfs/core";
export type { FsckReport, ChunkHealthName } from "./fsck.js";
