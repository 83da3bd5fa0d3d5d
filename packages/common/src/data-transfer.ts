import type { Socket } from "node:net";
import { TrainfsError } from "./errors.js";
import { MAX_MESSAGE_BYTES } from "./rpc-limits.js";

/**
 * The data-transfer protocol: WriteChunk and ReadChunk as length-prefixed
 * frames on a plain TCP connection (HDFS's DataTransferProtocol plays the
 * same part beside its RPC). Over Connect every 1 MiB part was copied into a
 * protobuf message, again into an envelope, and again out of HTTP/2 frames
 * on each hop; here a part's bytes go to the socket as they are, behind a
 * 5-byte frame header. The call header, answers and errors are still the
 * protobuf messages of datanode.proto. See docs/protocol.md, "Data transfer".
 */
/** Header (Connect) or error field (data transfer) through which an error names the DataNode where it happened. */
export const FAILED_DATANODE_HEADER = "trainfs-failed-datanode";

export const DATA_TRANSFER_PREFACE = Buffer.from("TRAINFS-DATA/1\r\n");

/** Frame types: a frame is 1 type byte, a u32 big-endian payload length, the payload. */
export const Frame = {
  /** Client: a DataTransferCall (protobuf). */
  Call: 1,
  /** Client: bytes of the chunk being written. */
  Data: 2,
  /** Client: the chunk's CRC-32, 4 bytes big-endian; ends a write. */
  Footer: 3,
  /** Server: a WriteChunkResponse (protobuf); ends a write. */
  Result: 4,
  /** Server: u32 length of a ReadChunkResponse without its data (protobuf), that message, then the data. */
  Part: 5,
  /** Server: the read is complete. */
  End: 6,
  /** Server: a DataTransferError (protobuf); the connection closes after it. */
  Error: 7,
} as const;
export type Frame = (typeof Frame)[keyof typeof Frame];

const HEADER_BYTES = 5;

export interface ReceivedFrame {
  type: Frame;
  payload: Buffer;
}

/** Frames as they arrive on a socket, pulled one at a time; the socket is paused while the consumer lags. */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly frames: ReceivedFrame[] = [];
  private queuedBytes = 0;
  private waiter: { resolve: (f: ReceivedFrame | null) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    /** Frames held before the socket is paused: enough to overlap the consumer's work with the network. */
    private readonly maxQueuedBytes = 4 * 1024 * 1024,
  ) {
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("end", () => {
      this.ended = true;
      this.settle();
    });
    socket.on("close", () => {
      if (!this.ended) this.failure ??= new TrainfsError("unavailable", "the connection closed");
      this.ended = true;
      this.settle();
    });
    socket.on("error", (err) => {
      this.failure ??= new TrainfsError("unavailable", `connection failed: ${err.message}`, { cause: err });
      this.settle();
    });
  }

  /** The next frame; null when the peer ended the connection between frames. */
  next(): Promise<ReceivedFrame | null> {
    const frame = this.frames.shift();
    if (frame) {
      this.queuedBytes -= frame.payload.length;
      if (this.queuedBytes < this.maxQueuedBytes && this.socket.isPaused()) this.socket.resume();
      return Promise.resolve(frame);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) {
      return this.buffered > 0 ? Promise.reject(new TrainfsError("unavailable", "the connection closed in the middle of a frame")) : Promise.resolve(null);
    }
    if (this.waiter) return Promise.reject(new TrainfsError("internal", "FrameReader.next called twice at once"));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Stops parsing: what arrives from now on is dropped (after an error frame is sent, until the peer closes). */
  discard(): void {
    this.failure ??= new TrainfsError("canceled", "the call ended");
    this.chunks.length = 0;
    this.buffered = 0;
    this.frames.length = 0;
    this.socket.resume();
    this.settle();
  }

  private onData(data: Buffer): void {
    if (this.failure) return;
    this.chunks.push(data);
    this.buffered += data.length;
    while (this.buffered >= HEADER_BYTES) {
      const head = this.peekHeader();
      const length = head.readUInt32BE(1);
      if (length > MAX_MESSAGE_BYTES) {
        this.failure = new TrainfsError("invalid_argument", `data-transfer frame of ${length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
        this.socket.destroy();
        break;
      }
      if (this.buffered < HEADER_BYTES + length) break;
      this.take(HEADER_BYTES);
      const payload = this.take(length);
      this.frames.push({ type: head[0] as Frame, payload });
      this.queuedBytes += length;
    }
    if (this.queuedBytes >= this.maxQueuedBytes) this.socket.pause();
    this.settle();
  }

  private peekHeader(): Buffer {
    const first = this.chunks[0]!;
    return first.length >= HEADER_BYTES ? first : Buffer.concat(this.chunks, Math.min(this.buffered, 64)).subarray(0, HEADER_BYTES);
  }

  /** The next n buffered bytes: a view when they lie in one received buffer (the usual case for big reads), else one copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }

  private settle(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    const frame = this.frames.shift();
    if (frame) {
      this.waiter = undefined;
      this.queuedBytes -= frame.payload.length;
      waiter.resolve(frame);
    } else if (this.failure) {
      this.waiter = undefined;
      waiter.reject(this.failure);
    } else if (this.ended) {
      this.waiter = undefined;
      if (this.buffered > 0) waiter.reject(new TrainfsError("unavailable", "the connection closed in the middle of a frame"));
      else waiter.resolve(null);
    }
  }
}

/**
 * Writes one frame (the parts are sent one after another, never concatenated)
 * and waits while the socket's buffer is full, so a fast sender is slowed to
 * the pace of the receiver.
 */
export async function writeFrame(socket: Socket, type: Frame, ...parts: Uint8Array[]): Promise<void> {
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  head[0] = type;
  head.writeUInt32BE(parts.reduce((n, p) => n + p.length, 0), 1);
  socket.cork();
  let room = socket.write(head);
  for (const p of parts) if (p.length > 0) room = socket.write(p);
  socket.uncork();
  if (!room) await drained(socket);
}

function drained(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.reject(new TrainfsError("unavailable", "the connection closed"));
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new TrainfsError("unavailable", "the connection closed"));
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  });
}

export function uint32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
