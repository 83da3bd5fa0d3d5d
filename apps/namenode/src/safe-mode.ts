import type { Logger } from "@trainfs/common";
import type { MetadataStore } from "./metadata-store.js";

export interface SafeModeStatus {
  on: boolean;
  /** Entered by an operator: the namespace is read-only until one leaves it. */
  manual: boolean;
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
 *
 * Nothing here grows with the number of chunks: the total comes from LMDB's
 * entry count, and a chunk counts as reported the first time a node that has
 * reported since the start holds it (HDFS's "safe blocks" counter), so no set
 * of chunk ids is kept.
 */
export class SafeMode {
  private on: boolean;
  private manual = false;
  private reportedCount = 0;
  /** DataNodes whose full chunk report arrived since the start: their replica records are current. */
  private readonly reporters = new Set<string>();
  private readonly deferred = new Map<string, Set<string>>();
  private readonly totalChunks: number;
  private readonly startedMs: number;
  private readonly exitListeners: Array<() => void | Promise<void>> = [];

  constructor(
    private readonly store: MetadataStore,
    private readonly threshold: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    const total = store.completeFileChunkCount();
    this.totalChunks = total;
    this.startedMs = now();
    this.on = total > 0 && threshold > 0;
    if (store.operatorSafeMode) this.holdForOperator();
    else if (this.on) logger.info({ totalChunks: total, threshold, timeoutMs }, "safe mode: waiting for chunk reports");
  }

  get isOn(): boolean {
    return this.on;
  }

  /** Entered by an operator (SetSafeMode): clients may not change the namespace. */
  get isManual(): boolean {
    return this.manual;
  }

  /**
   * An operator's safe mode (HDFS's `dfsadmin -safemode enter`): no
   * replication or trash, and the namespace read-only, until `leave`. It
   * never ends on its own, whatever the reports; it is kept in the metadata
   * (journaled with it in HA), so a restart or a failover keeps it on.
   */
  async enter(): Promise<void> {
    if (this.manual) return;
    await this.store.write(() => this.store.setOperatorSafeMode(true));
    this.manual = true;
    this.on = true;
    this.logger.warn("safe mode entered by an operator: the namespace is read-only and no replication or trash is scheduled until an operator leaves it");
  }

  /** Leaves safe mode now, the operator's or the startup one; true if it was on. */
  async leave(): Promise<boolean> {
    if (this.store.operatorSafeMode) await this.store.write(() => this.store.setOperatorSafeMode(false));
    if (!this.on) return false;
    this.manual = false;
    await this.exit({ reason: "an operator", reportedChunks: this.reportedCount, totalChunks: this.totalChunks });
    return true;
  }

  /**
   * Elected (HA): an operator's safe mode follows the metadata, where the
   * previous active NameNode may have entered or left it since this one last
   * served.
   */
  async followMetadata(): Promise<void> {
    if (this.store.operatorSafeMode && !this.manual) this.holdForOperator();
    else if (!this.store.operatorSafeMode && this.manual) await this.leave();
  }

  private holdForOperator(): void {
    this.manual = true;
    this.on = true;
    this.logger.warn("safe mode, entered by an operator, is still on: the namespace is read-only until an operator leaves it (trainfs admin safemode leave)");
  }

  onExit(listener: () => void | Promise<void>): void {
    this.exitListeners.push(listener);
  }

  /**
   * A DataNode's full chunk report: counts the complete files' chunks no
   * earlier reporter holds. Call inside `store.write`, before the report's
   * replicas are recorded.
   */
  reportArrived(datanodeId: string, chunkIds: readonly string[]): void {
    if (!this.on || this.manual) return;
    const counted = new Set<string>();
    for (const chunkId of chunkIds) {
      if (counted.has(chunkId) || !this.isNew(chunkId)) continue;
      counted.add(chunkId);
      this.reportedCount++;
    }
    this.reporters.add(datanodeId);
  }

  /**
   * Runs `commit`, which records a DataNode's commit of a chunk. A node that
   * has reported keeps its records current, so the chunk counts if no
   * reporter held it before; a node yet to report will list it in its
   * report. Inside `store.write`.
   */
  chunkCommitted<T>(datanodeId: string, chunkId: string, commit: () => T): T {
    const counts = this.on && this.reporters.has(datanodeId) && this.isNew(chunkId);
    const out = commit();
    if (counts) this.reportedCount++;
    return out;
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
    if (!this.on || this.manual) return false;
    const covered = this.reportedCount >= this.threshold * this.totalChunks;
    const timedOut = this.now() - this.startedMs >= this.timeoutMs;
    if (!covered && !timedOut) return false;
    await this.exit({ reportedChunks: this.reportedCount, totalChunks: this.totalChunks, reason: covered ? "reports" : "timeout" });
    return true;
  }

  private async exit(details: Record<string, unknown>): Promise<void> {
    this.on = false;
    this.logger.info(details, "safe mode off: replication and trash start");
    this.reporters.clear();
    for (const listener of this.exitListeners) await listener();
  }

  status(): SafeModeStatus {
    return {
      on: this.on,
      manual: this.manual,
      reportedChunks: this.on && !this.manual ? this.reportedCount : this.totalChunks,
      totalChunks: this.totalChunks,
      threshold: this.threshold,
    };
  }

  /** A complete file's chunk that no node reporting since the start holds yet. */
  private isNew(chunkId: string): boolean {
    if (this.store.chunks.get(chunkId)?.inodeId === undefined) return false;
    for (const [, datanodeId] of this.store.replicas.getKeys({ start: [chunkId], end: [chunkId, "\uffff"] })) {
      if (this.reporters.has(datanodeId)) return false;
    }
    return true;
  }
}
