import type { Socket } from "node:net";
import { MAX_MESSAGE_BYTES, TrainfsError } from "@trainfs/core";
import type { BufferPool } from "../buffer-pool.js";
import { FRAME_HEADER_BYTES, FRAME_SCRATCH_BYTES, Frame } from "./frames.js";

export interface ReceivedFrame {
  type: Frame;
  payload: Buffer;
}

/**
 * Frames as they arrive on a socket, pulled one at a time; the socket is
 * paused while the consumer lags. Each frame's payload is assembled in a
 * buffer of its own as the bytes come, so the bytes handed to `push` may be
 * reused by the caller right after. A client socket goes further (`onread`
 * with `readTarget` and `received`): while a frame is incomplete the kernel
 * reads straight into the rest of its payload, and only headers and the
 * first bytes after them pass through a small scratch buffer. A download
 * thus copies its bytes once (kernel to payload) instead of twice, and
 * allocates no 64 KiB read buffer per read (V8 runs full collections on
 * external-memory growth).
 */
export class FrameReader {
  private readonly head = Buffer.alloc(FRAME_HEADER_BYTES);
  private headFilled = 0;
  private current: ReceivedFrame | undefined;
  private filled = 0;
  private readonly frames: ReceivedFrame[] = [];
  private queuedBytes = 0;
  private paused = false;
  private waiter: { resolve: (f: ReceivedFrame | null) => void; reject: (e: Error) => void } | undefined;
  /** The rest of the current frame's payload, handed out by readTarget for the next read. */
  private direct: Buffer | undefined;
  private failure: Error | undefined;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    options: {
      /** The socket's bytes come through `push` (an `onread` socket) rather than its "data" events. */
      pushed?: boolean;
      /** Bytes held before the socket is paused: enough to overlap the consumer's work with the network. */
      maxQueuedBytes?: number;
      /** Where data frames' payloads come from (the consumer gives them back); fresh buffers without. */
      pool?: BufferPool;
    } = {},
  ) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? 4 * 1024 * 1024;
    this.pool = options.pool;
    this.pushed = options.pushed === true;
    if (!options.pushed) {
      socket.on("data", (data: Buffer) => {
        if (!this.push(data)) socket.pause();
      });
    }
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

  private readonly maxQueuedBytes: number;
  private readonly pool: BufferPool | undefined;
  /** Whether reads come through readTarget/received (the socket reads into the frames) rather than "data" events. */
  readonly pushed: boolean;

  /** The next frame; null when the peer ended the connection between frames. */
  next(): Promise<ReceivedFrame | null> {
    const frame = this.frames.shift();
    if (frame) {
      this.dequeued(frame);
      return Promise.resolve(frame);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return this.midFrame() ? Promise.reject(midFrameError()) : Promise.resolve(null);
    if (this.waiter) return Promise.reject(new TrainfsError("internal", "FrameReader.next called twice at once"));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /**
   * For an `onread` socket's `buffer` function: where the next read lands.
   * Inside a frame, the rest of its payload (no copy later); between frames, `scratch`.
   */
  readTarget(scratch: Buffer): Buffer {
    const frame = this.current;
    this.direct = frame && !this.failure && this.filled < frame.payload.length ? frame.payload.subarray(this.filled) : undefined;
    return this.direct ?? scratch;
  }

  /** For an `onread` socket's callback: `n` bytes landed in `buffer` (the last readTarget); false when the socket should pause. */
  received(n: number, buffer: Buffer): boolean {
    const frame = this.current;
    if (buffer !== this.direct || !frame) return this.push(buffer.subarray(0, n));
    this.direct = undefined;
    this.filled += n;
    if (this.filled === frame.payload.length) this.complete(frame);
    return this.afterReceive();
  }

  /** Stops parsing: what arrives from now on is dropped (after an error frame is sent, until the peer closes). */
  discard(): void {
    this.failure ??= new TrainfsError("canceled", "the call ended");
    this.frames.length = 0;
    this.current = undefined;
    this.direct = undefined;
    this.paused = false;
    this.socket.resume();
    this.settle();
  }

  /** Takes received bytes (copied; `data` may be reused afterwards); false when the socket should pause. */
  push(data: Buffer): boolean {
    let at = 0;
    while (at < data.length && !this.failure) {
      if (!this.current) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headFilled, data.length - at);
        data.copy(this.head, this.headFilled, at, at + n);
        this.headFilled += n;
        at += n;
        if (this.headFilled < FRAME_HEADER_BYTES) break;
        this.headFilled = 0;
        const type = this.head[0]!;
        if (type < Frame.Call || type > Frame.Error) {
          // Typically an HTTP answer ("H"): a server that does not speak the protocol.
          const shown = type >= 0x20 && type < 0x7f ? ` ("${String.fromCharCode(type)}")` : "";
          this.failure = new TrainfsError("unavailable", `the peer does not speak the data-transfer protocol (got byte 0x${type.toString(16)}${shown} where a frame type was due)`);
          this.socket.destroy();
          break;
        }
        const length = this.head.readUInt32BE(1);
        if (length > MAX_MESSAGE_BYTES) {
          this.failure = new TrainfsError("invalid_argument", `data-transfer frame of ${length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`);
          this.socket.destroy();
          break;
        }
        const pooled = this.pool && (type === Frame.Data || type === Frame.Part);
        this.current = { type: type as Frame, payload: pooled ? this.pool!.take(length) : Buffer.allocUnsafe(length) };
        this.filled = 0;
      }
      const frame = this.current;
      const n = Math.min(frame.payload.length - this.filled, data.length - at);
      data.copy(frame.payload, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === frame.payload.length) this.complete(frame);
    }
    return this.afterReceive();
  }

  private complete(frame: ReceivedFrame): void {
    this.current = undefined;
    this.frames.push(frame);
    this.queuedBytes += frame.payload.length;
  }

  private afterReceive(): boolean {
    this.settle();
    this.paused = this.queuedBytes >= this.maxQueuedBytes;
    return !this.paused;
  }

  private midFrame(): boolean {
    return this.headFilled > 0 || this.current !== undefined;
  }

  private dequeued(frame: ReceivedFrame): void {
    this.queuedBytes -= frame.payload.length;
    if (this.paused && this.queuedBytes < this.maxQueuedBytes) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private settle(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    const frame = this.frames.shift();
    if (frame) {
      this.waiter = undefined;
      this.dequeued(frame);
      waiter.resolve(frame);
    } else if (this.failure) {
      this.waiter = undefined;
      waiter.reject(this.failure);
    } else if (this.ended) {
      this.waiter = undefined;
      if (this.midFrame()) waiter.reject(midFrameError());
      else waiter.resolve(null);
    }
  }
}

