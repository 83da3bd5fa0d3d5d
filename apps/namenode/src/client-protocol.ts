import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { ChunkLocationSchema, type NameNodeService } from "@trainfs/proto";
import { TrainfsError, joinPath, safeNumber } from "@trainfs/common";
import { deletePath } from "./delete-operation.js";
import type { NameNodeParts } from "./namenode-service.js";
import { fileInfo, location, required } from "./rpc-fields.js";

type ClientRpcs = "putFile" | "confirmFile" | "abandonFile" | "getFile" | "list" | "deleteFile";

/** What clients call: writes, reads, listings and deletes. */
export function clientProtocol(p: NameNodeParts): Pick<ServiceImpl<typeof NameNodeService>, ClientRpcs> {
  const at = (datanodeId: string) => location(p.datanodes, datanodeId);
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
          chain: c.chain.map(at),
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
          replicas: ordered.map(at),
          corruptReplicaCount: p.corrupt.holders(chunkId).length,
        });
      });
      return { file: fileInfo(req.path, inode), chunks };
    },

    async list(req) {
      const inode = p.namespace.lookup(req.path);
      if (inode.type === "file") return { entries: [fileInfo(req.path, inode)] };
      return { entries: p.namespace.list(inode).map((child) => fileInfo(joinPath(req.path, child.name), child)) };
    },

    async deleteFile(req) {
      const nowMs = p.now();
      const chunkCount = await p.store.write(() => deletePath(p, req.path, nowMs));
      return { chunkCount };
    },
  };
}
