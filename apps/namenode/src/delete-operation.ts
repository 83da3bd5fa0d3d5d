import { TrainfsError, validatePath } from "@trainfs/common";
import type { ChunkMap } from "./chunk-map.js";
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
 * The seed's DeleteFile: the metadata goes and a trash task is recorded for
 * every replica, in the caller's one transaction; the DataNodes delete the
 * files later, through heartbeats. A replica on a node that is dead now is
 * not in the chunk map; that node reports the chunk as unknown when it comes
 * back, and trash takes it then. Returns how many chunks went to trash.
 */
export function deletePath(p: DeleteParts, path: string, nowMs: number): number {
  const segments = validatePath(path);
  if (segments.length === 0) throw new TrainfsError("invalid_argument", "the root directory cannot be deleted");
  const inode = p.namespace.resolve(segments);
  if (!inode) throw new TrainfsError("not_found", `${path}: no such file or directory`);
  if (inode.type === "dir" && p.namespace.list(inode).length > 0) {
    throw new TrainfsError("failed_precondition", `${path} is a directory that is not empty`);
  }
  p.namespace.unlink(inode, nowMs);
  for (const chunkId of inode.chunkIds) {
    for (const holder of p.chunkMap.forgetChunk(chunkId)) p.trash.add(holder, chunkId, nowMs);
    p.queue.remove(chunkId);
    p.pending.remove(chunkId);
  }
  return inode.chunkIds.length;
}
