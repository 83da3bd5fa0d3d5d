import { Code, ConnectError } from "@connectrpc/connect";
import { DataNodeService, type DataNodeLocation, type WriteChunkPartRequest, type WriteChunkPartResponse } from "@trainfs/proto";
import { errorMessage, safeNumber, toConnectError } from "@trainfs/common";
import { checkChunkId, type StoredChunk } from "./chunk-store.js";
import type { ChunkWriter } from "./chunk-writer.js";
import { MAX_CHAIN, digestOf, downstreamError, fail, type PipelineContext } from "./pipeline.js";

/** Largest part a WriteChunkPart may carry (browsers send 1 MiB by default). */
export const MAX_PART_BYTES = 4 * 1024 * 1024;
/** Header that tells a writer whose part came at the wrong offset where to go on. */
export const EXPECTED_OFFSET_HEADER = "trainfs-expected-offset";
const SESSION_ID = /^[A-Za-z0-9_-]{8,64}$/;

export interface PartUploadOptions {
  /** A session with no part for this long is abandoned and its temporary file removed. */
  idleTimeoutMs: number;
  /** Sessions open at once on this node; more are refused with ResourceExhausted. */
  maxSessions: number;
}

interface Session {
  chunkId: string;
  id: string;
  length: number;
  /** The chain below, as the first part gave it: later parts must name the same. */
  downstream: string;
  writer: ChunkWriter | undefined;
  /** A part is being written: no other part of the session may start meanwhile. */
  busy: boolean;
  lastPartAt: number;
}

/**
 * Chunk writes in unary parts (WriteChunkPart), for writers that cannot
 * stream a request body: browsers. Each session (chunk id + a name the
 * writer chose) keeps its temporary file open between parts; a part is
 * appended there and forwarded to the next node of the chain, which runs its
 * own session under the same name. The last part commits the chunk exactly
 * as the streaming pipeline does: verified, fsynced and committed here and on
 * every node below before the answer. Any failure ends the session on this
 * node (the writer starts the chunk again); a session left idle is swept.
 */
