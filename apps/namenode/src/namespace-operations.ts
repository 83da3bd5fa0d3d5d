import { TrainfsError, validatePath } from "@trainfs/common";
import { removeInode, type NamespaceParts } from "./delete-operation.js";
import type { InodeRecord, MetadataStore } from "./metadata-store.js";

type Parts = NamespaceParts & { store: MetadataStore };

/**
 * The namespace verbs beyond put, get and delete (as HDFS's FSDirMkdirOp,
 * FSDirRenameOp, ...). Each runs inside the caller's one `store.write`.
 */
export function mkdir(p: Parts, path: string, parents: boolean, nowMs: number): InodeRecord {
  const segments = validatePath(path);
  const existing = p.namespace.resolve(segments);
  if (existing) {
    if (existing.type === "dir" && parents) return existing;
    throw new TrainfsError("already_exists", `${path} already exists${existing.type === "file" ? " (a file)" : ""}`);
  }
  if (!parents && !p.namespace.resolve(segments.slice(0, -1))) {
    throw new TrainfsError("not_found", `the parent of ${path} does not exist (create parents to make it)`);
  }
  return p.namespace.mkdirs(segments, nowMs);
}

/**
 * Moves `source` to exactly `destination`: files and directories, across
 * directories. The destination's parent must exist. An existing destination
 * is refused (AlreadyExists) unless `overwrite` is set and both are files; a
 * directory cannot move into its own subtree (InvalidArgument).
 */
export function rename(p: Parts, source: string, destination: string, overwrite: boolean, nowMs: number): InodeRecord {
  const from = validatePath(source);
  const to = validatePath(destination);
  if (from.length === 0) throw new TrainfsError("invalid_argument", "the root directory cannot be moved");
  if (to.length === 0) throw new TrainfsError("already_exists", "/ already exists");
  const inode = p.namespace.resolve(from);
  if (!inode) throw new TrainfsError("not_found", `${source}: no such file or directory`);
  const parent = p.namespace.resolve(to.slice(0, -1));
  if (!parent) throw new TrainfsError("not_found", `the parent of ${destination} does not exist`);
  if (parent.type !== "dir") throw new TrainfsError("failed_precondition", `the parent of ${destination} is a file`);
  if (inode.type === "dir" && p.namespace.contains(inode, parent)) {
    throw new TrainfsError("invalid_argument", `cannot move ${source} into its own subtree (${destination})`);
  }
  const existing = p.namespace.resolve(to);
  if (existing?.id === inode.id) return inode;
  if (existing) {
    if (!overwrite) throw new TrainfsError("already_exists", `${destination} already exists`);
    if (existing.type !== "file" || inode.type !== "file") {
      throw new TrainfsError("already_exists", `${destination} already exists and only a file can replace a file`);
    }
    removeInode(p, existing, nowMs);
  }
  return p.namespace.move(p.namespace.resolve(from)!, p.store.inodes.get(parent.id)!, to.at(-1)!, nowMs);
}

/** Changes a file's replication; the replication monitor adds or trims copies. */
export function setReplication(p: Parts, path: string, replication: number, maxReplication: number, nowMs: number): InodeRecord {
  if (!Number.isInteger(replication) || replication < 1 || replication > maxReplication) {
    throw new TrainfsError("invalid_argument", `replication must be between 1 and ${maxReplication}, got ${replication}`);
  }
  const inode = p.namespace.lookup(path);
  if (inode.type !== "file") throw new TrainfsError("invalid_argument", `${path} is a directory; replication is set on files`);
  const updated = { ...inode, replication, mtimeMs: nowMs };
  p.store.inodes.put(inode.id, updated);
  p.chunks.recheck(inode.chunkIds);
  return updated;
}

export function contentSummary(p: Parts, path: string) {
  const summary = { files: 0, directories: 0, bytes: 0, spaceConsumed: 0 };
  for (const node of p.namespace.subtree(p.namespace.lookup(path))) {
    if (node.type === "dir") summary.directories++;
    else {
      summary.files++;
      summary.bytes += node.size;
      summary.spaceConsumed += node.size * node.replication;
    }
  }
  return summary;
}
