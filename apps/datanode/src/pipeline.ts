import { once } from "node:events";
import { PassThrough } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  WriteChunkRequestSchema,
  type ChunkDigest,
  type ChunkReceipt,
  type WriteChunkHeader,
  type WriteChunkRequest,
  type WriteChunkResponse,
} from "@trainfs/proto";
import { FAILED_DATANODE_HEADER, RpcClients, errorMessage, partBuffers, safeNumber, toConnectError, type ChunkReceipts, type Logger } from "@trainfs/common";
import { checkChunkId, type ChunkStore, type StoredChunk } from "./chunk-store.js";

/** Parts buffered for a slow downstream before the upstream is slowed down. */
const DOWNSTREAM_QUEUE_PARTS = 8;
export const MAX_CHAIN = 16;

export interface PipelineContext {
  store: ChunkStore;
  clients: RpcClients;
  /** This DataNode's id and address, as the NameNode knows them. */
  self: { id: string; address: string };
  /** Tells the NameNode this node durably holds the chunk, and waits for it to be recorded. */
  commitChunk: (chunk: StoredChunk) => Promise<void>;
  /** Tells the NameNode in the background (the chain's receipts reach it first, through the client). */
  reportChunk: (chunk: StoredChunk) => void;
  /** Signs the receipts this node adds to a chain's answer. */
  receipts: ChunkReceipts;
  /** Counts bytes received into chunks. */
  onBytesWritten?: (n: number) => void;
  /** Throws permission_denied unless the chunk access token allows the operation (no-op without a cluster secret). */
  checkAccess: (chunkId: string, op: "read" | "write", token: string) => void;
  logger: Logger;
}

/**
 * One hop of the replication chain (GFS/HDFS pipeline). Each part is written
 * to a temporary file and forwarded downstream as it arrives; at the end the
 * chunk is verified, fsynced and renamed into place while the downstream does
 * the same, and the upstream is answered only when both are done, with a
 * signed receipt from each node. The NameNode records the replicas from the
 * receipts at ConfirmFile; each node also reports its copy in the background,
 * which is how replica copies and abandoned writes become known. Any error
 * leaves no chunk under its final name on this node and names the DataNode
 * where it happened.
 */
export async function receiveChunk(ctx: PipelineContext, requests: AsyncIterable<WriteChunkRequest>): Promise<WriteChunkResponse> {
  const input = requests[Symbol.asyncIterator]();
  const first = await input.next();
  if (first.done || first.value.part.case !== "header") {
    throw fail(ctx, Code.InvalidArgument, "the first message of WriteChunk must be a header");
  }
  const header = first.value.part.value;
  if (header.downstream.length > MAX_CHAIN) throw fail(ctx, Code.InvalidArgument, `a chain has at most ${MAX_CHAIN} DataNodes`);
  const length = safeNumber(header.length, "length");

  // The next node's stream opens while this node prepares its own file (the
  // forward path's latency is paid hop after hop); a bad chunk id is refused first.
  let downstream: Downstream | undefined;
  let writer;
  try {
    checkChunkId(header.chunkId);
    // Before the disk or the next node is touched: no token, no write anywhere.
    ctx.checkAccess(header.chunkId, "write", header.accessToken);
    // A chunk this node already stores is immutable, whatever the token: refused
    // here (naming this node), not forwarded.
    ctx.store.refuseIfHeld(header.chunkId);
    downstream = header.downstream.length > 0 ? openDownstream(ctx, header) : undefined;
    writer = await ctx.store.createWriter(header.chunkId, length);
  } catch (err) {
    downstream?.cancel();
    throw fail(ctx, toConnectError(err).code, errorMessage(err));
  }

  let installed = false;
  // The local write of a part runs while the next part is received: one
  // write in flight (the file is appended in order), awaited before the next.
  let writing: Promise<void> = Promise.resolve();
  try {
    let footer: { checksum: number } | undefined;
    for (let next = await input.next(); !next.done; next = await input.next()) {
      const part = next.value.part;
      if (part.case === "data") {
        await writing;
        // A recycled part has two users here: the send below gives back its
        // hold once on the wire, the local write its own once on disk.
        const data = part.value;
        if (downstream) {
          partBuffers.hold(data);
          await downstream.send(next.value);
        }
        writing = writer.write(data).then(() => partBuffers.give(data));
        writing.catch(() => {}); // observed at the next await
        ctx.onBytesWritten?.(data.length);
      } else if (part.case === "footer") {
        footer = part.value;
        if (downstream) await downstream.send(next.value);
        break;
      } else {
        throw fail(ctx, Code.InvalidArgument, "WriteChunk has one header, then data, then one footer");
      }
    }
    await writing;
    if (!footer) throw fail(ctx, Code.InvalidArgument, `the chunk stream ended after ${writer.received} of ${length} bytes without a footer`);
    downstream?.end();

    const local = writer.commit(footer.checksum).then((chunk) => {
      installed = true;
      return chunk;
    });
    // Both sides settle before anything is decided, so that a failure on one
    // never races a local install still under way on the other.
    const [mine, theirs] = await Promise.allSettled([local, downstream?.response]);
    if (mine.status === "rejected") throw fail(ctx, toConnectError(mine.reason).code, errorMessage(mine.reason));
    if (theirs.status === "rejected") throw theirs.reason;
    const chunk = mine.value;
    const below = theirs.value;
    // Only a chain that succeeded is reported: a failed one drops its copies below.
    ctx.reportChunk(chunk);
    ctx.logger.info({ chunkId: chunk.chunkId, bytes: chunk.length, downstream: header.downstream.length }, "chunk stored");
    return {
      $typeName: "trainfs.v1.WriteChunkResponse",
      chunk: digestOf(chunk),
      storedOn: [ctx.self.id, ...(below?.storedOn ?? [])],
      receipts: [receiptFor(ctx, chunk), ...(below?.receipts ?? [])],
    };
  } catch (err) {
    downstream?.cancel();
    await writing.catch(() => {});
    await writer.abort();
    // The write failed as a whole, so no ConfirmFile will ever name this copy:
    // drop it now rather than leave an orphan for trash to find.
    if (installed) await ctx.store.delete(header.chunkId).catch(() => {});
    const ce = err instanceof ConnectError && err.metadata.has(FAILED_DATANODE_HEADER) ? err : fail(ctx, toConnectError(err).code, errorMessage(err));
    ctx.logger.warn({ chunkId: header.chunkId, err: ce.rawMessage }, "chunk write failed");
    throw ce;
  }
}

