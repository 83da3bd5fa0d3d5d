import type { ServiceImpl } from "@connectrpc/connect";
import type { DataNodeService, ReadChunkRequest, ReadChunkResponse } from "@trainfs/proto";
import { TrainfsError, safeNumber } from "@trainfs/common";
import { CorruptReplicaError, checkChunkId, type ChunkStore } from "./chunk-store.js";
import type { PartUploads } from "./part-uploads.js";
import { receiveChunk, type PipelineContext } from "./pipeline.js";

export interface DataNodeServiceContext extends PipelineContext {
  store: ChunkStore;
  /** Takes a bad replica out of service and tells the NameNode. */
  condemn: (chunkId: string, reason: string) => Promise<void>;
  /** Counts bytes sent to readers. */
  onBytesRead?: (n: number) => void;
  /** Chunk writes in unary parts (browsers). */
  partUploads: PartUploads;
}

/** The DataNode's RPC edge: chunk writes go down the pipeline, reads stream verified pieces from the store. */
export function dataNodeService(ctx: DataNodeServiceContext): ServiceImpl<typeof DataNodeService> {
  return {
    writeChunk: (requests) => receiveChunk(ctx, requests),

    // The chunk access token is checked on every part, inside.
    writeChunkPart: (req) => ctx.partUploads.receive(req),

    readChunk: (req) => readChunk(ctx, req),
  };
}

/** The bytes of a chunk in whole verified pieces with their checksums (ReadChunk, over Connect or data transfer). */
export async function* readChunk(ctx: DataNodeServiceContext, req: ReadChunkRequest): AsyncGenerator<ReadChunkResponse> {
  checkChunkId(req.chunkId);
  ctx.checkAccess(req.chunkId, "read", req.accessToken);
  // The length comes from memory; readVerified reads the metadata once, to check every piece.
  const size = ctx.store.lengthOf(req.chunkId);
  if (size === undefined) throw new TrainfsError("not_found", `chunk ${req.chunkId} is not on DataNode ${ctx.self.address}`);
  const offset = safeNumber(req.offset, "offset");
  const length = req.length === 0n ? size - Math.min(offset, size) : safeNumber(req.length, "length");
  if (offset + length > size) {
    throw new TrainfsError("out_of_range", `bytes [${offset}, ${offset + length}) are past the end of chunk ${req.chunkId} (${size} bytes)`);
  }
  try {
    for await (const part of ctx.store.readVerified(req.chunkId, offset, length)) {
      yield { $typeName: "trainfs.v1.ReadChunkResponse", data: part.data, offset: BigInt(part.offset), pieceSize: ctx.store.pieceSize, pieceChecksums: part.checksums };
      ctx.onBytesRead?.(part.data.length);
    }
  } catch (err) {
    // Never send bytes known to be bad: condemn the replica and let the reader move on.
    if (err instanceof CorruptReplicaError) await ctx.condemn(req.chunkId, err.reason);
    throw err;
  }
}
