import { create } from "@bufbuild/protobuf";
import { DataNodeLocationSchema, FileInfoSchema, FileType, type DataNodeLocation, type FileInfo } from "@trainfs/proto";
import { TrainfsError } from "@trainfs/common";
import type { DataNodeManager } from "./datanode-manager.js";
import type { InodeRecord } from "./metadata-store.js";

/** Small conversions and checks shared by the protocol handlers. */
export function required(value: string, field: string): void {
  if (!value) throw new TrainfsError("invalid_argument", `${field} is required`);
}

export function location(datanodes: DataNodeManager, datanodeId: string): DataNodeLocation {
  return create(DataNodeLocationSchema, { datanodeId, address: datanodes.address(datanodeId) });
}

export function fileInfo(path: string, inode: InodeRecord): FileInfo {
  return create(FileInfoSchema, {
    path,
    type: inode.type === "dir" ? FileType.DIRECTORY : FileType.FILE,
    size: BigInt(inode.size),
    replication: inode.replication,
    chunkSize: BigInt(inode.chunkSize),
    chunkCount: inode.chunkIds.length,
    modificationTimeMs: BigInt(inode.mtimeMs),
  });
}
