import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ChunkLocationSchema,
  DataNodeLocationSchema,
  FileInfoSchema,
  FileType,
  NameNodeService,
  type FileInfo,
} from "@trainfs/proto";
import { TrainfsError, joinPath, safeNumber } from "@trainfs/common";
import type { ChunkMap } from "./chunk-map.js";
import type { DataNodeManager } from "./datanode-manager.js";
import type { InodeRecord, MetadataStore } from "./metadata-store.js";
import type { Namespace } from "./namespace.js";
import type { UploadManager } from "./upload-manager.js";

export interface NameNodeParts {
  store: MetadataStore;
  namespace: Namespace;
  chunkMap: ChunkMap;
  datanodes: DataNodeManager;
  uploads: UploadManager;
  heartbeatTimeoutMs: number;
  now: () => number;
}

/** The NameNode's RPC edge: checks what arrives, then hands it to the mechanisms. */
export function nameNodeService(p: NameNodeParts): ServiceImpl<typeof NameNodeService> {
  const location = (datanodeId: string) =>
    create(DataNodeLocationSchema, { datanodeId, address: p.datanodes.address(datanodeId) });

  const requireRegistered = (datanodeId: string) => {
    required(datanodeId, "datanode_id");
    if (!p.datanodes.isRegistered(datanodeId)) {
      throw new TrainfsError("failed_precondition", `DataNode ${datanodeId} is not registered; register first`);
    }
  };

  return {
    async putFile(req) {
      const size = safeNumber(req.size, "size");
      const planned = await p.uploads.start(req.path, size, req.replication, safeNumber(req.chunkSize, "chunk_size"));
      return {
        uploadId: planned.uploadId,
        replication: planned.replication,
        chunkSize: BigInt(planned.chunkSize),
        chunks: planned.chunks.map((c) => ({
          chunkId: c.chunkId,
          index: c.index,
          offset: BigInt(c.offset),
          length: BigInt(c.length),
          chain: c.chain.map(location),
        })),
      };
    },

    async confirmFile(req) {
      required(req.uploadId, "upload_id");
      const inode = await p.uploads.confirm(
        req.path,
        req.uploadId,
        req.chunks.map((c) => ({ chunkId: c.chunkId, length: safeNumber(c.length, "length"), checksum: c.checksum })),
      );
      return { file: fileInfo(req.path, inode) };
    },

    async abandonFile(req) {
      required(req.uploadId, "upload_id");
      await p.uploads.abandon(req.path, req.uploadId);
      return {};
    },

    async getFile(req) {
      const inode = p.namespace.lookup(req.path);
      if (inode.type !== "file") throw new TrainfsError("failed_precondition", `${req.path} is a directory`);
      const chunks = inode.chunkIds.map((chunkId) => {
        const chunk = p.store.chunks.get(chunkId);
        if (!chunk) throw new TrainfsError("internal", `chunk ${chunkId} of ${req.path} is missing from the chunk map`);
        const holders = p.chunkMap.liveHolders(chunk);
        // Rotate by chunk index so that reads of consecutive chunks spread over the replicas.
        const k = holders.length ? chunk.index % holders.length : 0;
        const ordered = [...holders.slice(k), ...holders.slice(0, k)];
        return create(ChunkLocationSchema, {
          chunkId,
          index: chunk.index,
          offset: BigInt(chunk.offset),
          length: BigInt(chunk.length),
          checksum: chunk.checksum ?? 0,
          replicas: ordered.map(location),
        });
      });
      return { file: fileInfo(req.path, inode), chunks };
    },

    async list(req) {
      const inode = p.namespace.lookup(req.path);
      if (inode.type === "file") return { entries: [fileInfo(req.path, inode)] };
      return { entries: p.namespace.list(inode).map((child) => fileInfo(joinPath(req.path, child.name), child)) };
    },

    async deleteFile() {
      throw new TrainfsError("unimplemented", "DeleteFile is not implemented yet: asynchronous deletion through trash comes with heartbeat tasks");
    },

    async registerDataNode(req) {
      required(req.datanodeId, "datanode_id");
      checkAddress(req.address);
      await p.datanodes.register(
        req.datanodeId,
        req.address,
        safeNumber(req.capacityBytes, "capacity_bytes"),
        safeNumber(req.freeBytes, "free_bytes"),
      );
      return { heartbeatTimeoutMs: p.heartbeatTimeoutMs };
    },

    async chunkReport(req) {
      requireRegistered(req.datanodeId);
      return p.chunkMap.applyReport(
        req.datanodeId,
        req.chunks.map((c) => ({ chunkId: c.chunkId, length: safeNumber(c.length, "length"), checksum: c.checksum })),
        p.now(),
      );
    },

    async heartBeat(req) {
      required(req.datanodeId, "datanode_id");
      const known = p.datanodes.heartbeat(
        req.datanodeId,
        safeNumber(req.capacityBytes, "capacity_bytes"),
        safeNumber(req.freeBytes, "free_bytes"),
      );
      return { reregister: !known, trashChunkNames: [], replicationTasks: [] };
    },

    async commitChunk(req) {
      requireRegistered(req.datanodeId);
      const c = req.chunk;
      if (!c) throw new TrainfsError("invalid_argument", "chunk is required");
      required(c.chunkId, "chunk.chunk_id");
      await p.chunkMap.commit(req.datanodeId, { chunkId: c.chunkId, length: safeNumber(c.length, "chunk.length"), checksum: c.checksum }, p.now());
      return {};
    },
  };
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

function required(value: string, field: string): void {
  if (!value) throw new TrainfsError("invalid_argument", `${field} is required`);
}

function checkAddress(address: string): void {
  let url: URL | undefined;
  try {
    url = new URL(address);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TrainfsError("invalid_argument", `address ${JSON.stringify(address)} is not an http(s) base URL like http://10.0.0.7:9866`);
  }
}
