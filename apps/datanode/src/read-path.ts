import type { ReadChunkRequest, ReadChunkResponse } from "@trainfs/proto";
import { TrainfsError, safeNumber } from "@trainfs/common";
import { CorruptReplicaError, checkChunkId, type ChunkStore } from "./chunk-store.js";

export interface ReadPathContext {
  store: ChunkStore;
  /** This DataNode's address, for the errors it raises. */
  self: { id: string; address: string };
  /** Throws permission_denied unless the chunk access token allows the operation (no-op without a cluster secret). */
  checkAccess: (chunkId: string, op: "read" | "write", token: string) => void;
  /** Takes a bad replica out of service and tells the NameNode. */
  condemn: (chunkId: string, reason: string) => Promise<void>;
  /** Counts bytes sent to readers. */
  onBytesRead?: (n: number) => void;
}

/**
 * The read path beside the write path (pipeline.ts): the bytes of a chunk in
 * whole verified pieces with their checksums, for ReadChunk over Connect or
 * over data transfer (both handlers only decode, call this, and encode). The
 * token is checked before the chunk is looked for, so a caller without one
 * learns nothing of what this node holds; a piece that fails verification is
 * never sent: the replica is condemned and the read fails with DataLoss.
 */
export async function* readChunk(ctx: ReadPathContext, req: ReadChunkRequest): AsyncGenerator<ReadChunkResponse> {
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
    if (err instanceof CorruptReplicaError) await ctx.condemn(req.chunkId, err.reason);
    throw err;
  }
}
