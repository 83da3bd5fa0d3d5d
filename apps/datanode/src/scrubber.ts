import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage, type Logger } from "@trainfs/common";
import type { ChunkStore } from "./chunk-store.js";
import type { TaskStore } from "./task-store.js";

export interface ScrubSettings {
  /** Read no faster than this, so scrubbing never crowds out clients. */
  bytesPerSecond: number;
  /** Verify each chunk once per period. */
  periodMs: number;
  /** Called for each chunk verified (good or bad). */
  onVerified?: () => void;
  /** Called for each verification the NameNode asked for, once done. */
  onRequestedVerified?: (good: boolean) => void;
}

/** What a replica must match, as the NameNode recorded it (HeartBeatResponse.verify_chunks). */
export interface ExpectedReplica {
  chunkId: string;
  length: number;
  checksum: number;
}

/** Verifications the NameNode asked for and not yet done, at most; more are dropped (it asks again). */
export const MAX_REQUESTED_VERIFICATIONS = 10_000;
const CHUNK_ID = /^[0-9a-f]{32}$/;

/**
 * The background block scanner (HDFS's VolumeScanner, MooseFS's test loop):
 * re-reads every chunk once per period at a bounded rate, verifying every
 * piece, and condemns bad replicas so the NameNode repairs them. A chunk whose
 * file was deleted or truncated behind the DataNode's back counts as bad. When
 * each chunk was last verified is kept in the task store, so a restart picks
 * up where the scrubber was instead of starting over.
 */
export class Scrubber {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  /** The NameNode's requests, in arrival order, one per chunk. */
  private readonly requested = new Map<string, ExpectedReplica>();
  /** The request being verified now. */
  private current: string | undefined;
  private verifying: Promise<void> | undefined;
  /** Verifications the NameNode asked for, by outcome, since start. */
  readonly requestedResults = { good: 0, bad: 0 };
  /** When the chunk the pass is at was last verified (chunks never verified: since this scrubber started); undefined between passes. */
  private passAtMs: number | undefined;
  private readonly startedMs: number;

  constructor(
    private readonly tasks: TaskStore,
    private readonly store: ChunkStore,
    private readonly condemn: (chunkId: string, reason: string) => Promise<void>,
    private readonly settings: ScrubSettings,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.startedMs = now();
  }

  /**
   * How far behind its period the scrubber is: the time past due of the
   * oldest chunk it has not verified yet (passes go oldest first); 0 when
   * every chunk was verified within the period.
   */
  get overdueSeconds(): number {
    if (this.passAtMs === undefined) return 0;
    return Math.max(0, this.now() - this.passAtMs - this.settings.periodMs) / 1000;
  }

  start(): void {
    this.running ??= this.loop().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.logger.error({ err: errorMessage(err) }, "scrubber stopped");
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    await this.verifying;
  }

  /**
   * "Verify now" (HeartBeatResponse.verify_chunks): a reader suspected these
   * replicas, and only this node's own reading may condemn them. Each is read
   * through, every piece against its checksum as a scrub does, and its length
   * and whole CRC-32 compared with the NameNode's record; a replica that fails
   * is condemned (quarantined and reported), one that passes changes nothing.
   * One at a time at the scrubber's rate, deduplicated, bounded; chunks this
   * node does not hold are ignored, so a flood of false suspicions costs at
   * most a bounded amount of reading.
   */
  requestVerification(replicas: ReadonlyArray<ExpectedReplica>): void {
    for (const r of replicas) {
      if (this.requested.size >= MAX_REQUESTED_VERIFICATIONS) {
        this.logger.warn({ dropped: replicas.length }, "too many verifications asked for: the rest are dropped until the queue drains");
        break;
      }
      if (!CHUNK_ID.test(r.chunkId) || !this.store.has(r.chunkId) || this.current === r.chunkId || this.requested.has(r.chunkId)) continue;
      this.requested.set(r.chunkId, { chunkId: r.chunkId, length: r.length, checksum: r.checksum });
    }
    this.kick();
  }

  /** Verifications asked for and not finished (queued or under way). */
  get pendingVerifications(): number {
    return this.requested.size + (this.current ? 1 : 0);
  }

