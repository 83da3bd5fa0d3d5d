// The browser entry of the SDK (@trainfs/client/web): nothing here may import a Node module.
export { TrainfsWebClient, type FileDetails, type TrainfsWebClientOptions, type WebCallOptions } from "./web-client.js";
export type { WebPutOptions, WebPutSource } from "./web-writer.js";
export type { WebGetOptions } from "./web-reader.js";
export type { FileStatus } from "../file-status.js";
export type { ClusterHistory, ClusterStatus, DataNodeStatus } from "../cluster-status.js";
export type { FsckReport } from "../fsck.js";
export { TrainfsError, type ErrorCode, crc32Update } from "@trainfs/core";
