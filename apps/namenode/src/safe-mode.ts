import type { Logger } from "@trainfs/common";
import type { MetadataStore } from "./metadata-store.js";

export interface SafeModeStatus {
  on: boolean;
  reportedChunks: number;
  totalChunks: number;
  threshold: number;
}

/**
 * After a start the NameNode knows its files but not yet where their chunks
 * are: until chunk reports cover `threshold` of the chunks of complete files
 * (or `timeoutMs` passes), it schedules no replication and no trash, so slow
 * reporters cause no copy storm and no wrong deletions. Reads and writes work
 * meanwhile.
 */
export class SafeMode {
  private on: boolean;
  private readonly reported = new Set<string>();
  private readonly deferred = new Map<string, Set<string>>();
  private readonly totalChunks: number;
  private readonly startedMs: number;
  private readonly exitListeners: Array<() => void | Promise<void>> = [];

  constructor(
    store: MetadataStore,
    private readonly threshold: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    let total = 0;
    for (const { value } of store.chunks.getRange()) if (value.inodeId !== undefined) total++;
    this.totalChunks = total;
    this.startedMs = now();
    this.on = total > 0 && threshold > 0;
    if (this.on) logger.info({ totalChunks: total, threshold, timeoutMs }, "safe mode: waiting for chunk reports");
  }

  get isOn(): boolean {
    return this.on;
  }

  onExit(listener: () => void | Promise<void>): void {
    this.exitListeners.push(listener);
  }

  /** A complete file's chunk has a replica on a node that reported since the start. */
  chunkReported(chunkId: string): void {
    if (this.on) this.reported.add(chunkId);
  }

  /**
   * Unknown chunks reported in safe mode wait for its end: until then the
   * NameNode cannot tell garbage from a chunk it has not heard about yet.
   */
  defer(datanodeId: string, chunkIds: readonly string[]): void {
    if (chunkIds.length === 0) return;
    let set = this.deferred.get(datanodeId);
    if (!set) this.deferred.set(datanodeId, (set = new Set()));
    for (const id of chunkIds) set.add(id);
  }

  takeDeferred(): Map<string, Set<string>> {
    const out = new Map(this.deferred);
    this.deferred.clear();
    return out;
  }

  /** Leaves safe mode when enough is reported or time is up; true if it just left. */
  async check(): Promise<boolean> {
    if (!this.on) return false;
    const covered = this.reported.size >= this.threshold * this.totalChunks;
    const timedOut = this.now() - this.startedMs >= this.timeoutMs;
    if (!covered && !timedOut) return false;
    this.on = false;
    this.logger.info(
      { reportedChunks: this.reported.size, totalChunks: this.totalChunks, reason: covered ? "reports" : "timeout" },
      "safe mode off: replication and trash start",
    );
    this.reported.clear();
    for (const listener of this.exitListeners) await listener();
    return true;
  }

  status(): SafeModeStatus {
    return {
      on: this.on,
      reportedChunks: this.on ? this.reported.size : this.totalChunks,
      totalChunks: this.totalChunks,
      threshold: this.threshold,
    };
  }
}
