export { TrainfsClient, type TrainfsClientOptions, type PutOptions, type GetOptions, type TransferOptions } from "./client.js";
export type { FileStatus } from "./file-status.js";
export { TrainfsError, type ErrorCode } from "@trainfs/common";
