import type { Client } from "@connectrpc/connect";
import type { DataNodeService } from "@trainfs/proto";
import { TrainfsError, chunkWriteError, crc32Update, type ChunkSender } from "@trainfs/core";

/**
 * The browser SDK's chunk sender: one chunk to the head of its chain in
 * unary WriteChunkPart calls (fetch cannot stream a request body), in order,
 * in one new upload session per attempt, with its CRC-32 computed on the way
 * and given with the last part. Failures are blamed as the Node sender's are
 * (chunkWriteError): a put whose first DataNode is down gets a new chain.
 */
export function partSender(
  datanodeAt: (address: string) => Client<typeof DataNodeService>,
  /** Bytes [start, end) of the file. */
  read: (start: number, end: number) => Promise<Uint8Array>,
  partSize: number,
  /** Headers of every call of the operation (its request id). */
  headers: Record<string, string>,
): ChunkSender {
  return {
    async send(plan, { signal, onBytes }) {
      const [head, ...downstream] = plan.chain;
      if (!head) throw new TrainfsError("internal", `chunk ${plan.index} has an empty chain`);
      const client = datanodeAt(head.address);
      const length = Number(plan.length);
      const base = Number(plan.offset);
      const uploadSession = randomSessionId();
      let sourceFailed = false;
      let crc = 0;
      try {
        for (let offset = 0; ; ) {
          const end = Math.min(length, offset + partSize);
          const data = await read(base + offset, base + end).catch((err: unknown) => {
            sourceFailed = true;
            throw err;
          });
          crc = crc32Update(data, crc);
          const last = end === length;
          const res = await client.writeChunkPart(
            { chunkId: plan.chunkId, uploadSession, length: plan.length, offset: BigInt(offset), data, downstream, last, checksum: last ? crc : 0, accessToken: plan.accessToken },
            { signal, headers },
          );
          onBytes(data.length);
          offset = end;
          if (last) {
            const stored = res.chunk;
            if (!stored || stored.checksum !== crc || Number(stored.length) !== length) {
              throw new TrainfsError("data_loss", `DataNode ${head.address} acknowledged chunk ${plan.index} with a different length or checksum`);
            }
            // WriteChunkPart's DataNodes commit before answering: no receipts to carry.
            return { chunkId: plan.chunkId, length, checksum: crc, receipts: [] };
          }
        }
      } catch (err) {
        throw chunkWriteError(err, plan, { sourceFailed, aborted: signal?.aborted === true });
      }
    },
  };
}

function randomSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
