import type { Logger } from "@trainfs/common";
import type { MetadataStore } from "../metadata-store.js";
import type { ReplicationMonitor } from "./replication-monitor.js";

/**
 * Once safe mode ends, every complete file's chunk gets its replica count
 * checked once (HDFS's scan of mis-replicated blocks), so chunks that lost
 * copies while the NameNode was down join the replication queue. The chunk
 * table is walked in key order, a batch per transaction, resuming after the
 * last key: neither memory nor any one transaction grows with the table, and
 * requests are served between batches. Rounds of replication run meanwhile on
 * what is queued so far. It runs again when a zone comes back, since chunks
 * written while it was away are misplaced and nothing else looks at them.
 */
export class ReplicationScan {
  private running: Promise<void> | undefined;
  private stopped = false;
  private scanned = 0;
  private finished = false;
  /** Another pass was asked for while one was under way. */
  private again = false;

  constructor(
    private readonly store: MetadataStore,
    private readonly replication: ReplicationMonitor,
    private readonly logger: Logger,
    private readonly batchSize = 2000,
  ) {}

  /** Starts a pass in the background, or another one after the pass under way; `stop` or `whenDone` wait for it. */
  start(): void {
    // A NameNode that stopped being the active one may become it again.
    this.stopped = false;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.passes()
      .catch((err: unknown) => this.logger.error({ err }, "replication scan failed"))
      .finally(() => (this.running = undefined));
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      await this.run();
    } while (this.again && !this.stopped);
  }

  /** Resolves when the scan has covered every chunk (or was stopped). */
  async whenDone(): Promise<void> {
    await this.running;
  }

  get progress(): { scanned: number; done: boolean } {
    return { scanned: this.scanned, done: this.finished };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<void> {
    const startedMs = Date.now();
    this.scanned = 0;
    this.finished = false;
    let after: string | undefined;
    while (!this.stopped) {
      const batch = await this.store.write(() => {
        let count = 0;
        let last: string | undefined;
        for (const { key, value } of this.store.chunks.getRange(after === undefined ? {} : { start: after })) {
          if (key === after) continue;
          if (value.inodeId !== undefined) this.replication.recheck(key);
          last = key;
          if (++count >= this.batchSize) break;
        }
        return { count, last };
      });
      this.scanned += batch.count;
      if (batch.last === undefined) {
        this.finished = true;
        this.logger.info({ chunks: this.scanned, ms: Date.now() - startedMs }, "replication scan done: every chunk's replica count checked");
        return;
      }
      after = batch.last;
    }
  }
}
