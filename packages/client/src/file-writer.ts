import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Client } from "@connectrpc/connect";
import type { ClientService, ConfirmFileRequest, ConfirmFileResponse, DataNodeService, PutFileRequest, PutFileResponse } from "@trainfs/proto";
import { TrainfsError, clientWriteCalls, writeFile as writeChunks, type ChunkSender, type WriteBody, type WriteFileOptions } from "@trainfs/core";
import { sendChunk, type ChunkSource } from "@trainfs/node";
import { toFileStatus, type FileStatus } from "./file-status.js";

/** What `put` accepts: a local file's path, bytes in memory, or a stream of unknown length. */
export type PutSource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface WriteOptions extends WriteFileOptions {
  /** Chunks sent at once (known sizes only; default 4). */
  concurrency?: number | undefined;
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
  const known = typeof source === "string" ? await localFileSize(source) : source instanceof Uint8Array ? source.byteLength : undefined;
  const calls = { ...clientWriteCalls(d.namenode, (signal) => ({ signal })), putFile: d.putFile, confirmFile: d.confirmFile };
  const body: WriteBody =
    known !== undefined
      ? { size: known, concurrency: o.concurrency ?? 4, sender: dataTransferSender(d, typeof source === "string" ? source : bytesOf(source as Uint8Array)) }
      : {
          size: undefined,
          chunks: async function* (chunkSize) {
            for await (const piece of cutIntoChunks(source as AsyncIterable<Uint8Array>, chunkSize)) {
              // sendChunk asks for exactly the chunk's bytes, which are this piece.
              yield { length: piece.length, sender: dataTransferSender(d, (start, end) => bytesOf(piece)(0, end - start)) };
            }
          },
        };
  return toFileStatus(await writeChunks(calls, body, remotePath, o));
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

/**
 * Regroups a stream into pieces of exactly `size` bytes (the last may be
 * shorter, never empty), copied into one buffer that is filled again for
 * the next piece: the write driver sends each chunk, recoveries included,
 * before it asks for the next, so a stream of any length holds one chunk
 * in memory, not the stream's own buffers plus a joined copy of them.
 */
async function* cutIntoChunks(stream: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let chunk: Buffer | undefined;
  let filled = 0;
  for await (const input of stream) {
    let data = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    while (data.length > 0) {
      chunk ??= Buffer.allocUnsafe(size);
      const take = Math.min(size - filled, data.length);
      data.copy(chunk, filled, 0, take);
      filled += take;
      data = data.subarray(take);
      if (filled === size) {
        yield chunk;
        filled = 0;
      }
    }
  }
  if (filled > 0) yield chunk!.subarray(0, filled);
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
