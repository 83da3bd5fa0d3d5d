import { Code, ConnectError } from "@connectrpc/connect";
import type { StoredChunk } from "./chunk-store.js";

/** Sends commits for several chunks in one call; an outcome per chunk, in order (code 0 = recorded). */
export type SendCommits = (chunks: StoredChunk[]) => Promise<Array<{ code: number; message: string }>>;

const MAX_BATCH = 1000;

interface Waiting {
  chunk: StoredChunk;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * A DataNode's commits to the NameNode, one call in flight at a time: a
 * commit is sent at once when the line is free, and the commits that arrive
 * while a call is in flight go together in the next call (group commit, as
 * LMDB does for transactions). Alone, a commit costs what it did; under many
 * concurrent writes, a Connect call (about 1.5 ms of CPU on each side) and a
 * NameNode transaction serve many chunks. Each caller still learns whether
 * its own chunk was recorded before it answers upstream.
 */
export class CommitBatcher {
  private queue: Waiting[] = [];
  private sending = false;

  constructor(private readonly send: SendCommits) {}

  /** Resolves once the NameNode recorded the chunk; rejects with its refusal (a ConnectError). */
  commit(chunk: StoredChunk): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunk, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          const results = await this.send(batch.map((w) => w.chunk));
          batch.forEach((w, i) => {
            const r = results[i];
            if (!r) w.reject(new ConnectError(`the NameNode gave no outcome for the commit of chunk ${w.chunk.chunkId}`, Code.Internal));
            else if (r.code === 0) w.resolve();
            else w.reject(new ConnectError(r.message, r.code as Code));
          });
        } catch (err) {
          for (const w of batch) w.reject(err);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
