import { TrainfsError } from "@trainfs/common";
import type { MetadataStore, UploadRecord } from "./metadata-store.js";

/**
 * Leases on files under construction (HDFS's LeaseManager): a write's lease
 * is renewed by its writer (RenewLease) and by every replica its DataNodes
 * commit. As in HDFS there are two limits: past the soft one another writer
 * may take the path over (the old write is abandoned then); past the hard
 * one the NameNode abandons the write itself. The lease is the upload
 * record's `lastActiveMs`. Methods named as running inside a write must be
 * called inside `store.write`.
 */
export class LeaseManager {
  constructor(
    private readonly store: MetadataStore,
    /** A write idle for longer is abandoned by the NameNode (the hard limit). */
    readonly leaseMs: number,
    /** A write idle for longer may be taken over by another writer (the soft limit). */
    softMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.softMs = Math.min(softMs, leaseMs);
  }

  /** The soft limit, capped by the hard one; writers renew three times within it. */
  readonly softMs: number;

  /** The writer is alive: its lease starts over. Inside a write. */
  touch(uploadId: string, nowMs: number): void {
    const upload = this.store.uploads.get(uploadId);
    if (upload) this.store.uploads.put(uploadId, { ...upload, lastActiveMs: nowMs });
  }

  /** Writes whose lease has run out now. */
  expired(): UploadRecord[] {
    const nowMs = this.now();
    return [...this.store.uploads.getRange()].map((e) => e.value).filter((u) => this.hasExpired(u, nowMs));
  }

  hasExpired(upload: UploadRecord, nowMs: number): boolean {
    return nowMs - upload.lastActiveMs > this.leaseMs;
  }

  /**
   * The write in progress on `path` that a new writer may take over (idle
   * past the soft limit), or undefined if there is none; fails while its writer
   * still holds the lease. Inside a write.
   */
  takeOver(path: string, nowMs: number): UploadRecord | undefined {
    const current = this.store.uploadsByPath.get(path);
    if (current === undefined) return undefined;
    const upload = this.store.uploads.get(current)!;
    const idleMs = nowMs - upload.lastActiveMs;
    if (idleMs <= this.softMs) {
      throw new TrainfsError(
        "aborted",
        `${path} is being written by another client (upload ${current}, active ${Math.round(idleMs / 1000)} s ago); it can be taken over after ${Math.round(this.softMs / 1000)} s idle`,
      );
    }
    return upload;
  }
}
