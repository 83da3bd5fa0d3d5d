import { ConnectError, type Client, type Interceptor } from "@connectrpc/connect";
import type { ChunkPlan, DataNodeService, ClientService } from "@trainfs/proto";
import { TrainfsError, toTrainfsError, type ErrorCode } from "@trainfs/common/errors";
import { mapLimit } from "../map-limit.js";
import { crc32Update } from "./crc32.js";

/** Most bytes one WriteChunkPart may carry (the DataNode refuses more). */
export const MAX_PART_BYTES = 4 * 1024 * 1024;
const FAILED_DATANODE_HEADER = "trainfs-failed-datanode";
/** Chain failures worth a new chain: a node down, full, or bytes damaged on the way. */
const RECOVERABLE = new Set<ErrorCode>(["unavailable", "resource_exhausted", "internal", "data_loss", "deadline_exceeded", "aborted"]);
const MAX_CHAIN_RECOVERIES = 3;

export interface WebPutOptions {
  overwrite?: boolean;
  replication?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  /** Bytes acknowledged by the DataNodes so far, and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface WebWriterDeps {
  namenode: Client<typeof ClientService>;
  datanodeAt: (address: string) => Client<typeof DataNodeService>;
  partSize: number;
  concurrency: number;
  /** Headers of every call of one operation (its request id). */
  headers: Record<string, string>;
}

interface SentChunk {
  chunkId: string;
  length: number;
  checksum: number;
}

/** What `put` takes in a browser: a File or Blob, or bytes. */
export type WebPutSource = Blob | Uint8Array;

/**
 * A write from a browser: PutFile, each chunk sent to the head of its chain
 * in unary WriteChunkPart calls (fetch cannot stream a request body), in
 * order, with its CRC-32 computed on the way and given with the last part,
 * then ConfirmFile. A chain that fails gets a new one without the failed
 * node (ReplaceChain) and the chunk starts again in a new session; any other
 * failure abandons the write, so no file appears half-written.
 */
export async function webWriteFile(d: WebWriterDeps, source: WebPutSource, path: string, o: WebPutOptions): Promise<void> {
  const size = source instanceof Uint8Array ? source.byteLength : source.size;
  const { signal } = o;
  const { headers } = d;
  const call = { signal, headers };
  const started = await d.namenode
    .putFile({ path, size: BigInt(size), replication: o.replication ?? 0, chunkSize: BigInt(o.chunkSize ?? 0), overwrite: o.overwrite ?? false }, call)
    .catch((err: unknown) => {
      throw toTrainfsError(err);
    });
  const renew = setInterval(() => void d.namenode.renewLease({ path, uploadId: started.uploadId }, { headers }).catch(() => {}), Math.max(1000, started.leaseMs / 3));
  let done = 0;
  const progress = (n: number) => {
    done += n;
    o.onProgress?.(done, size);
  };
  const read = async (start: number, end: number): Promise<Uint8Array> =>
    source instanceof Uint8Array ? source.subarray(start, end) : new Uint8Array(await source.slice(start, end).arrayBuffer());

  const sendWithRecovery = async (plan: ChunkPlan): Promise<SentChunk> => {
    const failed = new Set<string>();
    for (let current = plan, attempt = 1; ; attempt++) {
      let sent = 0;
      try {
        return await sendChunkInParts(d, current, read, call, (n) => {
          sent += n;
          progress(n);
        });
      } catch (err) {
        progress(-sent);
        const e = toTrainfsError(err);
        const failedAddress = err instanceof ConnectError ? err.metadata.get(FAILED_DATANODE_HEADER) : null;
        // A refused token most likely expired during a long upload: a new chain brings a new one, and no node is to blame.
        const refused = e.code === "permission_denied";
        if (signal?.aborted || attempt > MAX_CHAIN_RECOVERIES || !(refused || (RECOVERABLE.has(e.code) && failedAddress))) throw e;
        if (!refused) for (const n of current.chain) if (n.address === failedAddress) failed.add(n.datanodeId);
        const replaced = await d.namenode
          .replaceChain({ path, uploadId: started.uploadId, chunkId: current.chunkId, failedDatanodeIds: [...failed], suspectDatanodeIds: [] }, call)
          .catch((why: unknown) => {
            throw new TrainfsError(e.code, `${e.message} (and no other chain: ${toTrainfsError(why).message})`, { cause: err });
          });
        current = replaced.chunk!;
      }
    }
  };

  try {
    const sent = await mapLimit(started.chunks, d.concurrency, sendWithRecovery);
    await d.namenode.confirmFile(
      { path, uploadId: started.uploadId, chunks: sent.map((c) => ({ chunkId: c.chunkId, length: BigInt(c.length), checksum: c.checksum })) },
      call,
    );
  } catch (err) {
    // Free the path at once rather than leaving it to the lease.
    await d.namenode.abandonFile({ path, uploadId: started.uploadId }, { headers }).catch(() => {});
    throw toTrainfsError(err);
  } finally {
    clearInterval(renew);
  }
}

/** One chunk in parts through its chain, in one new upload session. */
async function sendChunkInParts(
  d: WebWriterDeps,
  plan: ChunkPlan,
  read: (start: number, end: number) => Promise<Uint8Array>,
  call: { signal: AbortSignal | undefined; headers: Record<string, string> },
  onBytes: (n: number) => void,
): Promise<SentChunk> {
  const [head, ...downstream] = plan.chain;
  if (!head) throw new TrainfsError("internal", `chunk ${plan.index} has an empty chain`);
  const client = d.datanodeAt(head.address);
  const length = Number(plan.length);
  const base = Number(plan.offset);
  const uploadSession = randomSessionId();
  const accessToken = plan.accessToken;
  let crc = 0;
  let offset = 0;
  for (;;) {
    const end = Math.min(length, offset + d.partSize);
    const data = await read(base + offset, base + end);
    crc = crc32Update(data, crc);
    const last = end === length;
    const res = await client.writeChunkPart(
      { chunkId: plan.chunkId, uploadSession, length: plan.length, offset: BigInt(offset), data, downstream, last, checksum: last ? crc : 0, accessToken },
      call,
    );
    onBytes(data.length);
    offset = end;
    if (last) {
      const stored = res.chunk;
      if (!stored || stored.checksum !== crc || Number(stored.length) !== length) {
        throw new TrainfsError("data_loss", `chunk ${plan.index} (${plan.chunkId}) was stored with another length or checksum than was sent`);
      }
      return { chunkId: plan.chunkId, length, checksum: crc };
    }
  }
}

function randomSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Adds `authorization: Bearer <token>` to every call while a token is set. */
export function bearerInterceptor(token: () => string | undefined): Interceptor {
  return (next) => (req) => {
    const t = token();
    if (t) req.header.set("authorization", `Bearer ${t}`);
    return next(req);
  };
}
