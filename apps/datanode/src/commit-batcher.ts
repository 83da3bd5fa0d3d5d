import { Code, ConnectError } from "@connectrpc/connect";
import type { StoredChunk } from "./chunk-store.js";

/** Sends commits for several chunks in one call; an outcome per chunk, in order (code 0 = recorded). */
export type SendCommits = (chunks: StoredChunk[]) => Promise<Array<{ code: number; message: string }>>;

export interface CommitBatcherOptions {
  /** How long a report waits for others to share its call (default 250 ms). */
  reportDelayMs?: number;
  /** First wait before reports are sent again after a failed call; doubles up to 30 s (default 1 s). */
  retryDelayMs?: number;
  /** The NameNode refused a report (e.g. NotFound: no file or write owns the chunk). */
  onRefused?: (chunk: StoredChunk, err: ConnectError) => void;
  /**
   * Whether the node still holds a chunk; a report is dropped, not sent, once
   * its copy was deleted or quarantined meanwhile (it would record a replica
   * that is gone).
   */
  isHeld?: (chunkId: string) => boolean;
}

const MAX_BATCH = 1000;
const MAX_RETRY_DELAY_MS = 30_000;
/** Reports kept for a NameNode that cannot be reached; the full report at the next registration covers the rest. */
const MAX_HELD_REPORTS = 100_000;

interface Waiting {
  chunk: StoredChunk;
  report: boolean;
  /** undefined: recorded; otherwise the refusal, or the call's failure. */
  settle: (err: ConnectError | undefined, callFailed: boolean) => void;
}

/**
 * A DataNode's commits to the NameNode, one call in flight at a time (group
 * commit, as LMDB does for transactions): under many concurrent writes one
 * Connect call and one NameNode transaction serve many chunks.
 *
 * Two kinds of callers. `commit` is awaited (a browser's part upload):
 * it is sent at once when the line is free and the caller learns its own
 * outcome. `report` is not (a chunk received through a chain, which the
 * client's ConfirmFile already vouches for with its receipts, as HDFS's
 * incremental block reports): it waits a little for company, is sent again
 * after a failed call, and a refusal goes to `onRefused`.
 */
export class CommitBatcher {
  private queue: Waiting[] = [];
  /** Reports whose call failed, until the next attempt. */
  private held: Waiting[] = [];
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private closed = false;

  constructor(
    private readonly send: SendCommits,
    private readonly options: CommitBatcherOptions = {},
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 1000;
  }

  /** Resolves once the NameNode recorded the chunk; rejects with its refusal (a ConnectError). */
  commit(chunk: StoredChunk): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunk, report: false, settle: (err) => (err ? reject(err) : resolve()) });
      this.drainNow();
    });
  }

  /** Tells the NameNode in the background; never throws. */
  report(chunk: StoredChunk): void {
    if (this.closed) return;
    const waiting: Waiting = {
      chunk,
      report: true,
      settle: (err, callFailed) => {
        if (!err) return;
        if (!callFailed) this.options.onRefused?.(chunk, err);
        else if (!this.closed && this.held.length < MAX_HELD_REPORTS) this.held.push(waiting);
      },
    };
    this.queue.push(waiting);
    this.drainLater(this.options.reportDelayMs ?? 250);
  }

  /** Reports not yet sent, or waiting to be sent again (read at each scrape of /metrics). */
  get pendingReports(): number {
    return this.queue.filter((w) => w.report).length + this.held.length;
  }

  /** Drops reports not yet sent (the full report at the next registration covers them). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.queue = this.queue.filter((w) => !w.report);
    this.held = [];
  }

  private drainNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.sending) void this.drain();
  }

  private drainLater(delayMs: number): void {
    if (this.sending || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, delayMs).unref();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    let failed = false;
    const isHeld = this.options.isHeld ?? (() => true);
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH).filter((w) => !w.report || isHeld(w.chunk.chunkId));
        if (batch.length === 0) continue;
        try {
          const results = await this.send(batch.map((w) => w.chunk));
          batch.forEach((w, i) => {
            const r = results[i];
            if (!r) w.settle(new ConnectError(`the NameNode gave no outcome for the commit of chunk ${w.chunk.chunkId}`, Code.Internal), false);
            else w.settle(r.code === 0 ? undefined : new ConnectError(r.message, r.code as Code), false);
          });
        } catch (err) {
          failed = true;
          for (const w of batch) w.settle(ConnectError.from(err), true);
        }
      }
    } finally {
      this.sending = false;
    }
    if (!failed) this.retryDelayMs = this.options.retryDelayMs ?? 1000;
    if (this.held.length === 0 || this.closed) return;
    // Failed reports go again after a pause that grows while the NameNode stays away.
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(MAX_RETRY_DELAY_MS, delay * 2);
    this.queue.unshift(...this.held);
    this.held = [];
    this.drainLater(delay);
  }
}
