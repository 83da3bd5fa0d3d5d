import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { open, type Database, type RootDatabase } from "lmdb";
import { durableLmdbOptions, fsyncDirectory } from "@trainfs/common";

/** A directory or a complete file. Files under construction live in `uploads`. */
export interface InodeRecord {
  id: number;
  parentId: number;
  name: string;
  type: "dir" | "file";
  mtimeMs: number;
  size: number;
  replication: number;
  chunkSize: number;
  chunkIds: string[];
  /** A file's attributes (file-attributes.ts); absent for none. */
  attributes?: Record<string, string>;
}

/** A file under construction: invisible to readers until ConfirmFile. */
export interface UploadRecord {
  uploadId: string;
  path: string;
  /** -1 while unknown: chunks are then added one at a time. */
  size: number;
  /** Replace an existing file at confirm. */
  overwrite?: boolean;
  replication: number;
  chunkSize: number;
  chunkIds: string[];
  createdMs: number;
  /** Given to the file at confirm. */
  attributes?: Record<string, string>;
  /** Renewed by every CommitChunk of the upload; an idle upload's path can be taken over. */
  lastActiveMs: number;
}

export interface ChunkRecord {
  chunkId: string;
  /** The upload writing it, or the inode of the complete file owning it. */
  uploadId?: string;
  inodeId?: number;
  index: number;
  offset: number;
  length: number;
  /** Set at ConfirmFile; replicas must match it from then on. */
  checksum?: number;
}

export interface ReplicaRecord {
  length: number;
  checksum: number;
  committedMs: number;
}

export type AdminState = "normal" | "decommissioning" | "decommissioned";

export interface DataNodeRecord {
  id: string;
  address: string;
  capacityBytes: number;
  registeredMs: number;
  adminState?: AdminState;
  /** The failure domain it reported; absent for none. */
  zone?: string;
}

/** A copy handed to a source DataNode, waiting for the targets' commits. */
export interface PendingReplication {
  chunkId: string;
  sourceId: string;
  targetIds: string[];
  issuedMs: number;
  /** When the source received it in a heartbeat response; unset until then. */
  deliveredMs?: number;
}

/** A replica found bad, kept until the chunk is whole again. */
export interface CorruptRecord {
  reason: string;
  reportedMs: number;
}

/** A chunk a DataNode must delete. */
export interface TrashRecord {
  createdMs: number;
  /** When last sent in a heartbeat response; unset until then. */
  deliveredMs?: number;
}

export const ROOT_INODE_ID = 1;

/**
 * The NameNode's metadata in one LMDB environment, one sub-database per map.
 * Every namespace change runs through `write`, one transaction: it commits
 * durably (fsynced) before its promise resolves, and a throw anywhere in it
 * leaves nothing behind.
 */
export class MetadataStore {
  readonly inodes: Database<InodeRecord, number>;
  /** [parentId, name] → child inode id: ordered, so a directory lists as one range. */
  readonly children: Database<number, [number, string]>;
  readonly uploads: Database<UploadRecord, string>;
  /** path → uploadId of the write in progress on it. */
  readonly uploadsByPath: Database<string, string>;
  readonly chunks: Database<ChunkRecord, string>;
  /** [chunkId, datanodeId] → the replica that DataNode committed. */
  readonly replicas: Database<ReplicaRecord, [string, string]>;
  /** [datanodeId, chunkId] → true: the same replicas, by DataNode. */
  readonly replicasByNode: Database<true, [string, string]>;
  readonly datanodes: Database<DataNodeRecord, string>;
  /** [live replica count, chunkId] → true: chunks whose replica count needs fixing, fewest replicas first. */
  readonly replicationQueue: Database<true, [number, string]>;
  /** chunkId → its priority in replicationQueue. */
  readonly replicationQueueIndex: Database<number, string>;
  readonly pendingReplications: Database<PendingReplication, string>;
  /** [sourceId, chunkId] → true. */
  readonly pendingBySource: Database<true, [string, string]>;
  /** [datanodeId, chunkId] → the deletion that node owes. */
  readonly trash: Database<TrashRecord, [string, string]>;
  /** [chunkId, datanodeId] → why that replica is bad. */
  readonly corruptReplicas: Database<CorruptRecord, [string, string]>;
  private readonly meta: Database<number | string, string>;