  private kick(): void {
    if (this.verifying || this.requested.size === 0 || this.abort.signal.aborted) return;
    this.verifying = this.verifyRequested()
      .catch((err: unknown) => {
        if (!this.abort.signal.aborted) this.logger.error({ err: errorMessage(err) }, "verification the NameNode asked for failed to run");
      })
      .finally(() => {
        this.verifying = undefined;
        this.kick();
      });
  }

  private async verifyRequested(): Promise<void> {
    for (const [chunkId, expected] of this.requested) {
      if (this.abort.signal.aborted) return;
      this.requested.delete(chunkId);
      this.current = chunkId;
      try {
        // Deleted (or condemned) since it was asked for: nothing to verify.
        if (!this.store.has(chunkId)) continue;
        const reason = await this.store.verify(chunkId, (n) => this.throttle(n), expected);
        if (reason && !this.store.has(chunkId)) continue;
        this.settings.onRequestedVerified?.(!reason);
        if (reason) {
          await this.condemn(chunkId, `verification the NameNode asked for: ${reason}`);
          // Counted once reported, so a count seen means the NameNode knows.
          this.requestedResults.bad++;
          await this.tasks.write(() => this.tasks.scrubbed.remove(chunkId));
        } else {
          this.requestedResults.good++;
          this.logger.info({ chunkId }, "suspected replica verified: good");
          await this.tasks.write(() => this.tasks.scrubbed.put(chunkId, this.now()));
        }
      } finally {
        this.current = undefined;
      }
    }
  }

  /** Verifies every chunk that is due; returns how many were found bad. */
  async runPass(): Promise<number> {
    const due = this.store
      .ids()
      .map((chunkId) => ({ chunkId, last: this.tasks.scrubbed.get(chunkId) ?? 0 }))
      .filter((c) => this.now() - c.last >= this.settings.periodMs)
      .sort((a, b) => a.last - b.last);
    let bad = 0;
    for (const { chunkId, last } of due) {
      if (this.abort.signal.aborted) break;
      this.passAtMs = Math.max(last, this.startedMs);
      const reason = await this.store.verify(chunkId, (n) => this.throttle(n));
      this.settings.onVerified?.();
      // Deleted by trash while being read: gone on purpose, not bad.
      if (reason && !this.store.has(chunkId)) continue;
      if (reason) {
        bad++;
        await this.condemn(chunkId, reason);
        await this.tasks.write(() => this.tasks.scrubbed.remove(chunkId));
      } else {
        await this.tasks.write(() => this.tasks.scrubbed.put(chunkId, this.now()));
      }
    }
    this.passAtMs = undefined;
    if (due.length > 0) this.logger.info({ verified: due.length, bad }, "scrub pass done");
    return bad;
  }

  private async loop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await this.runPass();
      await this.prune();
      await sleep(this.untilNextDue(), undefined, { signal: this.abort.signal });
    }
  }

  private windowStart = 0;
  private windowBytes = 0;

  /** Sleeps as needed to keep reads under the configured rate. */
  private async throttle(bytes: number): Promise<void> {
    const nowMs = this.now();
    if (nowMs - this.windowStart > 1000) {
      this.windowStart = nowMs;
      this.windowBytes = 0;
    }
    this.windowBytes += bytes;
    const aheadMs = (this.windowBytes / this.settings.bytesPerSecond) * 1000 - (nowMs - this.windowStart);
    if (aheadMs > 0) await sleep(aheadMs, undefined, { signal: this.abort.signal });
  }

  /** Until the next chunk is due; new chunks (never verified) are noticed within a period or a minute. */
  private untilNextDue(): number {
    let next = this.now() + this.settings.periodMs;
    for (const chunkId of this.store.ids()) {
      next = Math.min(next, (this.tasks.scrubbed.get(chunkId) ?? 0) + this.settings.periodMs);
    }
    return Math.max(100, Math.min(60_000, next - this.now()));
  }

  /** Forgets chunks no longer held. */
  private async prune(): Promise<void> {
    const held = new Set(this.store.ids());
    const gone = this.tasks.keys(this.tasks.scrubbed).filter((id) => !held.has(id));
    if (gone.length > 0) await this.tasks.write(() => gone.forEach((id) => this.tasks.scrubbed.remove(id)));
  }
}