/**
 * A FrameReader for a socket a server accepted. Node gives `onread` (reads
 * into a buffer of the caller's) only to sockets it connects, not to those a
 * `net.Server` accepts: those read each time into a fresh 64 KiB buffer,
 * which the reader then copies into the frame, and that churn of external
 * memory drives full collections on a DataNode receiving a chunk. A plain
 * TCP socket is switched here to the same mode as an
 * `onread` socket, through the fields Node keeps for it (`useUserBuffer` on
 * the handle, the `kBuffer*` fields on the socket: internals, of Node 20
 * here, looked for at run time); when they are not there (TLS, another
 * Node), the reader takes the socket's "data" events as before.
 */
export function acceptedFrameReader(socket: Socket, options: { pool?: BufferPool; maxQueuedBytes?: number } = {}): FrameReader {
  const fields = userBufferFields(socket);
  if (!fields) return new FrameReader(socket, options);
  const frames = new FrameReader(socket, { ...options, pushed: true });
  const scratch = Buffer.allocUnsafe(FRAME_SCRATCH_BYTES);
  const internals = socket as unknown as Record<symbol, unknown> & { _handle: { useUserBuffer(b: Uint8Array): void } };
  // As Node sets up an `onread` socket whose buffer is a function: the
  // callback gets the bytes read into the buffer it gave, then the generator
  // names where the next read lands.
  const first = frames.readTarget(scratch);
  internals[fields.buffer] = first;
  internals[fields.callback] = (n: number, buffer: Buffer) => frames.received(n, buffer);
  internals[fields.generator] = () => frames.readTarget(scratch);
  internals._handle.useUserBuffer(first);
  // Bytes that arrived before the switch (after a sniffed preface) come first.
  for (let early = socket.read() as Buffer | null; early !== null; early = socket.read() as Buffer | null) frames.push(early);
  return frames;
}


function userBufferFields(socket: Socket): { buffer: symbol; callback: symbol; generator: symbol } | undefined {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } })._handle;
  // A TLS socket's handle reads ciphertext: only plain sockets qualify.
  if ((socket as { encrypted?: boolean }).encrypted || socket.constructor.name !== "Socket" || typeof handle?.useUserBuffer !== "function") return undefined;
  const symbols = Object.getOwnPropertySymbols(socket);
  const find = (name: string) => symbols.find((sym) => sym.description === name);
  const buffer = find("kBuffer");
  const callback = find("kBufferCb");
  const generator = find("kBufferGen");
  if (!buffer || !callback || !generator) return undefined;
  const s = socket as unknown as Record<symbol, unknown>;
  // Never switched already (a socket Node gave onread to has its own).
  if (s[buffer] !== null || s[callback] !== null || s[generator] !== null) return undefined;
  return { buffer, callback, generator };
}

function midFrameError(): TrainfsError {
  return new TrainfsError("unavailable", "the connection closed in the middle of a frame");
}

