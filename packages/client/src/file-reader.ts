import { randomBytes } from "node:crypto";
import { open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import type { Client } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChunkLocation, DataNodeService, GetFileRequestSchema, GetFileResponse } from "@trainfs/proto";
import { TrainfsError, crc32Combine, formatChecksum, mapLimit, toTrainfsError } from "@trainfs/core";
import { fsyncDirectory, partBuffers, withRetry } from "@trainfs/node";
import { readChunkRange } from "./chunk-reader.js";
import { toFileStatus, type FileStatus } from "./file-status.js";

export interface ReadOptions {
  /** Replace an existing local file (default: refuse with AlreadyExists). */
  overwrite?: boolean | undefined;
  /** Chunks fetched at once (default 4). */
  concurrency?: number | undefined;
  /**
   * Flush the local file to disk before it takes its name, and its
   * directory after (default false): the copy is on disk when the get returns.
   * Without it the copy is left to the page cache, as `cp` and `hdfs dfs
   * -get` leave theirs: the get returns sooner, and a machine crash soon
   * after may leave the local file short. The bytes stay safe in TrainFS
   * either way.
   */
  fsync?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

interface Deps {
  datanodeAt: (address: string) => Client<typeof DataNodeService>;
  idleTimeoutMs?: number | undefined;
  /** GetFile, as the client batches it (call-batcher.ts). */
  getFile: (req: GetFileQuery, signal: AbortSignal | undefined) => Promise<GetFileResponse>;
}

export type GetFileQuery = MessageInitShape<typeof GetFileRequestSchema>;

/** The chunk as the NameNode gives it now (with a fresh access token). */
function refresher(d: Deps, path: string, chunkId: string, signal: AbortSignal | undefined): () => Promise<ChunkLocation> {
  return async () => {
    const found = (await getFile(d, path, signal)).chunks.find((c) => c.chunkId === chunkId);
    if (!found) throw new TrainfsError("aborted", `${path} changed while it was being read`);
    return found;
  };
}

function getFile(d: Deps, path: string, signal: AbortSignal | undefined): Promise<GetFileResponse> {
  return withRetry(() => d.getFile({ path }, signal), { signal }).catch((err: unknown) => {
    throw toTrainfsError(err);
  });
}

/**
 * Downloads a file to a local path (or into a local directory), several
 * chunks at once, each written at its offset and checked whole. The file is
 * written beside the target under a hidden name and renamed into place only
 * once all of it verified, so a failed get leaves nothing behind (and,
 * with `fsync`, the copy and its name are on disk when the get returns).
 */
export async function readToFile(d: Deps, remotePath: string, localPath: string, o: ReadOptions): Promise<FileStatus> {
  const target = (await isDirectory(localPath)) ? join(localPath, basename(remotePath)) : localPath;
  if (!o.overwrite && (await exists(target))) {
    throw new TrainfsError("already_exists", `local file ${target} exists (pass overwrite to replace it)`);
  }
  const res = await getFile(d, remotePath, o.signal);
  const file = toFileStatus(res.file!);
  const tmp = join(dirname(target), `.${basename(target)}.trainfs-${randomBytes(4).toString("hex")}.part`);
  const out = await open(tmp, "wx").catch((err: NodeJS.ErrnoException) => {
    // Name the local directory the user gave, not the temporary file.
    if (err.code === "ENOENT") throw new TrainfsError("not_found", `local directory ${dirname(target)} does not exist`);
    if (err.code === "EACCES") throw new TrainfsError("permission_denied", `cannot write in local directory ${dirname(target)}: permission denied`);
    if (err.code === "ENOTDIR") throw new TrainfsError("invalid_argument", `local path ${dirname(target)} is not a directory`);
    throw err;
  });
  let done = 0;
  try {
    await mapLimit(res.chunks, o.concurrency ?? 4, async (chunk) => {
      // The whole chunk's CRC-32, folded from the verified pieces' (no second pass over the bytes).
      let whole = 0;
      let position = Number(chunk.offset);
      const onChecksum = (crc: number, length: number) => (whole = crc32Combine(whole, crc, length));
      // A part is written at its offset while the next one arrives (one write in flight).
      let writing: Promise<void> = Promise.resolve();
      try {
        for await (const data of readChunkRange(d.datanodeAt, chunk, 0, Number(chunk.length), {
          signal: o.signal,
          idleTimeoutMs: d.idleTimeoutMs,
          onChecksum,
          refresh: refresher(d, remotePath, chunk.chunkId, o.signal),
        })) {
          await writing;
          // Once written, the part's buffer goes back for the next part to arrive in.
          writing = writeFully(out, data, position).then(() => partBuffers.give(data));
          writing.catch(() => {}); // observed at the next await
          position += data.length;
          done += data.length;
          o.onProgress?.(done, file.size);
        }
      } finally {
        await writing;
      }
      if (whole !== chunk.checksum) {
        throw new TrainfsError(
          "data_loss",
          `chunk ${chunk.index} (${chunk.chunkId}): whole-chunk checksum mismatch (got ${formatChecksum(whole)}, expected ${formatChecksum(chunk.checksum)})`,
        );
      }
    });
    const { size } = await out.stat();
    if (size !== file.size) throw new TrainfsError("data_loss", `read ${size} bytes, but the file has ${file.size}`);
    if (o.fsync) await out.sync();
    await out.close();
    await rename(tmp, target);
    if (o.fsync) await fsyncDirectory(dirname(target));
    return file;
  } catch (err) {
    await out.close().catch(() => {});
    await rm(tmp, { force: true });
    const e = toTrainfsError(err);
    throw new TrainfsError(e.code, `${remotePath}: ${e.message}`, { cause: err });
  }
}

/**
 * Bytes [start, end] (inclusive, like fs.createReadStream) of a file, across
 * chunk boundaries, every piece verified on arrival; a failing replica is
 * replaced by the next without repeating or skipping a byte. The next
 * chunk's read starts while this one is consumed (its first parts wait in
 * its connection's buffer, the socket paused beyond), so a chunk boundary
 * costs no round trip to a DataNode and its disk.
 */
export function readRange(d: Deps, remotePath: string, o: { start?: number; end?: number; signal?: AbortSignal }, located?: GetFileResponse): Readable {
  return Readable.from(rangeBytes(d, remotePath, o, located), { objectMode: false });
}

/** A file located by one GetFile: its status, and its bytes read from the chunks as located then. */
export interface OpenedFile {
  status: FileStatus;
  /** Bytes [start, end] (inclusive), as readRange reads them, with no second NameNode call. */
  createReadStream(o?: { start?: number; end?: number; signal?: AbortSignal }): Readable;
}

export async function openFile(d: Deps, remotePath: string, signal: AbortSignal | undefined): Promise<OpenedFile> {
  const located = await getFile(d, remotePath, signal);
  return {
    status: toFileStatus(located.file!),
    createReadStream: (o = {}) => readRange(d, remotePath, o, located),
  };
}

/** readRange's bytes as they arrive, without a stream around them (readFile gathers them); `located`, a GetFile answer already in hand. */
export async function* rangeBytes(
  d: Deps,
  remotePath: string,
  o: { start?: number; end?: number; signal?: AbortSignal },
  located?: GetFileResponse,
): AsyncGenerator<Buffer> {
  const start = o.start ?? 0;
  if (!Number.isSafeInteger(start) || start < 0 || (o.end !== undefined && (!Number.isSafeInteger(o.end) || o.end < start - 1))) {
    throw new TrainfsError("invalid_argument", `invalid range start=${o.start} end=${o.end}`);
  }
  const res = located ?? (await getFile(d, remotePath, o.signal));
  const size = Number(res.file!.size);
  const end = Math.min(o.end ?? size - 1, size - 1) + 1;
  const reads = res.chunks.flatMap((chunk) => {
    const offset = Number(chunk.offset);
    const from = Math.max(start, offset) - offset;
    const to = Math.min(end, offset + Number(chunk.length)) - offset;
    if (from >= to) return [];
    return [() => readChunkRange(d.datanodeAt, chunk, from, to, { signal: o.signal, idleTimeoutMs: d.idleTimeoutMs, refresh: refresher(d, remotePath, chunk.chunkId, o.signal) })];
  });
  let ahead: { it: AsyncGenerator<Buffer>; first: Promise<IteratorResult<Buffer>> } | undefined;
  const startRead = (i: number) => {
    const it = reads[i]!();
    const first = it.next();
    first.catch(() => {}); // observed when its turn comes
    return { it, first };
  };
  try {
    for (let i = 0; i < reads.length; i++) {
      const current = ahead ?? startRead(i);
      ahead = undefined;
      try {
        let next = await current.first;
        if (i + 1 < reads.length) ahead = startRead(i + 1);
        for (; !next.done; next = await current.it.next()) yield next.value;
      } catch (err) {
        await current.it.return(undefined).catch(() => {});
        const e = toTrainfsError(err);
        throw new TrainfsError(e.code, `${remotePath}: ${e.message}`, { cause: err });
      }
    }
  } finally {
    // Stopped early or failed: the read started ahead lets go of its connection.
    if (ahead) {
      const { it, first } = ahead;
      void first.then(() => it.return(undefined), () => {}).catch(() => {});
    }
  }
}

async function writeFully(out: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await out.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
