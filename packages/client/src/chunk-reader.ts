import type { FileHandle } from "node:fs/promises";
import type { Client } from "@connectrpc/connect";
import { DataNodeService, type ChunkLocation } from "@trainfs/proto";
import { Crc32, TrainfsError, errorMessage, formatChecksum } from "@trainfs/common";

/**
 * Reads one chunk into `out` at the chunk's offset, verifying its length and
 * CRC-32. Replicas are tried in the NameNode's order; a failed or corrupt one
 * is skipped and the next one overwrites what it wrote.
 */
export async function fetchChunk(
  datanodeAt: (address: string) => Client<typeof DataNodeService>,
  chunk: ChunkLocation,
  out: FileHandle,
  options: { signal?: AbortSignal | undefined; onBytes?: ((n: number) => void) | undefined },
): Promise<void> {
  const length = Number(chunk.length);
  const offset = Number(chunk.offset);
  if (chunk.replicas.length === 0) {
    throw new TrainfsError("unavailable", `chunk ${chunk.index} (${chunk.chunkId}) has no live replica`);
  }
  const failures: string[] = [];
  for (const replica of chunk.replicas) {
    options.signal?.throwIfAborted();
    const crc = new Crc32();
    let reported = 0;
    try {
      const stream = datanodeAt(replica.address).readChunk(
        { chunkId: chunk.chunkId, offset: 0n, length: chunk.length },
        { signal: options.signal },
      );
      for await (const { data } of stream) {
        if (crc.length + data.length > length) throw new Error(`sent more than the chunk's ${length} bytes`);
        await writeFully(out, data, offset + crc.length);
        crc.update(data);
        reported += data.length;
        options.onBytes?.(data.length);
      }
      if (crc.length !== length) throw new Error(`sent ${crc.length} of ${length} bytes`);
      if (crc.digest() !== chunk.checksum) {
        throw new Error(`checksum mismatch (got ${formatChecksum(crc.digest())}, expected ${formatChecksum(chunk.checksum)})`);
      }
      return;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      options.onBytes?.(-reported);
      failures.push(`${replica.address}: ${errorMessage(err)}`);
    }
  }
  throw new TrainfsError(
    "unavailable",
    `chunk ${chunk.index} (${chunk.chunkId}) could not be read from any of its ${chunk.replicas.length} replicas: ${failures.join("; ")}`,
  );
}

async function writeFully(out: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await out.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}