export class PartUploads {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly options: PartUploadOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => void this.sweep(), Math.max(50, Math.min(options.idleTimeoutMs / 4, 10_000)));
    this.sweeper.unref();
  }

  /** Sessions open now. */
  get openCount(): number {
    return this.sessions.size;
  }

  async receive(req: WriteChunkPartRequest): Promise<WriteChunkPartResponse> {
    const ctx = this.ctx;
    checkChunkId(req.chunkId);
    // Every part, not only the first: a session id is no credential.
    try {
      ctx.checkAccess(req.chunkId, "write", req.accessToken);
    } catch (err) {
      throw fail(ctx, Code.PermissionDenied, errorMessage(err));
    }
    const key = `${req.chunkId}/${req.uploadSession}`;
    // A stored chunk is immutable: refused on any part, before the disk or the
    // node below is touched (a session overtaken by another write's install ends).
    try {
      ctx.store.refuseIfHeld(req.chunkId);
    } catch (err) {
      const stale = this.sessions.get(key);
      if (stale && !stale.busy) {
        this.sessions.delete(key);
        await stale.writer?.abort();
      }
      throw fail(ctx, Code.AlreadyExists, errorMessage(err));
    }
    if (!SESSION_ID.test(req.uploadSession)) {
      throw fail(ctx, Code.InvalidArgument, "upload_session must be 8 to 64 characters of [A-Za-z0-9_-]");
    }
    if (req.data.length > MAX_PART_BYTES) {
      throw fail(ctx, Code.InvalidArgument, `a part carries at most ${MAX_PART_BYTES} bytes, not ${req.data.length}`);
    }
    if (req.downstream.length > MAX_CHAIN) throw fail(ctx, Code.InvalidArgument, `a chain has at most ${MAX_CHAIN} DataNodes`);
    const length = safeNumber(req.length, "length");
    const offset = safeNumber(req.offset, "offset");
    const end = offset + req.data.length;
    if (end > length) {
      throw fail(ctx, Code.InvalidArgument, `bytes [${offset}, ${end}) go past the end of chunk ${req.chunkId} (${length} bytes)`);
    }
    if (req.last !== (end === length)) {
      throw fail(ctx, Code.InvalidArgument, req.last
        ? `the last part must complete the chunk: it ends at ${end} of ${length} bytes`
        : "the part that completes the chunk must be marked last and carry the chunk's checksum");
    }
    if (req.data.length === 0 && !req.last) throw fail(ctx, Code.InvalidArgument, "a part other than an empty chunk's only part carries bytes");

    const downstream = req.downstream.map((d) => d.address).join(" ");
    let session = this.sessions.get(key);
    if (!session) {
      if (offset !== 0) {
        throw fail(ctx, Code.NotFound,
          `no upload session ${req.uploadSession} for chunk ${req.chunkId} here (never started, failed, or idle for more than ${this.options.idleTimeoutMs} ms); start the chunk again at offset 0 in a new session`);
      }
      if (this.sessions.size >= this.options.maxSessions) {
        throw fail(ctx, Code.ResourceExhausted, `${this.sessions.size} part uploads are open on this DataNode; try again later`);
      }
      session = { chunkId: req.chunkId, id: req.uploadSession, length, downstream, writer: undefined, busy: true, lastPartAt: this.now() };
      this.sessions.set(key, session);
      try {
        session.writer = await ctx.store.createWriter(req.chunkId, length, req.uploadSession);
      } catch (err) {
        this.sessions.delete(key);
        throw fail(ctx, toConnectError(err).code, errorMessage(err));
      }
    } else {
      if (session.busy) throw fail(ctx, Code.Aborted, `another part of upload session ${session.id} is being written; send parts one at a time`);
      if (session.length !== length || session.downstream !== downstream) {
        throw fail(ctx, Code.InvalidArgument, `every part of upload session ${session.id} must give the same length and downstream chain as its first part`);
      }
      const received = session.writer!.received;
      if (offset !== received) {
        // Out of order or sent twice: the session stays as it is, so the writer can go on from where it really is.
        const err = fail(ctx, Code.FailedPrecondition, `upload session ${session.id} has ${received} bytes of chunk ${req.chunkId}; the next part starts at offset ${received}, not ${offset}`);
        err.metadata.set(EXPECTED_OFFSET_HEADER, String(received));
        throw err;
      }
      session.busy = true;
    }
    return this.write(key, session, req);
  }

  /** Appends one part here while the node below does the same; commits at the last part. */
  private async write(key: string, s: Session, req: WriteChunkPartRequest): Promise<WriteChunkPartResponse> {
    const ctx = this.ctx;
    const writer = s.writer!;
    const below = req.downstream.length > 0 ? this.forward(req) : undefined;
    let installed = false;
    const local = (async (): Promise<StoredChunk | undefined> => {
      await writer.write(req.data);
      ctx.onBytesWritten?.(req.data.length);
      if (!req.last) return undefined;
      const chunk = await writer.commit(req.checksum);
      installed = true;
      await ctx.commitChunk(chunk);
      return chunk;
    })();
    // Both sides settle before anything is decided, as in the streaming pipeline.
    const [mine, theirs] = await Promise.allSettled([local, below]);
    if (mine.status === "fulfilled" && theirs.status === "fulfilled") {
      s.lastPartAt = this.now();
      s.busy = false;
      if (!req.last) return { $typeName: "trainfs.v1.WriteChunkPartResponse", received: BigInt(writer.received), storedOn: [] };
      this.sessions.delete(key);
      const chunk = mine.value!;
      ctx.logger.info({ chunkId: chunk.chunkId, bytes: chunk.length, downstream: req.downstream.length, session: s.id }, "chunk stored");
      return {
        $typeName: "trainfs.v1.WriteChunkPartResponse",
        received: BigInt(writer.received),
        chunk: digestOf(chunk),
        storedOn: [ctx.self.id, ...(theirs.value?.storedOn ?? [])],
      };
    }
    this.sessions.delete(key);
    await writer.abort();
    // The write failed as a whole, so no ConfirmFile will name this copy.
    if (installed) await ctx.store.delete(s.chunkId).catch(() => {});
    const err = mine.status === "rejected" ? fail(ctx, toConnectError(mine.reason).code, errorMessage(mine.reason)) : (theirs as PromiseRejectedResult).reason as ConnectError;
    ctx.logger.warn({ chunkId: s.chunkId, session: s.id, err: err.rawMessage }, "part upload failed");
    throw err;
  }

  private async forward(req: WriteChunkPartRequest): Promise<WriteChunkPartResponse> {
    const [next, ...rest] = req.downstream as [DataNodeLocation, ...DataNodeLocation[]];
    try {
      return await this.ctx.clients.client(DataNodeService, next.address).writeChunkPart({ ...req, downstream: rest });
    } catch (err) {
      throw downstreamError(this.ctx, next.address, err);
    }
  }

  /** Abandons sessions idle for longer than the timeout, removing their temporary files. */
  async sweep(): Promise<number> {
    const cutoff = this.now() - this.options.idleTimeoutMs;
    let swept = 0;
    for (const [key, s] of this.sessions) {
      if (s.busy || s.lastPartAt > cutoff) continue;
      this.sessions.delete(key);
      await s.writer?.abort();
      swept++;
      this.ctx.logger.info({ chunkId: s.chunkId, session: s.id, received: s.writer?.received }, "part upload abandoned: idle too long");
    }
    return swept;
  }

  /** Ends every session (at shutdown). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.writer?.abort()));
  }
}
