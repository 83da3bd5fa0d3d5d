import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { ChunkLocation, DataNodeService, ReadChunkResponse } from "@trainfs/proto";
import { TrainfsError, errorMessage } from "@trainfs/core";

/** Gives up a replica that stops sending; the Node SDK passes its idle guard, browsers none. */
export interface ProgressGuard {
  signal: AbortSignal | undefined;
  touch(): void;
  dispose(): void;
  timedOut(): boolean;
}

export interface ReplicaReadOptions {
  signal?: AbortSignal | undefined;
  /** Headers of every call (a browser's request id). */
  headers?: Record<string, string> | undefined;
  /** A guard per replica attempt; without one, only `signal` ends an attempt. */
  guard?: ((signal: AbortSignal | undefined) => ProgressGuard) | undefined;
  /** The guard's idle time, for the failure message. */
  idleTimeoutMs?: number | undefined;
  /** Asks the NameNode again for the chunk, for a fresh access token when a replica refuses an expired one. */
  refresh?: (() => Promise<ChunkLocation>) | undefined;
  /**
   * The CRC-32 of each verified span handed out, in order, covering exactly
   * the bytes yielded: whole pieces give the checksum already verified, so
   * a caller can fold the chunk's checksum without another pass.
   */
  onChecksum?: ((crc: number, length: number) => void) | undefined;
}

/** CRC-32 (zlib's polynomial) of some bytes: node:zlib's on Node, a JavaScript one in browsers. */
export type Crc32 = (data: Uint8Array) => number;

/**
 * Verified bytes [from, to) of one chunk, for Node and browsers alike. Every
 * piece that arrives is checked against the checksum the DataNode sent with
 * it (the one recorded when the chunk was written), then trimmed to the
 * range. Replicas are tried in the NameNode's order; when one fails
 * (unreachable, corrupt, short, hung), the next one continues from the first
 * byte not yet handed out, so the caller never sees a byte twice or a wrong
 * byte. A replica refusing an expired access token makes the reader ask for
 * a fresh one, once per chunk.
 */
export async function* readFromReplicas(
  datanodeAt: (address: string) => Client<typeof DataNodeService>,
  chunk: ChunkLocation,
  from: number,
  to: number,
  crc32: Crc32,
  options: ReplicaReadOptions = {},
): AsyncGenerator<Uint8Array> {
  if (from >= to) return;
  if (chunk.replicas.length === 0) {
    const lost = chunk.corruptReplicaCount > 0;
    throw new TrainfsError(
      lost ? "data_loss" : "unavailable",
      lost
        ? `chunk ${chunk.index} (${chunk.chunkId}) has no good replica left: all ${chunk.corruptReplicaCount} are corrupt`
        : `chunk ${chunk.index} (${chunk.chunkId}) has no live replica`,
    );
  }
  let position = from;
  const failures: string[] = [];
  let corrupt = 0;
  let refreshed = false;
  for (let i = 0; i < chunk.replicas.length; i++) {
    const replica = chunk.replicas[i]!;
    options.signal?.throwIfAborted();
    const guard = options.guard?.(options.signal) ?? unguarded(options.signal);
    try {
      const stream = datanodeAt(replica.address).readChunk(
        { chunkId: chunk.chunkId, offset: BigInt(position), length: BigInt(to - position), accessToken: chunk.accessToken },
        { signal: guard.signal, headers: options.headers },
      );
      for await (const part of stream) {
        guard.touch();
        verifyPieces(part, crc32);
        const start = Number(part.offset);
        const end = start + part.data.length;
        if (start > position) throw new Error(`skipped bytes ${position} to ${start}`);
        const upTo = Math.min(end, to);
        if (upTo > position) {
          if (options.onChecksum) reportSpans(part, position, upTo, crc32, options.onChecksum);
          yield part.data.subarray(position - start, upTo - start);
          position = upTo;
        }
      }
      if (position !== to) throw new Error(`sent bytes up to ${position}, not ${to}`);
      return;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (err instanceof ConnectError && err.code === Code.PermissionDenied && options.refresh && !refreshed) {
        // Tokens are checked when a read starts: a long read may outlive its
        // token. Once per chunk, fetch a new one and start over the replicas.
        refreshed = true;
        chunk = await options.refresh();
        i = -1;
        continue;
      }
      if (err instanceof ConnectError ? err.code === Code.DataLoss : err instanceof PieceMismatch) corrupt++;
      failures.push(`${replica.address}: ${guard.timedOut() ? `no data for ${options.idleTimeoutMs} ms` : errorMessage(err)}`);
    } finally {
      guard.dispose();
    }
  }
  const allCorrupt = corrupt === chunk.replicas.length;
  throw new TrainfsError(
    allCorrupt ? "data_loss" : "unavailable",
    `chunk ${chunk.index} (${chunk.chunkId}) could not be read from any of its ${chunk.replicas.length} replicas: ${failures.join("; ")}`,
  );
}

function unguarded(signal: AbortSignal | undefined): ProgressGuard {
  return { signal, touch() {}, dispose() {}, timedOut: () => false };
}

class PieceMismatch extends Error {}

/** CRC-32s of the bytes [from, to) of a verified part: a whole piece's as sent, a partial one's computed. */
function reportSpans(part: ReadChunkResponse, from: number, to: number, crc32: Crc32, report: (crc: number, length: number) => void): void {
  const start = Number(part.offset);
  const size = part.pieceSize;
  for (let i = 0; i < part.pieceChecksums.length; i++) {
    const pieceStart = start + i * size;
    const pieceEnd = Math.min(pieceStart + size, start + part.data.length);
    const a = Math.max(pieceStart, from);
    const b = Math.min(pieceEnd, to);
    if (a >= b) continue;
    if (a === pieceStart && b === pieceEnd) report(part.pieceChecksums[i]!, b - a);
    else report(crc32(part.data.subarray(a - start, b - start)), b - a);
  }
}

/** Checks each piece of a ReadChunk message against the checksum sent with it. */
function verifyPieces(part: ReadChunkResponse, crc32: Crc32): void {
  const size = part.pieceSize;
  const expected = Math.ceil(part.data.length / size);
  if (size <= 0 || part.pieceChecksums.length !== expected || Number(part.offset) % size !== 0) {
    throw new PieceMismatch("malformed response: pieces and checksums do not line up");
  }
  part.pieceChecksums.forEach((checksum, i) => {
    if (crc32(part.data.subarray(i * size, Math.min((i + 1) * size, part.data.length))) !== checksum) {
      throw new PieceMismatch(`checksum mismatch in piece ${Number(part.offset) / size + i} as received`);
    }
  });
}
