import { errorMessage, type Logger } from "@trainfs/common";
import { checkChunkId, type ChunkStore } from "./chunk-store.js";
import type { TaskStore } from "./task-store.js";

/**
 * Carries out the NameNode's `trash_chunk_names`: each name is persisted
 * before anything is deleted, deleted (deleting a chunk that is already gone
 * succeeds), and then kept as "deleted" until a heartbeat has told the
 * NameNode. A restart resumes whatever was received and not finished.
 */
export class TrashWorker {
  private draining: Promise<void> | undefined;

  constructor(
    private readonly tasks: TaskStore,
    private readonly chunks: ChunkStore,
    private readonly logger: Logger,
  ) {}

  async accept(chunkIds: readonly string[]): Promise<void> {
    const valid = chunkIds.filter((id) => {
      try {
        checkChunkId(id);
        return true;
      } catch {
        this.logger.warn({ chunkId: id.slice(0, 64) }, "ignoring a malformed chunk id in trash");
        return false;
      }
    });
    if (valid.length === 0) return;
    const nowMs = Date.now();
    await this.tasks.write(() => {
      for (const id of valid) this.tasks.trash.put(id, nowMs);
    });
    this.resume();
  }

  /** Starts deleting what is pending, unless already at it. */
  resume(): void {
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Resolves when nothing is left to delete (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Chunks deleted since the NameNode was last told. */
  confirmations(): string[] {
    return this.tasks.keys(this.tasks.deleted, 10_000);
  }

  async confirmed(chunkIds: readonly string[]): Promise<void> {
    if (chunkIds.length === 0) return;
    await this.tasks.write(() => {
      for (const id of chunkIds) this.tasks.deleted.remove(id);
    });
  }

  private async drain(): Promise<void> {
    for (let batch = this.tasks.keys(this.tasks.trash, 256); batch.length > 0; batch = this.tasks.keys(this.tasks.trash, 256)) {
      const done: string[] = [];
      for (const chunkId of batch) {
        try {
          await this.chunks.delete(chunkId);
          done.push(chunkId);
        } catch (err) {
          this.logger.error({ chunkId, err: errorMessage(err) }, "cannot delete chunk; will retry");
        }
      }
      const nowMs = Date.now();
      await this.tasks.write(() => {
        for (const id of done) {
          this.tasks.trash.remove(id);
          this.tasks.deleted.put(id, nowMs);
        }
      });
      if (done.length === 0) {
        await new Promise((r) => setTimeout(r, 1000));
      } else {
        this.logger.info({ deleted: done.length }, "trash: chunks deleted");
      }
    }
  }
}
