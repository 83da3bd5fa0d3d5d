import { open, type Database, type RootDatabase } from "lmdb";
import type { DataNodeLocation } from "@trainfs/proto";
import { durableLmdbOptions } from "@trainfs/common";

export interface StoredReplication {
  targets: Array<Pick<DataNodeLocation, "datanodeId" | "address">>;
  receivedMs: number;
  /** The NameNode's write permission for the targets; absent in tasks stored before tokens existed. */
  accessToken?: string;
}

/**
 * The DataNode's own small LMDB store of work received from the NameNode
 * and not finished, so that a restart resumes it: chunks to delete, deletions
 * done but not yet confirmed, copies to make, copies that failed but were not
 * yet reported, and the scrubber's progress. Chunk bytes never live here;
 * they are plain files.
 */
export class TaskStore {
  readonly trash: Database<number, string>;
  readonly deleted: Database<number, string>;
  readonly replications: Database<StoredReplication, string>;
  readonly failed: Database<number, string>;
  /** Chunk id → when the scrubber last verified it. */
  readonly scrubbed: Database<number, string>;

  private constructor(private readonly root: RootDatabase) {
    const db = <V>(name: string) => root.openDB<V, string>({ name, encoding: "msgpack" });
    this.trash = db("trash");
    this.deleted = db("deleted");
    this.replications = db("replications");
    this.failed = db("failed");
    this.scrubbed = db("scrubbed");
  }

  static open(dataDir: string): TaskStore {
    return new TaskStore(open({ path: `${dataDir}/tasks.mdb`, maxDbs: 8, ...durableLmdbOptions }));
  }

  /** One durable transaction; a throw rolls it back. */
  write<T>(action: () => T): Promise<T> {
    return this.root.transaction(() => this.root.childTransaction(action)) as Promise<T>;
  }

  keys(db: Database<unknown, string>, limit = 100_000): string[] {
    return [...db.getKeys({ limit })];
  }

  close(): Promise<void> {
    return this.root.close();
  }
}
