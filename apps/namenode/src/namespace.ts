import { TrainfsError, joinPath, validatePath } from "@trainfs/common";
import { ROOT_INODE_ID, type InodeRecord, type MetadataStore } from "./metadata-store.js";

/**
 * The directory tree: inodes linked by (parent, name) entries, as in HDFS's
 * FSDirectory. Inodes have ids so that a rename moves one entry and never
 * touches chunks. Mutating methods must run inside `store.write`.
 */
export class Namespace {
  constructor(private readonly store: MetadataStore) {}

  root(): InodeRecord {
    return this.store.inodes.get(ROOT_INODE_ID)!;
  }

  /** The inode at `path`, or undefined. The path must already be validated. */
  resolve(segments: string[]): InodeRecord | undefined {
    let node = this.root();
    for (const name of segments) {
      if (node.type !== "dir") return undefined;
      const childId = this.store.children.get([node.id, name]);
      if (childId === undefined) return undefined;
      node = this.store.inodes.get(childId)!;
    }
    return node;
  }

  lookup(path: string): InodeRecord {
    const node = this.resolve(validatePath(path));
    if (!node) throw new TrainfsError("not_found", `${path}: no such file or directory`);
    return node;
  }

  /** Up to `limit` children after `startAfter`, sorted by name, and whether more follow. */
  listPage(dir: InodeRecord, startAfter: string, limit: number): { entries: InodeRecord[]; hasMore: boolean } {
    const entries: InodeRecord[] = [];
    let hasMore = false;
    for (const { key, value } of this.store.children.getRange({ start: [dir.id, startAfter], end: [dir.id, "\uffff"] })) {
      if (startAfter && key[1] === startAfter) continue;
      if (entries.length === limit) {
        hasMore = true;
        break;
      }
      entries.push(this.store.inodes.get(value)!);
    }
    return { entries, hasMore };
  }

  /** Every inode under (and including) `inode`, children before their parents. */
  *subtree(inode: InodeRecord): Generator<InodeRecord> {
    if (inode.type === "dir") for (const child of this.list(inode)) yield* this.subtree(child);
    yield inode;
  }

  /** True if `ancestor` is `inode` or one of its ancestors. */
  contains(ancestor: InodeRecord, inode: InodeRecord): boolean {
    for (let id = inode.id; id !== 0; id = this.store.inodes.get(id)!.parentId) if (id === ancestor.id) return true;
    return false;
  }

  /** Moves an inode under another directory, under a new name. */
  move(inode: InodeRecord, newParent: InodeRecord, newName: string, nowMs: number): InodeRecord {
    const oldParent = this.store.inodes.get(inode.parentId)!;
    this.store.children.remove([oldParent.id, inode.name]);
    this.store.inodes.put(oldParent.id, { ...oldParent, mtimeMs: nowMs });
    const moved = { ...inode, parentId: newParent.id, name: newName };
    this.link(this.store.inodes.get(newParent.id)!, moved, false);
    return moved;
  }

  /** Children of a directory, sorted by name (byte order of their UTF-8). */
  list(dir: InodeRecord): InodeRecord[] {
    const out: InodeRecord[] = [];
    for (const { value } of this.store.children.getRange({ start: [dir.id], end: [dir.id, "\uffff"] })) {
      out.push(this.store.inodes.get(value)!);
    }
    return out;
  }

  /** Creates every missing directory along `segments`; fails where a segment is a file. */
  mkdirs(segments: string[], nowMs: number): InodeRecord {
    let node = this.root();
    let path = "/";
    for (const name of segments) {
      path = joinPath(path, name);
      const childId = this.store.children.get([node.id, name]);
      if (childId !== undefined) {
        node = this.store.inodes.get(childId)!;
        if (node.type !== "dir") {
          throw new TrainfsError("failed_precondition", `${path} is a file, not a directory`);
        }
        continue;
      }
      const dir: InodeRecord = {
        id: this.store.nextInodeId(), parentId: node.id, name, type: "dir", mtimeMs: nowMs,
        size: 0, replication: 0, chunkSize: 0, chunkIds: [],
      };
      this.link(node, dir);
      node = dir;
    }
    return node;
  }

  /** Adds a new file under `segments`' parent; the caller checked the name is free. */
  addFile(segments: string[], file: Omit<InodeRecord, "id" | "parentId" | "name" | "type">): InodeRecord {
    const parent = this.mkdirs(segments.slice(0, -1), file.mtimeMs);
    const inode: InodeRecord = {
      ...file, id: this.store.nextInodeId(), parentId: parent.id, name: segments.at(-1)!, type: "file",
    };
    this.link(parent, inode);
    return inode;
  }

  /** Removes an inode from its parent directory. */
  unlink(inode: InodeRecord, nowMs: number): void {
    const parent = this.store.inodes.get(inode.parentId)!;
    this.store.children.remove([parent.id, inode.name]);
    this.store.inodes.remove(inode.id);
    this.store.countInode(inode.type, -1);
    this.store.inodes.put(parent.id, { ...parent, mtimeMs: nowMs });
  }

  private link(parent: InodeRecord, child: InodeRecord, isNew = true): void {
    if (isNew) this.store.countInode(child.type, 1);
    this.store.inodes.put(child.id, child);
    this.store.children.put([parent.id, child.name], child.id);
    this.store.inodes.put(parent.id, { ...parent, mtimeMs: child.mtimeMs });
  }
}
