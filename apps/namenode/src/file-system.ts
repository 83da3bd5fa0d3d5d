import type { FileCondition } from "./file-condition.js";
import { TrainfsError, joinPath } from "@trainfs/common";
import type { ChunkHealth, ChunkManager, LocatedChunk } from "./chunks/chunk-manager.js";
import { deletePath } from "./delete-operation.js";
import type { InodeRecord, MetadataStore } from "./metadata-store.js";
import type { Namespace } from "./namespace.js";
import { concat, contentSummary, mkdir, rename, setReplication, type ConcatOptions } from "./namespace-operations.js";

const DEFAULT_PAGE = 1000;
const MAX_PAGE = 10_000;

export interface FsckChunkReport {
  chunkId: string;
  index: number;
  length: number;
  health: ChunkHealth;
  /** DataNodes with a good live replica. */
  live: string[];
  corrupt: string[];
}

export interface FsckReport {
  files: Array<{ path: string; size: number; replication: number; chunks: FsckChunkReport[] }>;
  totals: Record<ChunkHealth, number>;
}

/**
 * The namespace verbs the client and admin services call, one method per
 * RPC (HDFS's FSNamesystem, less the write path, which is the upload
 * manager's): each validates, runs its change as one transaction, and
 * answers in the NameNode's own records.
 */
export class FileSystem {
  constructor(
    private readonly store: MetadataStore,
    private readonly namespace: Namespace,
    private readonly chunks: ChunkManager,
    private readonly maxReplication: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A complete file and its chunks with their live replicas. */
  getFile(path: string): { inode: InodeRecord; chunks: LocatedChunk[] } {
    const inode = this.namespace.lookup(path);
    if (inode.type !== "file") throw new TrainfsError("failed_precondition", `${path} is a directory`);
    return { inode, chunks: inode.chunkIds.map((chunkId) => this.chunks.locate(chunkId)) };
  }

  /** A directory's entries after `startAfter` (a page), or the one file a file path names. */
  list(path: string, startAfter: string, limit: number): { entries: Array<{ path: string; inode: InodeRecord }>; hasMore: boolean } {
    const inode = this.namespace.lookup(path);
    if (inode.type === "file") return { entries: [{ path, inode }], hasMore: false };
    if (limit > MAX_PAGE) throw new TrainfsError("invalid_argument", `limit is at most ${MAX_PAGE}`);
    const page = this.namespace.listPage(inode, startAfter, limit || DEFAULT_PAGE);
    return { entries: page.entries.map((child) => ({ path: joinPath(path, child.name), inode: child })), hasMore: page.hasMore };
  }

  stat(path: string): InodeRecord {
    return this.namespace.lookup(path);
  }

  /** Mkdir; `attributes`, when given, replace the directory's (an S3 folder marker's). */
  mkdir(path: string, parents: boolean, attributes?: Record<string, string>): Promise<InodeRecord> {
    const nowMs = this.now();
    return this.store.write(() => mkdir(this.parts(), path, parents, nowMs, attributes));
  }

  rename(source: string, destination: string, overwrite: boolean): Promise<InodeRecord> {
    const nowMs = this.now();
    return this.store.write(() => rename(this.parts(), source, destination, overwrite, nowMs));
  }

  setReplication(path: string, replication: number): Promise<InodeRecord> {
    const nowMs = this.now();
    return this.store.write(() => setReplication(this.parts(), path, replication, this.maxReplication, nowMs));
  }

  /** ConcatFiles: the sources' chunks, in order, become one new file at `destination`; the sources go. */
  concat(sources: string[], destination: string, options: ConcatOptions): Promise<InodeRecord> {
    const nowMs = this.now();
    return this.store.write(() => concat(this.parts(), sources, destination, { ...options, maxReplication: this.maxReplication }, nowMs));
  }

  contentSummary(path: string): { files: number; directories: number; bytes: number; spaceConsumed: number } {
    return contentSummary(this.parts(), path);
  }

  /** Deletes a path (recursively if asked, or only an empty directory without attributes, or only the file a condition names); returns how many chunks went to trash. */
  delete(path: string, recursive: boolean, o: { onlyEmptyPlainDirectory?: boolean; onlyIf?: FileCondition | undefined } = {}): Promise<number> {
    const nowMs = this.now();
    return this.store.write(() => deletePath(this.parts(), path, recursive, nowMs, o));
  }

  /** Every file under `path` with each chunk's health, counted as the replication monitor counts. */
  fsck(path: string): FsckReport {
    const totals: Record<ChunkHealth, number> = { healthy: 0, under_replicated: 0, corrupt: 0, missing: 0 };
    const files: FsckReport["files"] = [];
    const visit = (at: string, inode: InodeRecord) => {
      if (inode.type === "dir") {
        for (const child of this.namespace.list(inode)) visit(joinPath(at, child.name), child);
        return;
      }
      const chunks = inode.chunkIds.map((chunkId): FsckChunkReport => {
        const count = this.chunks.countReplicas(chunkId);
        const health = this.chunks.health(count);
        totals[health]++;
        const chunk = count?.chunk ?? this.chunks.get(chunkId);
        return { chunkId, index: chunk?.index ?? 0, length: chunk?.length ?? 0, health, live: count?.live ?? [], corrupt: count?.corrupt ?? [] };
      });
      files.push({ path: at, size: inode.size, replication: inode.replication, chunks });
    };
    visit(path, this.namespace.lookup(path));
    return { files, totals };
  }

  private parts() {
    return { store: this.store, namespace: this.namespace, chunks: this.chunks };
  }
}
