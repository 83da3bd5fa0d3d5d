import { TrainfsError, validatePath } from "@trainfs/common";
import type { ChunkManager } from "./chunks/chunk-manager.js";
import { checkFileCondition, type FileCondition } from "./file-condition.js";
import type { InodeRecord } from "./metadata-store.js";
import type { Namespace } from "./namespace.js";

/** What a namespace change that drops files works with. */
export interface NamespaceParts {
  namespace: Namespace;
  chunks: ChunkManager;
}

/**
 * DeleteFile as in the founding flows (docs/founding-flows.md): the metadata
 * goes and a trash task is recorded for every replica, in the caller's one
 * transaction; the DataNodes delete the files later, through heartbeats. A
 * replica on a node that is dead now is not in the chunk map; that node
 * reports the chunk as unknown when it comes back, and trash takes it then.
 * Returns how many chunks went to trash.
 */
export function deletePath(
  p: NamespaceParts,
  path: string,
  recursive: boolean,
  nowMs: number,
  o: { onlyEmptyPlainDirectory?: boolean; onlyIf?: FileCondition | undefined } = {},
): number {
  const segments = validatePath(path);
  if (segments.length === 0) throw new TrainfsError("invalid_argument", "the root directory cannot be deleted");
  const inode = p.namespace.resolve(segments);
  checkFileCondition(path, inode, o.onlyIf);
  if (!inode) throw new TrainfsError("not_found", `${path}: no such file or directory`);
  if (o.onlyEmptyPlainDirectory && (inode.type !== "dir" || inode.attributes !== undefined || recursive)) {
    throw new TrainfsError("failed_precondition", `${path} is not a directory without attributes (only such an empty directory was to be deleted)`);
  }
  if (inode.type === "dir" && !recursive && p.namespace.list(inode).length > 0) {
    throw new TrainfsError("failed_precondition", `${path} is a directory that is not empty (delete it recursively to remove its contents)`);
  }
  let chunks = 0;
  for (const node of p.namespace.subtree(inode)) chunks += removeInode(p, node, nowMs);
  return chunks;
}

/**
 * Unlinks one inode (a file, or a directory already emptied) and sends every
 * copy of its chunks to trash. Used by delete, and by rename and put when they
 * replace a file.
 */
export function removeInode(p: NamespaceParts, inode: InodeRecord, nowMs: number): number {
  p.namespace.unlink(inode, nowMs);
  return p.chunks.remove(inode.chunkIds);
}
