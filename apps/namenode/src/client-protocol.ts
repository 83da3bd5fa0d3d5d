import { fileCondition } from "./file-condition.js";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ChunkLocationSchema,
  ConfirmFileResponseSchema,
  DeleteFileResponseSchema,
  GetFileResponseSchema,
  PutFileResponseSchema,
  type ChunkReceipt,
  type ClientService,
  type ConfirmFileRequest,
  type ConfirmFileResponse,
  type DeleteFileRequest,
  type DeleteFileResponse,
  type GetFileRequest,
  type GetFileResponse,
  type PutFileRequest,
  type PutFileResponse,
} from "@trainfs/proto";
import { TrainfsError, safeNumber } from "@trainfs/common";
import type { NameNodeFacades } from "./namenode-facades.js";
import { batched, fileInfo, location, required } from "./rpc-fields.js";
import type { ConfirmedChunk, PlannedChunk, StoredReplica } from "./upload-manager.js";

/**
 * The replicas a ConfirmFile's receipts vouch for. Each must name one of the
 * confirmed chunks and carry its DataNode's signature over that chunk's
 * digest: a client cannot claim a replica no DataNode stored.
 */
function checkReceipts(p: NameNodeFacades, chunks: ConfirmedChunk[], receipts: ChunkReceipt[]): StoredReplica[] {
  if (receipts.length > chunks.length * p.maxReplication) {
    throw new TrainfsError("invalid_argument", `${receipts.length} receipts for ${chunks.length} chunks of at most ${p.maxReplication} replicas`);
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

/** What clients call (HDFS's ClientProtocol): writes, reads, listings and deletes. */
export function clientProtocol(p: NameNodeFacades): ServiceImpl<typeof ClientService> {
  const at = (datanodeId: string) => location(p.datanodes, datanodeId);
  const plan = (c: PlannedChunk, attempt: string) => ({
    chunkId: c.chunkId,
    index: c.index,
    offset: BigInt(c.offset),
    length: BigInt(c.length),
    chain: c.chain.map(at),
    accessToken: p.tokens.write(c.chunkId, attempt, c.chain),
  });
  const putFile = async (req: PutFileRequest): Promise<PutFileResponse> => {
    const size = safeNumber(req.size, "size");
    const planned = await p.writes.start(req.path, size, req.replication, safeNumber(req.chunkSize, "chunk_size"), {
      overwrite: req.overwrite,
      unknownSize: req.unknownSize,
      attributes: req.attributes,
      replaceOnly: fileCondition(req.replaceOnly),
      existingAncestor: req.existingAncestor || undefined,
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
    const inode = await p.writes.confirm(req.path, req.uploadId, chunks, checkReceipts(p, chunks, req.receipts), req.attributes);
    return create(ConfirmFileResponseSchema, { file: fileInfo(req.path, inode) });
  };
  const getFile = async (req: GetFileRequest): Promise<GetFileResponse> => {
    const { inode, chunks } = p.files.getFile(req.path);
    return create(GetFileResponseSchema, {
      file: fileInfo(req.path, inode),
      chunks: chunks.map(({ chunk, replicas, corruptCount }) =>
        create(ChunkLocationSchema, {
          chunkId: chunk.chunkId,
          index: chunk.index,
          offset: BigInt(chunk.offset),
          length: BigInt(chunk.length),
          checksum: chunk.checksum ?? 0,
          replicas: replicas.map(at),
          corruptReplicaCount: corruptCount,
          accessToken: p.tokens.read(chunk.chunkId),
        }),
      ),
    });
  };
  const deleteFile = async (req: DeleteFileRequest): Promise<DeleteFileResponse> =>
    create(DeleteFileResponseSchema, { chunkCount: await p.files.delete(req.path, req.recursive, { onlyEmptyPlainDirectory: req.onlyEmptyPlainDirectory, onlyIf: fileCondition(req.onlyIf) }) });
  return {
    putFile,
    confirmFile,

    putFiles: batched(putFile),

    confirmFiles: batched(confirmFile),

    async addChunk(req) {
      required(req.uploadId, "upload_id");
      return { chunk: plan(await p.writes.addChunk(req.path, req.uploadId, safeNumber(req.length, "length")), req.uploadId) };
    },

    async replaceChain(req) {
      required(req.uploadId, "upload_id");
      required(req.chunkId, "chunk_id");
      return { chunk: plan(await p.writes.replaceChain(req.path, req.uploadId, req.chunkId, req.failedDatanodeIds, req.suspectDatanodeIds), req.uploadId) };
    },

    async renewLease(req) {
      required(req.uploadId, "upload_id");
      await p.writes.renew(req.path, req.uploadId);
      return {};
    },

    async abandonFile(req) {
      required(req.uploadId, "upload_id");
      await p.writes.abandon(req.path, req.uploadId);
      return {};
    },

    getFile,

    getFiles: batched(getFile),

    async list(req) {
      const page = p.files.list(req.path, req.startAfter, req.limit);
      return { entries: page.entries.map((e) => fileInfo(e.path, e.inode)), hasMore: page.hasMore };
    },

    async stat(req) {
      return { file: fileInfo(req.path, p.files.stat(req.path)) };
    },

    async mkdir(req) {
      return { directory: fileInfo(req.path, await p.files.mkdir(req.path, req.parents, req.setAttributes ? req.attributes : undefined)) };
    },

    async rename(req) {
      return { file: fileInfo(req.destination, await p.files.rename(req.source, req.destination, req.overwrite)) };
    },

    async setReplication(req) {
      return { file: fileInfo(req.path, await p.files.setReplication(req.path, req.replication)) };
    },

    async contentSummary(req) {
      const s = p.files.contentSummary(req.path);
      return { files: BigInt(s.files), directories: BigInt(s.directories), bytes: BigInt(s.bytes), spaceConsumed: BigInt(s.spaceConsumed) };
    },

    async concatFiles(req) {
      const inode = await p.files.concat(req.sources, req.destination, { overwrite: req.overwrite, attributes: req.attributes, replication: req.replication, replaceOnly: fileCondition(req.replaceOnly) });
      return { file: fileInfo(req.destination, inode) };
    },

    deleteFile,

    deleteFiles: batched(deleteFile),

    async reportBadChunks(req) {
      const suspects = req.replicas.map((r, i) => {
        required(r.chunkId, `replicas[${i}].chunk_id`);
        required(r.datanodeId, `replicas[${i}].datanode_id`);
        return { chunkId: r.chunkId, datanodeId: r.datanodeId };
      });
      return { verificationsRequested: p.chunks.suspect(suspects) };
    },
  };
}
