import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { ChunkLocation, DataNodeService, NameNodeService, ReadChunkResponse } from "@trainfs/proto";
import { TrainfsError, errorMessage, toTrainfsError } from "@trainfs/common/errors";
import { crc32Update } from "./crc32.js";

export interface WebGetOptions {
  signal?: AbortSignal;
  /** Bytes received and verified so far, and the file's size. */
  onProgress?: (done: number, total: number) => void;
}

export interface WebReaderDeps {
  namenode: Client<typeof NameNodeService>;
  datanodeAt: (address: string) => Client<typeof DataNodeService>;
  headers: Record<string, string>;
}

/**
 * A whole file into memory, for a browser: GetFile, then each chunk with the
 * server-streaming ReadChunk (binary format: JSON would base64 every byte).
 * Every piece is checked against the CRC-32 sent with it and every chunk
 * against the checksum the NameNode holds; a replica that fails is replaced
 * by the next, from the first byte not yet received.
 */
export async function webReadFile(d: WebReaderDeps, path: string, o: WebGetOptions): Promise<Uint8Array[]> {
  const call = { signal: o.signal, headers: d.headers };
  const res = await d.namenode.getFile({ path }, call).catch((err: unknown) => {
    throw toTrainfsError(err);
  });
  const size = Number(res.file!.size);
  const parts: Uint8Array[] = [];
  let done = 0;
  for (const chunk of res.chunks) {
    let crc = 0;
    // Tokens are checked when a read starts: a slow download may outlive those GetFile gave.
    const refresh = async () => {
      const fresh = (await d.namenode.getFile({ path }, call)).chunks.find((c) => c.chunkId === chunk.chunkId);
      if (!fresh) throw new TrainfsError("aborted", `${path} changed while it was being read`);
      return fresh;
    };
    for await (const data of readChunk(d, chunk, call, refresh)) {
      parts.push(data);
      crc = crc32Update(data, crc);
      // Counted outside the optional call: `f?.(x += n)` skips the `+=` when f is unset.
      done += data.length;
      o.onProgress?.(done, size);
    }
    if (crc !== chunk.checksum) {
      throw new TrainfsError("data_loss", `${path}: chunk ${chunk.index} (${chunk.chunkId}) does not match its checksum as a whole`);
    }
  }
  if (done !== size) throw new TrainfsError("data_loss", `${path}: read ${done} bytes, but the file has ${size}`);
  return parts;
}

async function* readChunk(
  d: WebReaderDeps,
  chunk: ChunkLocation,
  call: { signal: AbortSignal | undefined; headers: Record<string, string> },
  refresh: () => Promise<ChunkLocation>,
): AsyncGenerator<Uint8Array> {
  const length = Number(chunk.length);
  if (length === 0) return;
  if (chunk.replicas.length === 0) {
    throw new TrainfsError(chunk.corruptReplicaCount > 0 ? "data_loss" : "unavailable", `chunk ${chunk.index} (${chunk.chunkId}) has no live replica`);
  }
  let position = 0;
  const failures: string[] = [];
  let corrupt = 0;
  let refreshed = false;
  for (let i = 0; i < chunk.replicas.length; i++) {
    const replica = chunk.replicas[i]!;
    call.signal?.throwIfAborted();
    try {
      const stream = d.datanodeAt(replica.address).readChunk({ chunkId: chunk.chunkId, offset: BigInt(position), length: BigInt(length - position), accessToken: chunk.accessToken }, call);
      for await (const part of stream) {
        verifyPieces(part);
        const start = Number(part.offset);
        if (start > position) throw new Error(`skipped bytes ${position} to ${start}`);
        const upTo = Math.min(start + part.data.length, length);
        if (upTo > position) {
          yield part.data.subarray(position - start, upTo - start);
          position = upTo;
        }
      }
      if (position !== length) throw new Error(`sent bytes up to ${position}, not ${length}`);
      return;
    } catch (err) {
      if (call.signal?.aborted) throw err;
      if (err instanceof ConnectError && err.code === Code.PermissionDenied && !refreshed) {
        // Once per chunk: a fresh access token, and the replicas again from the first.
        refreshed = true;
        chunk = await refresh().catch((why: unknown) => {
          throw toTrainfsError(why);
        });
        i = -1;
        continue;
      }
      if (err instanceof ConnectError ? err.code === Code.DataLoss : err instanceof PieceMismatch) corrupt++;
      failures.push(`${replica.address}: ${errorMessage(err)}`);
    }
  }
  throw new TrainfsError(
    corrupt === chunk.replicas.length ? "data_loss" : "unavailable",
    `chunk ${chunk.index} (${chunk.chunkId}) could not be read from any of its ${chunk.replicas.length} replicas: ${failures.join("; ")}`,
  );
}

class PieceMismatch extends Error {}

/** Checks each piece of a ReadChunk message against the checksum sent with it. */
function verifyPieces(part: ReadChunkResponse): void {
  const size = part.pieceSize;
  if (size <= 0 || part.pieceChecksums.length !== Math.ceil(part.data.length / size) || Number(part.offset) % size !== 0) {
    throw new PieceMismatch("malformed response: pieces and checksums do not line up");
  }
  part.pieceChecksums.forEach((checksum, i) => {
    if (crc32Update(part.data.subarray(i * size, Math.min((i + 1) * size, part.data.length))) !== checksum) {
      throw new PieceMismatch(`checksum mismatch in piece ${Number(part.offset) / size + i} as received`);
    }
  });
}
