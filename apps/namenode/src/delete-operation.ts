import { TrainfsError, validatePath } from "@trainfs/common";
import type { ChunkMap } from "./chunk-map.js";
import type { InodeRecord } from "./metadata-store.js";
import type { Namespace } from "./namespace.js";
import type { PendingReplications } from "./pending-replications.js";
import type { ReplicationQueue } from "./replication-queue.js";
import type { Trash } from "./trash.js";

export interface DeleteParts {
  namespace: Namespace;
  chunkMap: ChunkMap;
  trash: Trash;
  queue: ReplicationQueue;
  pending: PendingReplications;
}

/**
 * DeleteFile as in the founding flows (docs/founding-flows.md): the metadata
 * goes and a trash task is recorded for every replica, in the caller's one
 * transaction; the DataNodes delete the files later, through heartbeats. A
 * replica on a node that is dead now is not in the chunk map; that node
 * reports the chunk as unknown when it comes back, and trash takes it then.
 * Returns how many chunks went to trash.
 */
export function deletePath(p: DeleteParts, path: string, recursive: boolean, nowMs: number): number {
  const segments = validatePath(path);
  if (segments.length === 0) throw new TrainfsError("invalid_argument", "the root directory cannot be deleted");
  const inode = p.namespace.resolve(segments);
  if (!inode) throw new TrainfsError("not_found", `${path}: no such file or directory`);
  if (inode.type === "dir" && !recursive && p.namespace.list(inode).length > 0) {
    throw new TrainfsError("failed_precondition", `${path} is a directory that is not empty (delete it recursively to remove its contents)`);
  }
  let chunks = 0;
  for (const node of p.namespace.subtree(inode)) {
    chunks += removeInode(p, node, nowMs);
    for (const chunkId of node.chunkIds) {
      p.queue.remove(chunkId);
      p.pending.remove(chunkId);
    }
  }
  return chunks;
}

/**
 * Unlinks one inode (a file, or a directory already emptied) and sends every
 * copy of its chunks to trash. Used by delete, and by rename and put when they
 * replace a file. Queue entries and copies in flight for its chunks clean
 * themselves up: their chunk records are gone.
 */
export function removeInode(p: Pick<DeleteParts, "namespace" | "chunkMap" | "trash">, inode: InodeRecord, nowMs: number): number {
  p.namespace.unlink(inode, nowMs);
  for (const chunkId of inode.chunkIds) {
    for (const holder of p.chunkMap.forgetChunk(chunkId)) p.trash.add(holder, chunkId, nowMs);
  }
  return inode.chunkIds.length;
}
