import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Client } from "@connectrpc/connect";
import type { ClientService, ConfirmFileRequest, ConfirmFileResponse, DataNodeService, PutFileRequest, PutFileResponse } from "@trainfs/proto";
import { TrainfsError, clientWriteCalls, writeFile as writeChunks, type ChunkSender, type WriteBody, type WriteCalls, type WriteFileOptions } from "@trainfs/core";
import { sendChunk, type ChunkSource } from "@trainfs/node";
import { toFileStatus, type FileStatus } from "./file-status.js";
import { SequentialChunks, partsByChunk, releaseParts } from "./stream-chunks.js";

/** What `put` accepts: a local file's path, bytes in memory, or a stream of unknown length. */
export type PutSource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface WriteOptions extends WriteFileOptions {
  /** Chunks sent at once (known sizes only; default 4, 2 for a stream of known `size`). */
  concurrency?: number | undefined;
  /**
   * A stream's length, when known (an HTTP body's, say): its chunks are
   * planned at once and each streams to its chain as its bytes arrive, the
   * next one starting while the last is acknowledged. Each chunk in flight
   * is held until its chain acknowledged it. A stream that ends short of it,
   * or goes past it, fails the write. Ignored for paths and bytes.
   */
  size?: number | undefined;
}

interface Deps {
  namenode: Client<typeof ClientService>;
  datanodeAt: (address: string) => Client<typeof DataNodeService>;
  idleTimeoutMs?: number | undefined;
  /** PutFile and ConfirmFile, as the client batches them (call-batcher.ts). */
  putFile: (req: PutFileRequest, signal: AbortSignal | undefined) => Promise<PutFileResponse>;
  confirmFile: (req: ConfirmFileRequest, signal: AbortSignal | undefined) => Promise<ConfirmFileResponse>;
}

/**
 * The Node SDK's put: @trainfs/core's write driver (recovery, lease,
 * confirm, abandon) over the data-transfer chunk sender. Known sizes (a
 * local file, bytes) send several chunks at once; streams are cut into
 * chunks as they arrive (one chunk is buffered at a time).
 */
export async function writeFile(d: Deps, source: PutSource, remotePath: string, o: WriteOptions): Promise<FileStatus> {
  const calls = { ...clientWriteCalls(d.namenode, (signal) => ({ signal })), putFile: d.putFile, confirmFile: d.confirmFile };
  if (typeof source !== "string" && !(source instanceof Uint8Array) && o.size !== undefined) return writeSizedStream(d, calls, source, o.size, remotePath, o);
  const known = typeof source === "string" ? await localFileSize(source) : source instanceof Uint8Array ? source.byteLength : undefined;
  let sentParts: Buffer[] = [];
  const body: WriteBody =
    known !== undefined
      ? { size: known, concurrency: o.concurrency ?? 4, sender: dataTransferSender(d, typeof source === "string" ? source : bytesOf(source as Uint8Array)) }
      : {
          size: undefined,
          chunks: async function* (chunkSize) {
            for await (const { parts, length } of partsByChunk(source as AsyncIterable<Uint8Array>, chunkSize)) {
              // The driver sends each chunk (recoveries included) before it asks for the next.
              releaseParts(sentParts);
              sentParts = parts;
              yield { length, sender: dataTransferSender(d, () => fromParts(parts)) };
            }
          },
        };
  try {
    return toFileStatus(await writeChunks(calls, body, remotePath, o));
  } finally {
    releaseParts(sentParts);
  }
}

/**
 * A stream of known length: PutFile plans every chunk, and each is sent as
 * its bytes arrive (SequentialChunks), `concurrency` at a time (default 2:
 * one arriving while the one before is acknowledged).
 */
async function writeSizedStream(d: Deps, calls: WriteCalls, source: AsyncIterable<Uint8Array>, size: number, remotePath: string, o: WriteOptions): Promise<FileStatus> {
  if (!Number.isSafeInteger(size) || size < 0) throw new TrainfsError("invalid_argument", `invalid stream size ${size}`);
  // An empty stream plans no chunk: it must end (and pass whatever checks it makes at its end) before the file is written.
  if (size === 0) {
    for await (const piece of source) if (piece.length > 0) throw new TrainfsError("invalid_argument", "the stream is longer than the 0 bytes it was said to have");
  }
  const chunks = new SequentialChunks(source, size);
  const inner = dataTransferSender(d, (start, end) => chunks.range(start, end));
  const sender: ChunkSender = {
    send: async (plan, attempt) => {
      await chunks.firstBytes(Number(plan.offset), Number(plan.offset) + Number(plan.length));
      const sent = await inner.send(plan, attempt);
      chunks.release(Number(plan.offset));
      return sent;
    },
  };
  try {
    return toFileStatus(await writeChunks(calls, { size, concurrency: o.concurrency ?? 2, sender }, remotePath, o));
  } catch (err) {
    chunks.fail(err);
    throw err;
  }
}

async function* fromParts(parts: Buffer[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

/**
 * The Node SDK's chunk sender: a chunk's bytes from `source` to the head of
 * its chain over the data-transfer protocol (sendChunk, as DataNodes copy
 * replicas), given up when it stops moving for `idleTimeoutMs`.
 */
function dataTransferSender(d: Deps, source: ChunkSource): ChunkSender {
  return {
    // Progress counts bytes acknowledged, not sent: a chunk's bytes once its
    // whole chain stored them (the receipts), so a rate never runs ahead of the disks.
    send: async (plan, { signal, onBytes }) => {
      const sent = await sendChunk(d.datanodeAt(plan.chain[0]!.address), source, plan, { signal, idleTimeoutMs: d.idleTimeoutMs });
      onBytes(sent.length);
      return sent;
    },
  };
}

/** Slices of bytes in memory, in parts of about 1 MiB. */
function bytesOf(data: Uint8Array): (start: number, end: number) => AsyncIterable<Uint8Array> {
  return async function* (start, end) {
    for (let at = start; at < end; at += 1024 * 1024) yield data.subarray(at, Math.min(end, at + 1024 * 1024));
  };
}

async function localFileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new TrainfsError("invalid_argument", `local path ${path} is not a regular file`);
    return s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new TrainfsError("not_found", `local file ${path} does not exist`);
    throw err;
  }
}
