import type { ServiceImpl } from "@connectrpc/connect";
import type { DataNodeService } from "@trainfs/proto";
import type { ChunkStore } from "./chunk-store.js";
import type { PartUploads } from "./part-uploads.js";
import { receiveChunk, type PipelineContext } from "./pipeline.js";
import { readChunk, type ReadPathContext } from "./read-path.js";

export interface DataNodeServiceContext extends PipelineContext, ReadPathContext {
  store: ChunkStore;
  /** Chunk writes in unary parts (browsers). */
  partUploads: PartUploads;
}

/** The DataNode's RPC edge: each call goes to its mechanism (the write pipeline, part uploads, the read path). */
export function dataNodeService(ctx: DataNodeServiceContext): ServiceImpl<typeof DataNodeService> {
  return {
    writeChunk: (requests) => receiveChunk(ctx, requests),

    // The chunk access token is checked on every part, inside.
    writeChunkPart: (req) => ctx.partUploads.receive(req),

    readChunk: (req) => readChunk(ctx, req),
  };
}
