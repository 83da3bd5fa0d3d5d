import { connect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import {
  DataTransferCallSchema,
  DataTransferErrorSchema,
  ReadChunkRequestSchema,
  ReadChunkResponseSchema,
  WriteChunkHeaderSchema,
  WriteChunkResponseSchema,
  type ReadChunkResponse,
  type WriteChunkRequestSchema,
  type WriteChunkResponse,
} from "@trainfs/proto";
import { FAILED_DATANODE_HEADER, REQUEST_ID_HEADER, TrainfsError, toConnectError } from "@trainfs/core";
import type { BufferPool } from "../buffer-pool.js";
import { partBuffers } from "../part-buffers.js";
import { currentRequestId } from "../request-context.js";
import { FrameReader, type ReceivedFrame } from "./frame-reader.js";
import { giveBackUnsent, writeFrames, type OutgoingFrame } from "./frame-writers.js";
import { DATA_TRANSFER_ALPN, DATA_TRANSFER_PREFACE, FRAME_SCRATCH_BYTES, Frame, uint32 } from "./frames.js";

/** A chunk of at most this many bytes is sent in one write with its call and footer. */
const COALESCED_CHUNK_BYTES = 64 * 1024;
/** An idle pooled connection is closed after this long (the server keeps its side longer). */
const POOL_IDLE_MS = 20_000;

interface Connection {
  socket: Socket;
  frames: FrameReader;
}

/**
 * WriteChunk and ReadChunk to one DataNode over the data-transfer protocol,
 * with the same signatures and errors as the Connect client's methods (codes,
 * the trainfs-failed-datanode name on errors a DataNode raised, Canceled on
 * abort), so the pipeline, the SDK and the replicator do not know which is in
 * use. Connections carry one call at a time and are pooled between calls;
 * over TLS (https addresses) ALPN names the protocol instead of the preface.
 *
 * Received parts land in buffers lent by `pool` (the process's
 * `partBuffers` by default); a caller may give them back once done with
 * them. WriteChunk takes over one hold of each data part lent by `pool` and
 * gives it back once the socket has sent it, so a caller that still needs
 * such a part after handing it over must `hold` it first (the pipeline
 * does, for its local write).
 */
export class DataTransferClient {
  private readonly idle: Connection[] = [];
  private readonly host: string;
  private readonly port: number;

  private readonly secure: boolean;

  constructor(
    baseUrl: string,
    /** Trusted certificates (PEM) for an https address. */
    private readonly ca?: Buffer | undefined,
    /** Where received parts land and where sent ones go back. */
    private readonly pool: BufferPool = partBuffers,
  ) {
    const url = new URL(baseUrl);
    this.secure = url.protocol === "https:";
    this.host = url.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(url.port || (this.secure ? 443 : 80));
  }

  readonly writeChunk = async (requests: AsyncIterable<MessageInitShape<typeof WriteChunkRequestSchema>>, options: CallOptions = {}): Promise<WriteChunkResponse> => {
    const { signal } = options;
    const input = requests[Symbol.asyncIterator]();
    const { conn, finish } = await this.open(signal);
    let reusable = false;
    try {
      const first = await input.next();
      const header = first.done ? undefined : first.value.part;
      if (header?.case !== "header") throw new ConnectError("the first message of WriteChunk must be a header", Code.InvalidArgument);
      // A small chunk's call, data and footer leave in one write (writeFrames);
      // a larger one's call goes at once, so the chain opens while its bytes are read.
      const call = callFrame({ case: "writeChunk", value: create(WriteChunkHeaderSchema, header.value) }, options);
      let held: OutgoingFrame[] | undefined = Number(header.value.length ?? 0) <= COALESCED_CHUNK_BYTES ? [call] : undefined;
      let heldBytes = 0;
      if (!held) await writeFrames(conn.socket, [call]);
      const answer = conn.frames.next();
      let answered = false;
      answer.then(() => (answered = true), () => (answered = true));
      let sourceError: { err: unknown } | undefined;
      // The parts go out while the answer is awaited: a DataNode refusing the
      // chunk early (bad token, full disk, failed downstream) answers at once.
      const pumped = (async () => {
        try {
          for (let next = await input.next(); !next.done && !answered; next = await input.next()) {
            const part = next.value.part;
            if (part?.case === "data") {
              // A part lent by the pool is given back once sent (see the class's note).
              const frame = { type: Frame.Data, parts: [part.value], lent: part.value };
              if (!held) await writeFrames(conn.socket, [frame], this.pool);
              else if (held.push(frame) && (heldBytes += part.value.length) > COALESCED_CHUNK_BYTES) {
                // More than the header said: sent as it comes, for the DataNode to refuse.
                const frames = held;
                held = undefined;
                await writeFrames(conn.socket, frames, this.pool);
              }
            } else if (part?.case === "footer") {
              const footer = { type: Frame.Footer, parts: [uint32(part.value.checksum ?? 0)] };
              const frames = [...(held ?? []), footer];
              held = undefined;
              await writeFrames(conn.socket, frames, this.pool);
              return true;
            } else {
              throw new ConnectError("WriteChunk has one header, then data, then one footer", Code.InvalidArgument);
            }
          }
          if (answered) return false;
          // Connect would half-close the stream and the DataNode answer InvalidArgument; here the call is cut.
          throw new ConnectError("the WriteChunk stream ended without a footer", Code.InvalidArgument);
        } finally {
          if (held) giveBackUnsent(held, this.pool);
        }
      })().catch((err: unknown) => {
        // The source failed (not the connection): the DataNode must see the
        // call cut, so that it drops the partial chunk.
        if (!answered && !conn.socket.destroyed) sourceError = { err };
        conn.socket.destroy();
        return false;
      });
      let frame: ReceivedFrame | null;
      try {
        frame = await answer;
      } catch (err) {
        // Set before the socket was cut, so known by the time the answer failed.
        if (sourceError) throw sourceError.err;
        throw err;
      }
      if (frame?.type === Frame.Result) {
        const footerSent = await pumped;
        reusable = footerSent;
        return fromBinary(WriteChunkResponseSchema, frame.payload);
      }
      throw answerError(frame, "WriteChunk");
    } catch (err) {
      throw callError(err, signal);
    } finally {
      // A call that did not complete lets go of its source (a file being read, an upstream's queue).
      if (!reusable) Promise.resolve(input.return?.()).catch(() => {});
      finish(reusable);
    }
  };

  readonly readChunk = (request: MessageInitShape<typeof ReadChunkRequestSchema>, options: CallOptions = {}): AsyncGenerator<ReadChunkResponse> =>
    this.read(request, options);

  /** Closes the pooled connections; calls in flight keep theirs. */
  close(): void {
    for (const conn of this.idle.splice(0)) conn.socket.destroy();
  }

  private async *read(request: MessageInitShape<typeof ReadChunkRequestSchema>, options: CallOptions): AsyncGenerator<ReadChunkResponse> {
    const { signal } = options;
    const { conn, finish } = await this.open(signal);
    let reusable = false;
    try {
      await writeFrames(conn.socket, [callFrame({ case: "readChunk", value: create(ReadChunkRequestSchema, request) }, options)]);
      for (;;) {
        const frame = await conn.frames.next();
        if (frame?.type === Frame.Part) {
          const metaLength = frame.payload.readUInt32BE(0);
          const part = fromBinary(ReadChunkResponseSchema, frame.payload.subarray(4, 4 + metaLength));
          part.data = frame.payload.subarray(4 + metaLength);
          yield part;
        } else if (frame?.type === Frame.End) {
          reusable = true;
          return;
        } else {
          throw answerError(frame, "ReadChunk");
        }
      }
    } catch (err) {
      throw callError(err, signal);
    } finally {
      // A reader that stops early leaves parts in flight: that connection is not reused.
      finish(reusable);
    }
  }

  /** A connection for one call, cut if `signal` aborts; `finish` returns it to the pool when the call ended cleanly. */
  private async open(signal: AbortSignal | undefined): Promise<{ conn: Connection; finish: (reusable: boolean) => void }> {
    const conn = await this.acquire(signal);
    const onAbort = () => conn.socket.destroy();
    signal?.addEventListener("abort", onAbort, { once: true });
    return {
      conn,
      finish: (reusable) => {
        signal?.removeEventListener("abort", onAbort);
        this.release(conn, reusable);
      },
    };
  }

  private async acquire(signal: AbortSignal | undefined): Promise<Connection> {
    if (signal?.aborted) throw new ConnectError("the operation was aborted", Code.Canceled);
    for (let conn = this.idle.pop(); conn; conn = this.idle.pop()) {
      if (!conn.socket.destroyed && !conn.socket.readableEnded) {
        conn.socket.setTimeout(0);
        return conn;
      }
      conn.socket.destroy();
    }
    return await new Promise<Connection>((resolve, reject) => {
      let frames: FrameReader | undefined;
      // Reads land straight in the payload of the frame under way, or in one
      // scratch buffer per connection between frames (see FrameReader).
      const scratch = Buffer.allocUnsafe(FRAME_SCRATCH_BYTES);
      const onread = { buffer: () => frames?.readTarget(scratch) ?? scratch, callback: (n: number, buffer: Uint8Array) => frames!.received(n, buffer as Buffer) };
      // Node's TLS sockets take `onread` too; its typings do not list it.
      const secureOptions: ConnectionOptions & { onread: typeof onread } = {
        host: this.host,
        port: this.port,
        ...(isIP(this.host) ? {} : { servername: this.host }),
        ALPNProtocols: [DATA_TRANSFER_ALPN],
        ...(this.ca ? { ca: this.ca } : {}),
        onread,
      };
      const socket = this.secure ? tlsConnect(secureOptions) : connect({ host: this.host, port: this.port, noDelay: true, onread });
      const onAbort = () => {
        socket.destroy();
        reject(new ConnectError("the operation was aborted", Code.Canceled));
      };
      const onError = (err: Error) => {
        signal?.removeEventListener("abort", onAbort);
        reject(new ConnectError(`cannot connect to ${this.host}:${this.port}: ${err.message}`, Code.Unavailable, undefined, undefined, err));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("error", onError);
      socket.once(this.secure ? "secureConnect" : "connect", () => {
        signal?.removeEventListener("abort", onAbort);
        socket.off("error", onError);
        if (this.secure) {
          socket.setNoDelay(true);
          if ((socket as TLSSocket).alpnProtocol !== DATA_TRANSFER_ALPN) {
            socket.destroy();
            reject(new ConnectError(`${this.host}:${this.port} does not offer data transfer over TLS`, Code.Unavailable));
            return;
          }
        } else {
          socket.write(DATA_TRANSFER_PREFACE);
        }
        frames = new FrameReader(socket, { pushed: true, pool: this.pool });
        const conn = { socket, frames };
        socket.once("close", () => {
          const i = this.idle.indexOf(conn);
          if (i >= 0) this.idle.splice(i, 1);
        });
        // Armed only while the connection waits in the pool (see release).
        socket.on("timeout", () => socket.destroy());
        resolve(conn);
      });
    });
  }

  private release(conn: Connection, reusable: boolean): void {
    if (!reusable || conn.socket.destroyed) {
      conn.socket.destroy();
      return;
    }
    conn.socket.setTimeout(POOL_IDLE_MS);
    this.idle.push(conn);
  }
}

function callFrame(call: MessageInitShape<typeof DataTransferCallSchema>["call"], options: CallOptions): OutgoingFrame {
  const given = new Headers(options.headers).get(REQUEST_ID_HEADER);
  const message = create(DataTransferCallSchema, { call, requestId: given ?? currentRequestId() ?? "" });
  return { type: Frame.Call, parts: [toBinary(DataTransferCallSchema, message)] };
}

/** The DataNode's error frame as the ConnectError a Connect call would have raised. */
function answerError(frame: ReceivedFrame | null, method: string): ConnectError {
  if (!frame) return new ConnectError(`the DataNode closed the connection during ${method}`, Code.Unavailable);
  if (frame.type !== Frame.Error) return new ConnectError(`unexpected frame ${frame.type} in answer to ${method}`, Code.Internal);
  const e = fromBinary(DataTransferErrorSchema, frame.payload);
  const err = new ConnectError(e.message, (Code[e.code] === undefined ? Code.Unknown : e.code) as Code);
  if (e.failedDatanode) err.metadata.set(FAILED_DATANODE_HEADER, e.failedDatanode);
  return err;
}

/** Any failure as the ConnectError a Connect call would have raised (the connection's own are TrainfsErrors). */
function callError(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return new ConnectError("the operation was aborted", Code.Canceled);
  return err instanceof TrainfsError ? toConnectError(err) : err;
}
