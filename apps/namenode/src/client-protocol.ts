import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ChunkLocationSchema,
  ConfirmFileResponseSchema,
  PutFileResponseSchema,
  type ChunkReceipt,
  type ConfirmFileRequest,
  type ConfirmFileResponse,
  type ClientService,
  type PutFileRequest,
  type PutFileResponse,
} from "@trainfs/proto";
import { TrainfsError, joinPath, safeNumber } from "@trainfs/common";
import { deletePath } from "./delete-operation.js";
import type { NameNodeParts } from "./namenode-service.js";
import { contentSummary, mkdir, rename, setReplication } from "./namespace-operations.js";
import { eachOnItsOwn, fileInfo, location, required } from "./rpc-fields.js";
import type { ConfirmedChunk, PlannedChunk, StoredReplica } from "./upload-manager.js";

const DEFAULT_PAGE = 1000;
const MAX_PAGE = 10_000;

/**
 * The replicas a ConfirmFile's receipts vouch for. Each must name one of the
 * confirmed chunks and carry its DataNode's signature over that chunk's
 * digest: a client cannot claim a replica no DataNode stored.
 */
function checkReceipts(p: NameNodeParts, chunks: ConfirmedChunk[], receipts: ChunkReceipt[]): StoredReplica[] {
  if (receipts.length > chunks.length * p.limits.maxReplication) {
    throw new TrainfsError("invalid_argument", `${receipts.length} receipts for ${chunks.length} chunks of at most ${p.limits.maxReplication} replicas`);
  }
  const byId = new Map(chunks.map((c) => [c.chunkId, c]));
  return receipts.map((r, i) => {
    required(r.chunkId, `receipts[${i}].chunk_id`);
    required(r.datanodeId, `receipts[${i}].datanode_id`);
    const chunk = byId.get(r.chunkId);
    if (!chunk) throw new TrainfsError("invalid_argument", `receipts[${i}] names chunk ${r.chunkId}, which is not among the confirmed chunks`);
    if (!p.receipts.verify({ ...chunk, datanodeId: r.datanodeId }, r.signature)) {
      throw new TrainfsError(
        "permission_denied",
        `the receipt of chunk ${r.chunkId} from DataNode ${r.datanodeId} is not signed with this cluster's secret for that length and checksum`,
      );
    }
    return { chunkId: r.chunkId, datanodeId: r.datanodeId };
  });
}

/** What clients call: writes, reads, listings and deletes. */
export function clientProtocol(p: NameNodeParts): ServiceImpl<typeof ClientService> {
  const at = (datanodeId: string) => location(p.datanodes, datanodeId);
  const plan = (c: PlannedChunk, attempt: string) => ({
    chunkId: c.chunkId,
    index: c.index,
    offset: BigInt(c.offset),
    length: BigInt(c.length),
    chain: c.chain.map(at),
    accessToken: p.chunkToken.write(c.chunkId, attempt, c.chain),
  });
  const putFile = async (req: PutFileRequest): Promise<PutFileResponse> => {
    const size = safeNumber(req.size, "size");
    const planned = await p.uploads.start(req.path, size, req.replication, safeNumber(req.chunkSize, "chunk_size"), {
      overwrite: req.overwrite,
      unknownSize: req.unknownSize,
    });
    return create(PutFileResponseSchema, {
      uploadId: planned.uploadId,
      replication: planned.replication,
      chunkSize: BigInt(planned.chunkSize),
      leaseMs: planned.leaseMs,
      chunks: planned.chunks.map((c) => plan(c, planned.uploadId)),
    });
  };
  const confirmFile = async (req: ConfirmFileRequest): Promise<ConfirmFileResponse> => {
    required(req.uploadId, "upload_id");
    const chunks = req.chunks.map((c) => ({ chunkId: c.chunkId, length: safeNumber(c.length, "length"), checksum: c.checksum }));
    const inode = await p.uploads.confirm(req.path, req.uploadId, chunks, checkReceipts(p, chunks, req.receipts));
    return create(ConfirmFileResponseSchema, { file: fileInfo(req.path, inode) });
  };
  return {
    putFile,
    confirmFile,

    async putFiles(req) {
      const outcomes = await eachOnItsOwn(req.files, req.requestIds, putFile);
      return { results: outcomes.map(({ code, message, answer }) => ({ code, message, file: answer })) };
    },

    async confirmFiles(req) {
      const outcomes = await eachOnItsOwn(req.files, req.requestIds, confirmFile);
      return { results: outcomes.map(({ code, message, answer }) => ({ code, message, file: answer })) };
    },

    async addChunk(req) {
      required(req.uploadId, "upload_id");
      return { chunk: plan(await p.uploads.addChunk(req.path, req.uploadId, safeNumber(req.length, "length")), req.uploadId) };
    },

    async replaceChain(req) {
      required(req.uploadId, "upload_id");
      required(req.chunkId, "chunk_id");
      return { chunk: plan(await p.uploads.replaceChain(req.path, req.uploadId, req.chunkId, req.failedDatanodeIds, req.suspectDatanodeIds), req.uploadId) };
    },

    async renewLease(req) {
      required(req.uploadId, "upload_id");
      await p.uploads.renew(req.path, req.uploadId);
      return {};
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
          accessToken: p.chunkToken.read(chunkId),
        });
      });
      return { file: fileInfo(req.path, inode), chunks };
    },

    async list(req) {
      const inode = p.namespace.lookup(req.path);
      if (inode.type === "file") return { entries: [fileInfo(req.path, inode)], hasMore: false };
      if (req.limit > MAX_PAGE) throw new TrainfsError("invalid_argument", `limit is at most ${MAX_PAGE}`);
      const page = p.namespace.listPage(inode, req.startAfter, req.limit || DEFAULT_PAGE);
      return { entries: page.entries.map((child) => fileInfo(joinPath(req.path, child.name), child)), hasMore: page.hasMore };
    },

    async stat(req) {
      return { file: fileInfo(req.path, p.namespace.lookup(req.path)) };
    },

    async mkdir(req) {
      const nowMs = p.now();
      const dir = await p.store.write(() => mkdir(p, req.path, req.parents, nowMs));
      return { directory: fileInfo(req.path, dir) };
    },

    async rename(req) {
      const nowMs = p.now();
      const moved = await p.store.write(() => rename(p, req.source, req.destination, req.overwrite, nowMs));
      return { file: fileInfo(req.destination, moved) };
    },

    async setReplication(req) {
      const nowMs = p.now();
      const file = await p.store.write(() => setReplication(p, req.path, req.replication, p.limits.maxReplication, nowMs));
      return { file: fileInfo(req.path, file) };
    },

    async contentSummary(req) {
      const s = contentSummary(p, req.path);
      return { files: BigInt(s.files), directories: BigInt(s.directories), bytes: BigInt(s.bytes), spaceConsumed: BigInt(s.spaceConsumed) };
    },

    async deleteFile(req) {
      const nowMs = p.now();
      const chunkCount = await p.store.write(() => deletePath(p, req.path, req.recursive, nowMs));
      return { chunkCount };
    },

    async reportBadChunks(req) {
      const suspects = req.replicas.map((r, i) => {
        required(r.chunkId, `replicas[${i}].chunk_id`);
        required(r.datanodeId, `replicas[${i}].datanode_id`);
        return { chunkId: r.chunkId, datanodeId: r.datanodeId };
      });
      return { verificationsRequested: p.verifications.request(suspects) };
    },
  };
}
