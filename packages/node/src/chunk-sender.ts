import type { Client } from "@connectrpc/connect";
import type { DataNodeService, ChunkPlan, WriteChunkRequest } from "@trainfs/proto";
import { ChunkWriteError, TrainfsError, chunkWriteError, type SentChunk } from "@trainfs/core";
import { Crc32 } from "./checksum.js";
import { readFileParts } from "./file-parts.js";
import { idleGuard } from "./idle-guard.js";

/**
 * Streams one chunk of a local file to the first DataNode of its chain:
 * a header, the bytes in parts of about 1 MiB read straight from disk, and a
 * footer with the CRC-32. Resolves once every DataNode of the chain has
 * stored and committed the chunk. Used by clients (the footer carries the
 * CRC-32 computed on the way) and by DataNodes copying a replica (the footer
 * carries the checksum on record, so a copy of corrupt bytes is refused by
 * its target instead of spreading).
 */
/**
 * Where a chunk's bytes come from: a local file (read at the chunk's offset),
 * or a function giving the bytes [start, end) of the whole file.
 */
export type ChunkSource = string | ((start: number, end: number) => AsyncIterable<Uint8Array>);

export async function sendChunk(
  datanode: Client<typeof DataNodeService>,
  source: ChunkSource,
  plan: ChunkPlan,
  options: {
    signal?: AbortSignal | undefined;
    onBytes?: ((n: number) => void) | undefined;
    /** The checksum the chunk must have; the one computed while reading when unset. */
    expectedChecksum?: number | undefined;
    /** Give up when nothing moves for this long (default 60 s). */
    idleTimeoutMs?: number | undefined;
  },
): Promise<SentChunk> {
  const guard = idleGuard(options.idleTimeoutMs ?? 60_000, options.signal);
  const first = plan.chain[0];
  if (!first) throw new TrainfsError("internal", `chunk ${plan.index} has an empty chain`);
  const crc = new Crc32();
  const length = Number(plan.length);
  let sourceFailed = false;
  async function* parts(): AsyncGenerator<WriteChunkRequest> {
    try {
      yield* unguarded();
    } catch (err) {
      sourceFailed = true;
      throw err;
    }
  }
  async function* unguarded(): AsyncGenerator<WriteChunkRequest> {
    yield {
      $typeName: "trainfs.v1.WriteChunkRequest",
      part: { case: "header", value: { $typeName: "trainfs.v1.WriteChunkHeader", chunkId: plan.chunkId, length: plan.length, downstream: plan.chain.slice(1), accessToken: plan.accessToken } },
    };
    if (length > 0) {
      const start = Number(plan.offset);
      const stream = typeof source === "string" ? readFileParts(source, start, start + length) : source(start, start + length);
      for await (const data of stream) {
        crc.update(data);
        yield { $typeName: "trainfs.v1.WriteChunkRequest", part: { case: "data", value: data } };
        guard.touch();
        options.onBytes?.(data.length);
      }
    }
    if (crc.length !== length) {
      const what = typeof source === "string" ? source : "the source";
      throw new TrainfsError("aborted", `${what} changed while it was being read (chunk ${plan.index} has ${crc.length} of ${length} bytes)`);
    }
    const checksum = options.expectedChecksum ?? crc.digest();
    yield { $typeName: "trainfs.v1.WriteChunkRequest", part: { case: "footer", value: { $typeName: "trainfs.v1.WriteChunkFooter", checksum } } };
  }

  try {
    const res = await datanode.writeChunk(parts(), { signal: guard.signal });
    const stored = res.chunk;
    if (!stored || Number(stored.length) !== length || stored.checksum !== (options.expectedChecksum ?? crc.digest())) {
      throw new TrainfsError("data_loss", `DataNode ${first.address} acknowledged chunk ${plan.index} with a different length or checksum`);
    }
    return { chunkId: plan.chunkId, length, checksum: crc.digest(), receipts: res.receipts };
  } catch (err) {
    if (guard.timedOut()) {
      throw new ChunkWriteError(
        "unavailable",
        `writing chunk ${plan.index} (${plan.chunkId}) failed: the chain from ${first.address} made no progress for ${options.idleTimeoutMs ?? 60_000} ms`,
        undefined,
      );
    }
    throw chunkWriteError(err, plan, { sourceFailed, aborted: options.signal?.aborted === true });
  } finally {
    guard.dispose();
  }
}
