import { crc32 } from "node:zlib";
import type { Client } from "@connectrpc/connect";
import type { ChunkLocation, DataNodeService } from "@trainfs/proto";
import { idleGuard } from "@trainfs/node";
import { readFromReplicas, type ReplicaReadOptions } from "./replica-reader.js";

const zlibCrc32 = (data: Uint8Array) => crc32(data) >>> 0;

/**
 * Verified bytes [from, to) of one chunk, on Node: `readFromReplicas` with
 * node:zlib's CRC-32 and an idle guard per replica, so a hung DataNode (no
 * data for `idleTimeoutMs`, 60 s by default) is given up for the next.
 */
export async function* readChunkRange(
  datanodeAt: (address: string) => Client<typeof DataNodeService>,
  chunk: ChunkLocation,
  from: number,
  to: number,
  options: Omit<ReplicaReadOptions, "guard"> = {},
): AsyncGenerator<Buffer> {
  const idleMs = options.idleTimeoutMs ?? 60_000;
  for await (const data of readFromReplicas(datanodeAt, chunk, from, to, zlibCrc32, { ...options, idleTimeoutMs: idleMs, guard: (signal) => idleGuard(idleMs, signal) })) {
    yield Buffer.from(data.buffer, data.byteOffset, data.length);
  }
}
