import type { ServiceImpl } from "@connectrpc/connect";
import type { DataNodeService } from "@trainfs/proto";
import { TrainfsError, safeNumber } from "@trainfs/common";
import { checkChunkId, type ChunkStore } from "./chunk-store.js";
import { receiveChunk, type PipelineContext } from "./pipeline.js";

/** The DataNode's RPC edge: chunk writes go down the pipeline, reads stream from the store. */
export function dataNodeService(ctx: PipelineContext & { store: ChunkStore }): ServiceImpl<typeof DataNodeService> {
  return {
    writeChunk: (requests) => receiveChunk(ctx, requests),

    async *readChunk(req) {
      checkChunkId(req.chunkId);
      const chunk = await ctx.store.stat(req.chunkId);
      if (!chunk) throw new TrainfsError("not_found", `chunk ${req.chunkId} is not on DataNode ${ctx.self.address}`);
      const offset = safeNumber(req.offset, "offset");
      const length = req.length === 0n ? chunk.length - Math.min(offset, chunk.length) : safeNumber(req.length, "length");
      if (offset + length > chunk.length) {
        throw new TrainfsError("out_of_range", `bytes [${offset}, ${offset + length}) are past the end of chunk ${req.chunkId} (${chunk.length} bytes)`);
      }
      for await (const data of ctx.store.read(req.chunkId, offset, length)) yield { data };
    },
  };
}