  private constructor(private readonly root: RootDatabase) {
    const db = <V, K extends import("lmdb").Key>(name: string) =>
      root.openDB<V, K>({ name, encoding: "msgpack", keyEncoding: "ordered-binary" });
    this.inodes = db("inodes");
    this.children = db("children");
    this.uploads = db("uploads");
    this.uploadsByPath = db("uploads-by-path");
    this.chunks = db("chunks");
    this.replicas = db("replicas");
    this.replicasByNode = db("replicas-by-node");
    this.datanodes = db("datanodes");
    this.replicationQueue = db("replication-queue");
    this.replicationQueueIndex = db("replication-queue-index");
    this.pendingReplications = db("pending-replications");
    this.pendingBySource = db("pending-by-source");
    this.trash = db("trash");
    this.corruptReplicas = db("corrupt-replicas");
    this.meta = db("meta");
  }

  static async open(dir: string): Promise<MetadataStore> {
    mkdirSync(dir, { recursive: true });
    // No read-ahead (MDB_NORDAHEAD): lookups land on random pages of a file
    // that may outgrow memory, and read-ahead would map far more of it than
    // each lookup needs, for no gain in latency.
    // (lmdb-js supports `noReadAhead` but its typings omit it.)
    const options = { path: `${dir}/metadata.mdb`, maxDbs: 32, noReadAhead: true, ...durableLmdbOptions };
    const store = new MetadataStore(open(options));
    // LMDB fsyncs its data file, not the names of what a first start created.
    await fsyncDirectory(options.path);
    await fsyncDirectory(dir);
    await store.write(() => {
      if (!store.inodes.doesExist(ROOT_INODE_ID)) {
        store.inodes.put(ROOT_INODE_ID, {
          id: ROOT_INODE_ID, parentId: 0, name: "", type: "dir", mtimeMs: Date.now(),
          size: 0, replication: 0, chunkSize: 0, chunkIds: [],
        });
        store.meta.put("nextInodeId", ROOT_INODE_ID + 1);
      }
      if (!store.meta.doesExist("clusterId")) store.meta.put("clusterId", `cluster-${randomUUID()}`);
      // Metadata written before these counters existed is counted once, here;
      // from then on every link and unlink keeps them in the same transaction.
      if (!store.meta.doesExist("fileCount")) {
        let files = 0;
        let dirs = 0;
        for (const { value } of store.inodes.getRange()) value.type === "dir" ? dirs++ : files++;
        store.meta.put("fileCount", files);
        store.meta.put("directoryCount", dirs);
      }
    });
    return store;
  }

  /**
   * Runs `action` in a write transaction. LMDB batches concurrent calls into
   * one commit; the child transaction makes a throw roll back only this call.
   */
  write<T>(action: () => T): Promise<T> {
    return this.root.transaction(() => this.root.childTransaction(action)) as Promise<T>;
  }

  /** Made once, when the metadata is created; DataNodes keep it to refuse another cluster. */
  get clusterId(): string {
    return this.meta.get("clusterId") as string;
  }

  /** Allocates an inode id; call inside `write`. */
  nextInodeId(): number {
    const id = (this.meta.get("nextInodeId") as number | undefined) ?? ROOT_INODE_ID + 1;
    this.meta.put("nextInodeId", id + 1);
    return id;
  }

  /** Counts an inode linked (+1) or unlinked (-1); call inside `write`, with the change itself. */
  countInode(type: InodeRecord["type"], delta: 1 | -1): void {
    const key = type === "dir" ? "directoryCount" : "fileCount";
    this.meta.put(key, ((this.meta.get(key) as number | undefined) ?? 0) + delta);
  }

  /** Complete files in the namespace, kept in the meta table: no scan. */
  fileCount(): number {
    return (this.meta.get("fileCount") as number | undefined) ?? 0;
  }

  /** Directories in the namespace, the root included. */
  directoryCount(): number {
    return (this.meta.get("directoryCount") as number | undefined) ?? 0;
  }

  /**
   * Chunks of files and of writes in progress, from LMDB's own entry count
   * (kept in the same commits as the records): O(1), no scan.
   */
  chunkCount(): number {
    return (this.chunks.getStats() as { entryCount: number }).entryCount;
  }

  /**
   * Chunks of complete files: every chunk belongs either to a file or to the
   * one upload that lists it, so this is all chunks minus those of writes in
   * progress (a few records), never a scan of the chunk table.
   */
  completeFileChunkCount(): number {
    let inUploads = 0;
    for (const { value } of this.uploads.getRange()) inUploads += value.chunkIds.length;
    return this.chunkCount() - inUploads;
  }

  close(): Promise<void> {
    return this.root.close();
  }
}
