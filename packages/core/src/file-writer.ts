import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { CallOptions, Client } from "@connectrpc/connect";
import {
  ConfirmFileRequestSchema,
  PutFileRequestSchema,
  type AbandonFileRequestSchema,
  type AddChunkRequestSchema,
  type AddChunkResponse,
  type ChunkPlan,
  type ChunkReceipt,
  type ClientService,
  type ConfirmFileRequest,
  type ConfirmFileResponse,
  type FileInfo,
  type PutFileRequest,
  type PutFileResponse,
  type RenewLeaseRequestSchema,
  type ReplaceChainRequestSchema,
  type FileConditionSchema,
  type ReplaceChainResponse,
} from "@trainfs/proto";
import { MAX_CHAIN_RECOVERIES, recoverable } from "./chain-failure.js";
import { TrainfsError, toTrainfsError } from "./errors.js";
import { mapLimit } from "./map-limit.js";

/** A chunk its whole chain stored. */
export interface SentChunk {
  chunkId: string;
  length: number;
  checksum: number;
  /** The chain's signed receipts, for ConfirmFile (none from WriteChunkPart, whose DataNodes commit before answering). */
  receipts: ChunkReceipt[];
}

/**
 * One attempt at a chunk: its abort signal, and a count of the bytes stored
 * so far: a sender reports bytes once its chain acknowledged them (the Node
 * SDK: the whole chunk with its receipts; the browser: each part once
 * answered), never as they leave, so progress never runs ahead of the disks.
 */
export interface ChunkAttempt {
  signal: AbortSignal | undefined;
  onBytes: (n: number) => void;
}

/**
 * Sends one planned chunk's bytes to the head of its chain and resolves
 * once the whole chain stored it. A failure it can pin on a DataNode is a
 * ChunkWriteError naming that node (chain-failure.ts), so that the driver
 * can ask for a chain without it. The Node SDK's goes over data transfer,
 * the browser SDK's in unary WriteChunkPart parts.
 */
export interface ChunkSender {
  send(plan: ChunkPlan, attempt: ChunkAttempt): Promise<SentChunk>;
}

/**
 * What is written: bytes of a known size (PutFile plans every chunk, sent
 * `concurrency` at a time by one sender), or of an unknown size, cut into
 * chunks of the NameNode's chunk size as they arrive (each planned with
 * AddChunk once its bytes are in hand, and sent by a sender of its own).
 */
export type WriteBody =
  | { size: number; sender: ChunkSender; concurrency: number }
  | { size: undefined; chunks: (chunkSize: number) => AsyncIterable<{ length: number; sender: ChunkSender }> };

/** The NameNode calls a write makes, each with the caller's transport, headers and batching. */
export interface WriteCalls {
  putFile(req: PutFileRequest, signal: AbortSignal | undefined): Promise<PutFileResponse>;
  addChunk(req: MessageInitShape<typeof AddChunkRequestSchema>, signal: AbortSignal | undefined): Promise<AddChunkResponse>;
  replaceChain(req: MessageInitShape<typeof ReplaceChainRequestSchema>, signal: AbortSignal | undefined): Promise<ReplaceChainResponse>;
  renewLease(req: MessageInitShape<typeof RenewLeaseRequestSchema>): Promise<unknown>;
  confirmFile(req: ConfirmFileRequest, signal: AbortSignal | undefined): Promise<ConfirmFileResponse>;
  abandonFile(req: MessageInitShape<typeof AbandonFileRequestSchema>): Promise<unknown>;
}

/**
 * WriteCalls straight over a NameNode client, each call made with
 * `options(signal)` (a browser's request-id header, say). Renewals and the
 * abandon get no signal: an aborted write must still free its path.
 */
export function clientWriteCalls(namenode: Client<typeof ClientService>, options: (signal: AbortSignal | undefined) => CallOptions): WriteCalls {
  return {
    putFile: (req, signal) => namenode.putFile(req, options(signal)),
    addChunk: (req, signal) => namenode.addChunk(req, options(signal)),
    replaceChain: (req, signal) => namenode.replaceChain(req, options(signal)),
    renewLease: (req) => namenode.renewLease(req, options(undefined)),
    confirmFile: (req, signal) => namenode.confirmFile(req, options(signal)),
    abandonFile: (req) => namenode.abandonFile(req, options(undefined)),
  };
}

export interface WriteFileOptions {
  replication?: number | undefined;
  chunkSize?: number | undefined;
  /** Replace an existing file, atomically at the end of the write. */
  overwrite?: boolean | undefined;
  /**
   * With overwrite: replace only an existing file (NotFound otherwise) that
   * has these attributes, modification time and size (FailedPrecondition
   * otherwise), checked in the transaction that replaces it.
   */
  replaceOnly?: FileCondition | undefined;
  /**
   * A directory above the path that must exist (an S3 bucket): NotFound,
   * at the start or at the confirm, when it does not, instead of making it.
   */
  existingAncestor?: string | undefined;
  /**
   * Small string pairs kept with the file and returned by stat and list
   * (at most 32, 8 KiB together; names of a-z, 0-9 and -).
   */
  attributes?: Record<string, string> | undefined;
  /**
   * Called once every byte is sent, just before the file is confirmed: its
   * answer, when not empty, replaces `attributes` (a digest of the bytes, say).
   */
  attributesAtConfirm?: (() => Record<string, string> | undefined) | undefined;
  signal?: AbortSignal | undefined;
  /** Bytes acknowledged so far (by the chain's receipts; taken back when a chain fails), and the size when known. */
  onProgress?: ((done: number, total: number | undefined) => void) | undefined;
}

