import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { Client } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import {
  ConfirmFileRequestSchema,
  PutFileRequestSchema,
  type ChunkPlan,
  type ConfirmFileRequest,
  type ConfirmFileResponse,
  type DataNodeService,
  type ClientService,
  type PutFileRequest,
  type PutFileResponse,
} from "@trainfs/proto";
import { ChunkWriteError, TrainfsError, sendChunk, toTrainfsError, type ChunkSource, type ErrorCode, type SentChunk } from "@trainfs/common";
import { toFileStatus, type FileStatus } from "./file-status.js";
import { mapLimit } from "./map-limit.js";

/** Chain failures worth a new chain: a node down, hung, full, or bytes damaged on the way. */
const RECOVERABLE = new Set<ErrorCode>(["unavailable", "resource_exhausted", "internal", "data_loss", "deadline_exceeded", "canceled"]);
const MAX_CHAIN_RECOVERIES = 3;

/**
 * A reset connection (Aborted) counts when a node is named; a source that
 * changed under us does not. So does AlreadyExists from a named node: it
 * already holds the chunk (from an earlier chain), and is left out of the next. A refused access token (PermissionDenied) is
 * most likely one that expired during a long write: a new chain comes with a
 * new token, and no node is to blame.
 */
function recoverable(err: unknown): err is ChunkWriteError {
  return (
    err instanceof ChunkWriteError &&
    (RECOVERABLE.has(err.code) || err.code === "permission_denied" || ((err.code === "aborted" || err.code === "already_exists") && err.failedAddress !== undefined))
  );
}

/** What `put` accepts: a local file's path, bytes in memory, or a stream of unknown length. */
export type PutSource = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface WriteOptions {
  replication?: number | undefined;
  chunkSize?: number | undefined;
  /** Replace an existing file, atomically at the end of the write. */
  overwrite?: boolean | undefined;
  /** Chunks sent at once (known sizes only; default 4). */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((done: number, total: number | undefined) => void) | undefined;
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
 * The write path of the SDK: PutFile, the chunks through their chains, then
 * ConfirmFile, with the lease renewed meanwhile and the write abandoned on
 * any failure or abort, so no file ever appears half-written. Known sizes
 * (a local file, bytes) send several chunks at once; streams are cut into
 * chunks as they arrive (one chunk is buffered at a time).
 */
export async function writeFile(d: Deps, source: PutSource, remotePath: string, o: WriteOptions): Promise<FileStatus> {
  const known = typeof source === "string" ? await localFileSize(source) : source instanceof Uint8Array ? source.byteLength : undefined;
  const { signal } = o;
  const started = await d.putFile(
    create(PutFileRequestSchema, {
      path: remotePath,
      size: BigInt(known ?? 0),
      unknownSize: known === undefined,
      replication: o.replication ?? 0,
      chunkSize: BigInt(o.chunkSize ?? 0),
      overwrite: o.overwrite ?? false,
    }),
    signal,
  ).catch((err: unknown) => {
    throw toTrainfsError(err);
  });
  const renew = setInterval(
    () => void d.namenode.renewLease({ path: remotePath, uploadId: started.uploadId }).catch(() => {}),
    Math.max(1000, started.leaseMs / 3),
  ).unref();
  let done = 0;
  const onBytes = (n: number) => {
    done += n;
    o.onProgress?.(done, known);
  };
  const send = async (plan: ChunkPlan, from: ChunkSource): Promise<SentChunk> => {
    // Write-pipeline recovery: when a chain fails, the NameNode gives the
    // same chunk a new chain without the failed node and it is sent again.
    const failed = new Set<string>();
    for (let current = plan, attempt = 1; ; attempt++) {
      let sentBytes = 0;
      try {
        return await sendChunk(d.datanodeAt(current.chain[0]!.address), from, current, {
          signal,
          idleTimeoutMs: d.idleTimeoutMs,
          onBytes: (n) => {
            sentBytes += n;
            onBytes(n);
          },
        });
      } catch (err) {
        onBytes(-sentBytes);
        if (signal?.aborted || attempt > MAX_CHAIN_RECOVERIES || !recoverable(err)) throw err;
        const refused = err.code === "permission_denied";
        const blamed = refused ? [] : current.chain.filter((n) => n.address === err.failedAddress).map((n) => n.datanodeId);
        for (const id of blamed) failed.add(id);
        const replaced = await d.namenode
          .replaceChain(
            {
              path: remotePath,
              uploadId: started.uploadId,
              chunkId: current.chunkId,
              failedDatanodeIds: [...failed],
              suspectDatanodeIds: blamed.length || refused ? [] : current.chain.map((n) => n.datanodeId),
            },
            { signal },
          )
          .catch((why: unknown) => {
            // No other chain to be had: the chain's own failure is the news.
            throw new TrainfsError(err.code, `${err.message} (and no other chain: ${toTrainfsError(why).message})`, { cause: err });
          });
        current = replaced.chunk!;
      }
    }
  };
  try {
    let sent: SentChunk[];
    if (known !== undefined) {
      const from: ChunkSource = typeof source === "string" ? source : bytesOf(source as Uint8Array);
      sent = await mapLimit(started.chunks, o.concurrency ?? 4, (plan) => send(plan, from));
    } else {
      sent = [];
      const chunkSize = Number(started.chunkSize);
      for await (const piece of cutIntoChunks(source as AsyncIterable<Uint8Array>, chunkSize)) {
        signal?.throwIfAborted();
        const { chunk } = await d.namenode.addChunk({ path: remotePath, uploadId: started.uploadId, length: BigInt(piece.length) }, { signal });
        const offset = Number(chunk!.offset);
        sent.push(await send(chunk!, (start, end) => bytesOf(piece)(start - offset, end - offset)));
      }
    }
    const res = await d.confirmFile(
      create(ConfirmFileRequestSchema, {
        path: remotePath,
        uploadId: started.uploadId,
        chunks: sent.map((c) => ({ chunkId: c.chunkId, length: BigInt(c.length), checksum: c.checksum })),
        receipts: sent.flatMap((c) => c.receipts),
      }),
      signal,
    );
    return toFileStatus(res.file!);
  } catch (err) {
    // Free the path at once rather than leaving it to the lease.
    await d.namenode.abandonFile({ path: remotePath, uploadId: started.uploadId }).catch(() => {});
    throw toTrainfsError(err);
  } finally {
    clearInterval(renew);
  }
}

/** Slices of bytes in memory, in parts of about 1 MiB. */
function bytesOf(data: Uint8Array): (start: number, end: number) => AsyncIterable<Uint8Array> {
  return async function* (start, end) {
    for (let at = start; at < end; at += 1024 * 1024) yield data.subarray(at, Math.min(end, at + 1024 * 1024));
  };
}

/** Regroups a stream into buffers of exactly `size` bytes (the last may be shorter, never empty). */
async function* cutIntoChunks(stream: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let filled = 0;
  for await (const input of stream) {
    let data = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    while (data.length > 0) {
      const take = Math.min(size - filled, data.length);
      parts.push(data.subarray(0, take));
      filled += take;
      data = data.subarray(take);
      if (filled === size) {
        yield Buffer.concat(parts, size);
        parts = [];
        filled = 0;
      }
    }
  }
  if (filled > 0) yield Buffer.concat(parts, filled);
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
