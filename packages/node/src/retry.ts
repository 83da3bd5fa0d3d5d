import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { isFailoverExhausted } from "@trainfs/core";

export interface RetryOptions {
  /** Tries in all, the first included (default 4). */
  attempts?: number;
  /** First pause; doubled after each failure, with jitter (default 200 ms). */
  baseDelayMs?: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs `call` again while it fails with Unavailable (a node restarting, a
 * connection refused), pausing longer each time. Only for calls that are safe
 * to repeat: reads, or writes that are idempotent. A call that already
 * looked for an active NameNode for the whole failover time is not repeated.
 */
export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const unavailable = err instanceof ConnectError && err.code === Code.Unavailable;
      if (!unavailable || isFailoverExhausted(err) || attempt >= attempts || options.signal?.aborted) throw err;
      await sleep(base * 2 ** (attempt - 1) * (0.5 + Math.random() / 2), undefined, { signal: options.signal });
    }
  }
}
