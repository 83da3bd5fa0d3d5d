import type { FileCondition } from "./file-condition.js";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { open, type Database, type Key, type RootDatabase, type Transaction } from "lmdb";
import { TrainfsError, durableLmdbOptions, fsyncDirectory } from "@trainfs/common";

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
  /** With overwrite: replace only this file (file-condition.ts). */
  replaceOnly?: FileCondition;
  replication: number;
  chunkSize: number;
  chunkIds: string[];
  createdMs: number;
  /** Given to the file at confirm. */
  attributes?: Record<string, string>;
  /** A directory above the path that must still exist at confirm (PutFile's existing_ancestor). */
  existingAncestor?: string;
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
 * Where lmdb-js keeps a table's shared msgpack record structures, beside its
 * records: a record then names its structure by a byte instead of carrying
 * its field names (half the size, several times faster to decode). The first
 * 32 shapes of a table are shared (msgpackr's default), a file's attribute
 * names included; later shapes stay inline, as every record was before.
 * Range reads and getCount skip this key; getStats' entryCount does not.
 */
const STRUCTURES = Symbol.for("structures");

/** One change of a write: a put (table, key, value) or a removal (table, key), as JSON for the HA log. */
export type JournalOp = ["p", string, Key, unknown] | ["r", string, Key];

/** The changes of one successful `write`, numbered in commit order (HA only). */
export interface Journal {
  seq: number;
  /** The term of the active NameNode that made it. */
  epoch: number;
  /** The ops, already serialized (JSON array of JournalOp): a record mutated after its put cannot change what is logged. */
  ops: string[];
}

/** What a journal replaced, to take it back if it never reaches the log: (table, key, previous value or undefined). */
interface Undo {
  seq: number;
  /** The term recorded with the seq before this journal. */
  prevEpoch: number;
  before: Array<[string, Key, unknown]>;
}

/**
 * Where an HA NameNode's writes go after their LMDB commit (ha/ha-coordinator.ts).
 * Absent on a single NameNode: `write` is then LMDB alone, exactly as before.
 */
export interface WriteReplicator {
  /** Throws (unavailable) unless this NameNode may change its metadata now (it is the active one); returns its term. */
  checkWritable(): number;
  /** Resolves once the journal is durable in etcd; rejects if it never will be (leadership lost). */
  append(journal: Journal): Promise<void>;
  /** A journal numbered `seq` was rolled back by LMDB after all: the numbering has a hole, so the local copy must be rebuilt. */
  lost(seq: number, err: unknown): void;
}

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
  /** HA bookkeeping (applied seq and its epoch): never journaled, written in the same transaction as what it describes. */
  private readonly ha: Database<number, string>;
  /** Every journaled table by name, for applying log entries and snapshots. */
  private readonly tables = new Map<string, Database<unknown, Key>>();
  /** The ops of the `write` running now, when journaling (HA), and what they replaced. */
  private recording: string[] | undefined;
  private replaced: Array<[string, Key, unknown]> = [];
  /** Journals committed to LMDB and not yet known to be in the log, oldest first. */
  private unappended: Undo[] = [];
  private replicator: WriteReplicator | undefined;
  /** Last journal seq committed to LMDB (appended or applied). */
  private seq = 0;
  /** Writes started and not yet appended (or failed): a snapshot waits for none. */
  private inflight = 0;
  private idle: Array<() => void> = [];
  /** Closed while a snapshot takes its read transaction: new writes wait. */
  private gate: Promise<void> | undefined;
  /** Each table's saved structures as this process last wrote or read them (their encoded length). */
  private readonly structuresLength = new Map<string, number>();

  private constructor(private readonly root: RootDatabase) {
    const db = <V, K extends Key>(name: string) => {
      const table = root.openDB<V, K>({ name, encoding: "msgpack", keyEncoding: "ordered-binary", sharedStructuresKey: STRUCTURES });
      this.journal(name, table as unknown as Database<unknown, Key>);
      this.structuresLength.set(name, table.getBinaryFast(STRUCTURES as unknown as K)?.length ?? 0);
      return table;
    };
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
    this.ha = root.openDB<number, string>({ name: "ha", encoding: "msgpack", keyEncoding: "ordered-binary" });
    this.seq = this.ha.get("seq") ?? 0;
  }

  /** Records every put and remove made on `table` inside a journaled `write` (HA), once, at the call. */
  private journal(name: string, table: Database<unknown, Key>): void {
    this.tables.set(name, table);
    const put = table.put.bind(table);
    const remove = table.remove.bind(table);
    table.put = ((key: Key, value: unknown, ...rest: unknown[]) => {
      // lmdb-js saves new structures through this put, inside the running
      // transaction: they belong to this LMDB alone, never to the HA log or an undo.
      if (key === STRUCTURES) {
        const done = (put as (...a: unknown[]) => Promise<boolean>)(key, value, ...rest);
        this.structuresLength.set(name, table.getBinaryFast(key)?.length ?? 0);
        return done;
      }
      if (this.recording) {
        this.replaced.push([name, key, table.get(key)]);
        this.recording.push(JSON.stringify(["p", name, key, value]));
      }
      return (put as (...a: unknown[]) => Promise<boolean>)(key, value, ...rest);
    }) as typeof table.put;
    table.remove = ((key: Key, ...rest: unknown[]) => {
      if (this.recording) {
        this.replaced.push([name, key, table.get(key)]);
        this.recording.push(JSON.stringify(["r", name, key]));
      }
      return (remove as (...a: unknown[]) => Promise<boolean>)(key, ...rest);
    }) as typeof table.remove;
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
    const replicator = this.replicator;
    if (!replicator) {
      return this.root.transaction(() => this.root.childTransaction(() => {
        this.reloadRolledBackStructures();
        return action();
      })) as Promise<T>;
    }
    return this.replicatedWrite(action, replicator);
  }

  /**
   * HA: the same LMDB transaction, with its changes journaled and numbered;
   * the promise resolves only once the journal is durable in etcd, so a
   * caller never hears "done" of a change a failover could lose.
   */
  private async replicatedWrite<T>(action: () => T, replicator: WriteReplicator): Promise<T> {
    while (this.gate) await this.gate;
    replicator.checkWritable();
    this.inflight++;
    let journal: Journal | undefined;
    try {
      const result = await (this.root.transaction(() =>
        this.root.childTransaction(() => {
          // The role may have changed while the write waited for its turn.
          const epoch = replicator.checkWritable();
          this.reloadRolledBackStructures();
          const ops: string[] = [];
          this.recording = ops;
          this.replaced = [];
          let value: T;
          try {
            value = action();
          } finally {
            this.recording = undefined;
          }
          if (ops.length > 0) {
            journal = { seq: this.seq + 1, epoch, ops };
            this.unappended.push({ seq: journal.seq, prevEpoch: this.ha.get("epoch") ?? 0, before: this.replaced });
            this.seq = journal.seq;
            this.ha.put("seq", journal.seq);
            this.ha.put("epoch", epoch);
          }
          this.replaced = [];
          return value;
        }),
      ) as Promise<T>).catch((err: unknown) => {
        if (journal) replicator.lost(journal.seq, err);
        throw err;
      });
      if (journal) await replicator.append(journal);
      return result;
    } finally {
      if (--this.inflight === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /**
   * A transaction that saved a new structure and then rolled back (a write
   * that threw, a failed commit) leaves msgpackr holding it in memory: a later
   * record of that shape would name a structure the file lacks, unreadable
   * after a restart. Run first in every transaction: where the saved
   * structures are not what this process last saw, msgpackr reloads them.
   */
  private reloadRolledBackStructures(): void {
    for (const [name, table] of this.tables) {
      const length = table.getBinaryFast(STRUCTURES as unknown as Key)?.length ?? 0;
      if (length === this.structuresLength.get(name)) continue;
      // msgpackr's own "not loaded yet" state: the next encode or decode reads them from the file.
      (table as unknown as { encoder: { structures: unknown } }).encoder.structures = Object.assign([], { uninitialized: true, sharedLength: 0 });
      this.structuresLength.set(name, length);
    }
  }

  /** The log holds every journal up to `seq`: their undo records go. */
  appended(seq: number): void {
    let n = 0;
    while (n < this.unappended.length && this.unappended[n]!.seq <= seq) n++;
    if (n > 0) this.unappended.splice(0, n);
  }

  /**
   * Takes back, newest first and in one transaction, every journal committed
   * here but not known to be in the log (a NameNode that stopped being
   * active): the LMDB is again exactly the log up to its seq. A journal that
   * did reach etcd after all (its answer was lost) comes back with the log.
   * Writes must be refused already; returns how many were undone.
   */
  async rollbackUnappended(): Promise<number> {
    await this.writesSettled();
    const undo = this.unappended.splice(0);
    if (undo.length === 0) return 0;
    const first = undo[0]!;
    await this.root.transaction(() => {
      this.reloadRolledBackStructures();
      for (const u of [...undo].reverse()) {
        for (const [name, key, before] of [...u.before].reverse()) {
          const table = this.tables.get(name)!;
          if (before === undefined) void table.remove(key);
          else void table.put(key, before);
        }
      }
      this.ha.put("seq", first.seq - 1);
      this.ha.put("epoch", first.prevEpoch);
    });
    this.seq = first.seq - 1;
    return undo.length;
  }

  /** Resolves once no journaled write is under way (new ones must already be refused). */
  async writesSettled(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Turns HA journaling on (a replicator) or off (undefined). */
  setReplicator(replicator: WriteReplicator | undefined): void {
    this.replicator = replicator;
  }

  /** The last journal seq in this LMDB (HA): appended by the active, applied by a standby. */
  get appliedSeq(): number {
    return this.seq;
  }

  /** The epoch (leader term) of the entry at `appliedSeq`; 0 when unknown. */
  get appliedEpoch(): number {
    return this.ha.get("epoch") ?? 0;
  }

  /** Notes the epoch of the entries this store appends from now on (a new active). */
  async setEpoch(epoch: number): Promise<void> {
    await this.root.transaction(() => this.ha.put("epoch", epoch));
  }

  /**
   * Applies log entries (a standby following the active) in one LMDB
   * transaction, with the seq reached: a crash leaves either all or none.
   */
  async applyEntries(entries: ReadonlyArray<{ seq: number; epoch: number; ops: JournalOp[] }>): Promise<void> {
    if (entries.length === 0) return;
    let seq = this.seq;
    await this.root.transaction(() => {
      this.reloadRolledBackStructures();
      for (const entry of entries) {
        if (entry.seq !== seq + 1) throw new TrainfsError("internal", `log entry ${entry.seq} does not follow ${seq}`);
        for (const op of entry.ops) {
          const table = this.tables.get(op[1]);
          if (!table) throw new TrainfsError("internal", `log entry ${entry.seq} names an unknown table ${op[1]}`);
          if (op[0] === "p") void table.put(op[2], op[3]);
          else void table.remove(op[2]);
        }
        seq = entry.seq;
        this.ha.put("seq", entry.seq);
        this.ha.put("epoch", entry.epoch);
      }
    });
    this.seq = seq;
  }

  /**
   * A consistent copy of every journaled table at a seq, for a standby to
   * start from: new writes wait until every write under way is appended,
   * then one LMDB read transaction pins the state at exactly `seq`.
   */
  async snapshot(): Promise<{ seq: number; epoch: number; lines: () => Generator<string>; done: () => void }> {
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    let txn: Transaction;
    let seq: number;
    let epoch: number;
    try {
      while (this.inflight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      txn = this.root.useReadTransaction();
      seq = this.seq;
      epoch = this.appliedEpoch;
    } finally {
      this.gate = undefined;
      open();
    }
    const tables = this.tables;
    return {
      seq,
      epoch,
      *lines() {
        for (const [name, table] of tables) {
          for (const { key, value } of table.getRange({ transaction: txn })) yield JSON.stringify([name, key, value]);
        }
      },
      done: () => txn.done(),
    };
  }

  /** Replaces every journaled table with a snapshot's content (a standby rebuilding its copy), in one transaction. */
  async loadSnapshot(seq: number, epoch: number, rows: ReadonlyArray<[string, Key, unknown]>): Promise<void> {
    await this.root.transaction(() => {
      this.reloadRolledBackStructures();
      for (const table of this.tables.values()) for (const key of [...table.getKeys()]) void table.remove(key);
      for (const [name, key, value] of rows) {
        const table = this.tables.get(name);
        if (!table) throw new TrainfsError("internal", `the snapshot names an unknown table ${name}`);
        void table.put(key, value);
      }
      this.ha.put("seq", seq);
      this.ha.put("epoch", epoch);
    });
    this.seq = seq;
    this.unappended = [];
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

  /** An operator's safe mode, journaled with the metadata: it holds across a restart and a failover until an operator leaves it. */
  get operatorSafeMode(): boolean {
    return this.meta.get("operatorSafeMode") === 1;
  }

  /** Call inside `write`. */
  setOperatorSafeMode(on: boolean): void {
    if (on) this.meta.put("operatorSafeMode", 1);
    else this.meta.remove("operatorSafeMode");
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
    const entries = (this.chunks.getStats() as { entryCount: number }).entryCount;
    return this.chunks.doesExist(STRUCTURES as unknown as string) ? entries - 1 : entries;
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