/** An error that names this DataNode as where it happened. */
export function fail(ctx: PipelineContext, code: Code, message: string): ConnectError {
  return failAt(ctx.self.address, code, message);
}

export function failAt(address: string, code: Code, message: string): ConnectError {
  const prefix = `datanode ${address}: `;
  const err = new ConnectError(message.startsWith(prefix) ? message : prefix + message, code);
  err.metadata.set(FAILED_DATANODE_HEADER, address);
  return err;
}

/**
 * A failure of the call to the next node of a chain: an error that node raised
 * itself already names it; anything else (refused connection, reset stream)
 * happened on the way to it, so it is blamed.
 */
export function downstreamError(ctx: PipelineContext, nextAddress: string, err: unknown): ConnectError {
  const ce = ConnectError.from(err);
  if (ce.metadata.has(FAILED_DATANODE_HEADER)) return ce;
  return failAt(nextAddress, ce.code === Code.Canceled ? Code.Unavailable : ce.code, `unreachable from ${ctx.self.address}: ${ce.rawMessage}`);
}

/** A stored chunk as the protocol reports it. */
export function digestOf(chunk: StoredChunk): ChunkDigest {
  return { $typeName: "trainfs.v1.ChunkDigest", chunkId: chunk.chunkId, length: BigInt(chunk.length), checksum: chunk.checksum };
}

/** This node's signed word that it holds the chunk. */
export function receiptFor(ctx: PipelineContext, chunk: StoredChunk): ChunkReceipt {
  const subject = { chunkId: chunk.chunkId, length: chunk.length, checksum: chunk.checksum, datanodeId: ctx.self.id };
  return { $typeName: "trainfs.v1.ChunkReceipt", chunkId: chunk.chunkId, datanodeId: ctx.self.id, signature: ctx.receipts.sign(subject) };
}

interface Downstream {
  send(message: WriteChunkRequest): Promise<void>;
  end(): void;
  cancel(): void;
  response: Promise<WriteChunkResponse>;
}

function openDownstream(ctx: PipelineContext, header: WriteChunkHeader): Downstream {
  const [next, ...rest] = header.downstream;
  const queue = new PassThrough({ objectMode: true, highWaterMark: DOWNSTREAM_QUEUE_PARTS });
  const abort = new AbortController();
  const client = ctx.clients.dataNode(next!.address);
  const response = client.writeChunk(queue as AsyncIterable<WriteChunkRequest>, { signal: abort.signal }).catch((err: unknown) => {
    throw downstreamError(ctx, next!.address, err);
  });
  response.catch(() => {}); // observed by the pipeline; avoid an unhandled rejection meanwhile
  queue.write(
    create(WriteChunkRequestSchema, {
      part: { case: "header", value: { chunkId: header.chunkId, length: header.length, downstream: rest, accessToken: header.accessToken } },
    }),
  );
  return {
    async send(message) {
      if (!queue.write(message)) {
        // Wait for room, unless the downstream fails first.
        await Promise.race([once(queue, "drain"), response]);
      }
    },
    end: () => queue.end(),
    cancel: () => {
      abort.abort();
      queue.destroy();
    },
    response,
  };
}
