import { ConnectError } from "@connectrpc/connect";
import type { ChunkPlan } from "@trainfs/proto";
import { TrainfsError, toTrainfsError, type ErrorCode } from "./errors.js";
import { failedDataNodeOf } from "./failed-datanode.js";

/** A chunk write that failed, naming the DataNode where it failed when that is known. */
export class ChunkWriteError extends TrainfsError {
  constructor(
    code: ErrorCode,
    message: string,
    /** Address of the failed DataNode; undefined when no node can be blamed (a stall, the source). */
    readonly failedAddress: string | undefined,
    options?: {
      cause?: unknown;
      /** A DataNode named the failed node (trainfs-failed-datanode), rather than the head being found unreachable. */
      named?: boolean;
    },
  ) {
    super(code, message, options);
    this.named = options?.named ?? false;
  }

  readonly named: boolean;
}

/**
 * A sender's failure as the ChunkWriteError that blames the right node, for
 * both SDKs' senders: the node the chain named (trainfs-failed-datanode);
 * else, for a call that failed without a name and not because of this side
 * (its source, an abort), the head: every error a DataNode raises names it,
 * so an unnamed one happened on the way to the first node.
 */
export function chunkWriteError(err: unknown, plan: ChunkPlan, ours: { sourceFailed: boolean; aborted: boolean }): ChunkWriteError {
  const head = plan.chain[0]?.address;
  const e = toTrainfsError(err);
  const named = failedDataNodeOf(err);
  const unreachable = err instanceof ConnectError && !named && !ours.sourceFailed && !ours.aborted;
  const where = unreachable ? ` (datanode ${head} unreachable)` : "";
  return new ChunkWriteError(e.code, `writing chunk ${plan.index} (${plan.chunkId}) failed${where}: ${e.message}`, named ?? (unreachable ? head : undefined), {
    cause: err,
    named: named !== undefined,
  });
}

/** New chains asked for one chunk before its write fails. */
export const MAX_CHAIN_RECOVERIES = 3;

/** Chain failures worth a new chain whoever is named: a node down, hung, full, or bytes damaged on the way. */
const RECOVERABLE = new Set<ErrorCode>(["unavailable", "resource_exhausted", "internal", "data_loss", "deadline_exceeded"]);

/**
 * Which chain failures get a new chain (ReplaceChain), for both SDKs:
 * - the set above, with or without a node to blame (a stalled chain blames
 *   none: the NameNode is told its nodes are suspect);
 * - `permission_denied`: most likely an access token that expired during a
 *   long write; a new chain comes with a new token, and no node is blamed;
 * - `canceled` and `aborted` only when a node is known: both mean a call was
 *   cut, which a DataNode reports (naming itself or the next hop) when its
 *   downstream connection reset or was cancelled. Without a node it was this
 *   side (an abort, a source that failed or changed under us), and sending
 *   again would not help. (The Node SDK used to take every `canceled` and the
 *   browser SDK every named `aborted`; this is the one reading of both.)
 * - `already_exists` from a named DataNode: a node that already holds the
 *   chunk finalized (an earlier attempt reached it) refuses a re-write; a
 *   chain without it succeeds.
 */
export function recoverable(err: unknown): err is ChunkWriteError {
  if (!(err instanceof ChunkWriteError)) return false;
  if (RECOVERABLE.has(err.code) || err.code === "permission_denied") return true;
  if (err.code === "canceled" || err.code === "aborted") return err.failedAddress !== undefined;
  if (err.code === "already_exists") return err.named && err.failedAddress !== undefined;
  return false;
}
