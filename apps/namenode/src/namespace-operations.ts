import { TrainfsError, validatePath } from "@trainfs/common";
import { removeInode, type NamespaceParts } from "./delete-operation.js";
import { checkAttributes } from "./file-attributes.js";
import { checkFileCondition, type FileCondition } from "./file-condition.js";
import type { InodeRecord, MetadataStore } from "./metadata-store.js";

type Parts = NamespaceParts & { store: MetadataStore };

/**
 * The namespace verbs beyond put, get and delete (as HDFS's FSDirMkdirOp,
 * FSDirRenameOp, ...). Each runs inside the caller's one `store.write`.
 */
export function mkdir(p: Parts, path: string, parents: boolean, nowMs: number, attributes?: Record<string, string>): InodeRecord {
  const segments = validatePath(path);
  // Checked before anything changes: a bad attribute creates no directory.
  const set = attributes === undefined ? undefined : { attributes: checkAttributes(attributes) };
  if (set && segments.length === 0) throw new TrainfsError("invalid_argument", "the root directory has no attributes");
  const existing = p.namespace.resolve(segments);
  let dir: InodeRecord;
  if (existing) {
    if (existing.type !== "dir" || !parents) {
      throw new TrainfsError("already_exists", `${path} already exists${existing.type === "file" ? " (a file)" : ""}`);
    }
    dir = existing;
  } else {
    if (!parents && !p.namespace.resolve(segments.slice(0, -1))) {
      throw new TrainfsError("not_found", `the parent of ${path} does not exist (create parents to make it)`);
    }
    dir = p.namespace.mkdirs(segments, nowMs);
  }
  if (!set || (set.attributes === undefined && dir.attributes === undefined)) return dir;
  const { attributes: _old, ...rest } = dir;
  const updated: InodeRecord = set.attributes ? { ...rest, attributes: set.attributes } : rest;
  p.store.inodes.put(updated.id, updated);
  return updated;
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

export interface ConcatOptions {
  overwrite?: boolean;
  /** With overwrite: replace only this file. */
  replaceOnly?: FileCondition | undefined;
  attributes?: Record<string, string>;
  /** 0 or unset: the highest of the sources'. */
  replication?: number;
}

/** Sources one ConcatFiles may join at most (S3's multipart allows 10,000 parts). */
export const MAX_CONCAT_SOURCES = 10_000;

/**
 * ConcatFiles (HDFS's concat): the chunks of complete files, in the order
 * given, become one new file at `destination`, whose parents are created as
 * needed; the sources leave the namespace, and no byte is copied. The new
 * file's chunks may differ in length (each keeps its own); its chunk size is
 * the largest of them. A destination that is one of the sources is replaced
 * by the result, as an existing file is with `overwrite`.
 */
export function concat(
  p: Parts,
  sources: string[],
  destination: string,
  o: ConcatOptions & { maxReplication: number },
  nowMs: number,
): InodeRecord {
  if (sources.length === 0) throw new TrainfsError("invalid_argument", "ConcatFiles needs at least one source");
  if (sources.length > MAX_CONCAT_SOURCES) throw new TrainfsError("invalid_argument", `ConcatFiles takes at most ${MAX_CONCAT_SOURCES} sources, not ${sources.length}`);
  const attributes = checkAttributes(o.attributes);
  const to = validatePath(destination);
  if (to.length === 0) throw new TrainfsError("already_exists", "/ is a directory");
  const seen = new Set<number>();
  const files = sources.map((source) => {
    const inode = p.namespace.lookup(source);
    if (inode.type !== "file") throw new TrainfsError("invalid_argument", `${source} is a directory; only files can be joined`);
    if (seen.has(inode.id)) throw new TrainfsError("invalid_argument", `${source} is named twice among the sources`);
    seen.add(inode.id);
    return inode;
  });
  const replication = o.replication || Math.max(...files.map((f) => f.replication));
  if (!Number.isInteger(replication) || replication < 1 || replication > o.maxReplication) {
    throw new TrainfsError("invalid_argument", `replication must be between 1 and ${o.maxReplication}, got ${replication}`);
  }
  const existing = p.namespace.resolve(to);
  if (o.replaceOnly && !o.overwrite) throw new TrainfsError("invalid_argument", "replace_only needs overwrite");
  checkFileCondition(destination, existing, o.replaceOnly);
  if (existing && !seen.has(existing.id)) {
    if (existing.type === "dir") throw new TrainfsError("already_exists", `${destination} already exists (a directory)`);
    if (!o.overwrite) throw new TrainfsError("already_exists", `${destination} already exists`);
  }
  // The sources leave the namespace, their chunks stay: they are the new file's.
  for (const f of files) p.namespace.unlink(f, nowMs);
  const still = p.namespace.resolve(to);
  if (still) removeInode(p, still, nowMs);
  const chunkIds = files.flatMap((f) => f.chunkIds);
  const lengths = chunkIds.map((id) => p.chunks.get(id)?.length ?? 0);
  const file = p.namespace.addFile(to, {
    mtimeMs: nowMs,
    size: files.reduce((sum, f) => sum + f.size, 0),
    replication,
    chunkSize: Math.max(0, ...lengths) || Math.max(...files.map((f) => f.chunkSize)),
    chunkIds,
    ...(attributes ? { attributes } : {}),
  });
  const size = p.chunks.relink(file.id, chunkIds);
  if (size !== file.size) throw new TrainfsError("internal", `the sources' chunks add up to ${size} bytes, not the ${file.size} their files declare`);
  return file;
}
