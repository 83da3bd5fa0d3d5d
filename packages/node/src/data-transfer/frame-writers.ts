import type { Socket } from "node:net";
import { TrainfsError } from "@trainfs/core";
import type { BufferPool } from "../buffer-pool.js";
import { partBuffers } from "../part-buffers.js";
import { FRAME_HEADER_BYTES, type Frame } from "./frames.js";

/**
 * Writes one frame (the parts are sent one after another, never concatenated)
 * and waits while the socket's buffer is full, so a fast sender is slowed to
 * the pace of the receiver.
 */
export async function writeFrame(socket: Socket, type: Frame, ...parts: Uint8Array[]): Promise<void> {
  await writeFrameGiving(socket, type, parts);
}

/** A frame to write: its type, its payload in parts, and a part `lent` by a pool to give back once sent. */
export interface OutgoingFrame {
  type: Frame;
  parts: Uint8Array[];
  lent?: Uint8Array | undefined;
}

/**
 * writeFrame whose last part, `lent` by `pool`, is given back to it once the
 * socket has written it (not when the promise resolves: a socket queues what
 * it cannot write at once). The pool is the process's `partBuffers` unless
 * the caller lent from another.
 */
export async function writeFrameGiving(socket: Socket, type: Frame, parts: Uint8Array[], lent?: Uint8Array, pool: BufferPool = partBuffers): Promise<void> {
  await writeFrames(socket, [{ type, parts, lent }], pool);
}

/**
 * Several frames in one write to the kernel (one writev): a small chunk's
 * call, data and footer, or a read's last part and its end, cost one system
 * call and wake the peer once instead of two or three times (round 15 in
 * docs/performance.md).
 */
export async function writeFrames(socket: Socket, frames: readonly OutgoingFrame[], pool: BufferPool = partBuffers): Promise<void> {
  socket.cork();
  let room = true;
  for (const { type, parts, lent } of frames) {
    const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    head[0] = type;
    head.writeUInt32BE(parts.reduce((n, p) => n + p.length, 0), 1);
    const written = lent && ((err?: Error | null) => err || pool.give(lent));
    room = socket.write(head);
    for (const p of parts) if (p.length > 0) room = p === lent ? socket.write(p, written) : socket.write(p);
  }
  socket.uncork();
  if (!room) await drained(socket);
}

/** Gives back the lent parts of frames that will not be written. */
export function giveBackUnsent(frames: readonly OutgoingFrame[], pool: BufferPool = partBuffers): void {
  for (const f of frames) if (f.lent) pool.give(f.lent);
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