/** What a conditional write may replace (PutFileRequest.replace_only). */
export interface FileCondition {
  attributes?: Record<string, string> | undefined;
  modificationTimeMs?: number | undefined;
  size?: number | undefined;
}

/** A FileCondition as the RPCs carry it. */
export function fileCondition(r: FileCondition): MessageInitShape<typeof FileConditionSchema> {
  return {
    attributes: r.attributes ?? {},
    ...(r.modificationTimeMs === undefined ? {} : { modificationTimeMs: BigInt(r.modificationTimeMs) }),
    ...(r.size === undefined ? {} : { size: BigInt(r.size) }),
  };
}

/**
 * The one write path of both SDKs: PutFile, each chunk through its chain,
 * then ConfirmFile, with the lease renewed meanwhile. When a chain fails in
 * a way `recoverable` accepts, the NameNode gives the same chunk a new chain
 * without the failed node (ReplaceChain), up to MAX_CHAIN_RECOVERIES times.
 * On any other failure, or an abort, the write is abandoned, so no file
 * ever appears half-written. Resolves with the file as ConfirmFile made it.
 */
export async function writeFile(calls: WriteCalls, body: WriteBody, path: string, o: WriteFileOptions): Promise<FileInfo> {
  const { signal } = o;
  const known = body.size;
  const started = await calls
    .putFile(
      create(PutFileRequestSchema, {
        path,
        size: BigInt(known ?? 0),
        unknownSize: known === undefined,
        replication: o.replication ?? 0,
        chunkSize: BigInt(o.chunkSize ?? 0),
        overwrite: o.overwrite ?? false,
        attributes: o.attributes ?? {},
        ...(o.replaceOnly ? { replaceOnly: fileCondition(o.replaceOnly) } : {}),
        ...(o.existingAncestor ? { existingAncestor: o.existingAncestor } : {}),
      }),
      signal,
    )
    .catch((err: unknown) => {
      throw toTrainfsError(err);
    });
  const uploadId = started.uploadId;
  const renew = setInterval(() => void calls.renewLease({ path, uploadId }).catch(() => {}), Math.max(1000, started.leaseMs / 3));
  // On Node, a renewal timer alone must not keep the process alive.
  (renew as { unref?: () => void }).unref?.();
  let done = 0;
  const progress = (n: number) => {
    done += n;
    o.onProgress?.(done, known);
  };

  const send = async (plan: ChunkPlan, sender: ChunkSender): Promise<SentChunk> => {
    const failed = new Set<string>();
    for (let current = plan, attempt = 1; ; attempt++) {
      let sentBytes = 0;
      try {
        return await sender.send(current, {
          signal,
          onBytes: (n) => {
            sentBytes += n;
            progress(n);
          },
        });
      } catch (err) {
        progress(-sentBytes);
        if (signal?.aborted || attempt > MAX_CHAIN_RECOVERIES || !recoverable(err)) throw err;
        // A refused token blames no node; a named (or unreachable) node is left
        // out from now on; with none to blame, the whole chain is suspect.
        const refused = err.code === "permission_denied";
        const blamed = refused ? [] : current.chain.filter((n) => n.address === err.failedAddress).map((n) => n.datanodeId);
        for (const id of blamed) failed.add(id);
        const replaced = await calls
          .replaceChain(
            {
              path,
              uploadId,
              chunkId: current.chunkId,
              failedDatanodeIds: [...failed],
              suspectDatanodeIds: blamed.length || refused ? [] : current.chain.map((n) => n.datanodeId),
            },
            signal,
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
    if (body.size !== undefined) {
      sent = await mapLimit(started.chunks, body.concurrency, (plan) => send(plan, body.sender));
    } else {
      sent = [];
      for await (const piece of body.chunks(Number(started.chunkSize))) {
        signal?.throwIfAborted();
        const { chunk } = await calls.addChunk({ path, uploadId, length: BigInt(piece.length) }, signal);
        sent.push(await send(chunk!, piece.sender));
      }
    }
    const res = await calls.confirmFile(
      create(ConfirmFileRequestSchema, {
        path,
        uploadId,
        chunks: sent.map((c) => ({ chunkId: c.chunkId, length: BigInt(c.length), checksum: c.checksum })),
        receipts: sent.flatMap((c) => c.receipts),
        attributes: o.attributesAtConfirm?.() ?? {},
      }),
      signal,
    );
    return res.file!;
  } catch (err) {
    // Free the path at once rather than leaving it to the lease.
    await calls.abandonFile({ path, uploadId }).catch(() => {});
    throw toTrainfsError(err);
  } finally {
    clearInterval(renew);
  }
}
