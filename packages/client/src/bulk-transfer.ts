import { setMaxListeners } from "node:events";
import { TrainfsError, toTrainfsError } from "@trainfs/core";
import type { FileStatus } from "./file-status.js";

/** One file of a bulk transfer: from `source` to `destination` (local or TrainFS paths, by direction). */
export interface TransferItem {
  source: string;
  destination: string;
  /** The file's size when known before it starts (for the set's total). */
  size?: number | undefined;
}

/** Where a bulk transfer stands: one report for the whole set. */
export interface TransferProgress {
  filesDone: number;
  filesTotal: number;
  /** Bytes acknowledged (put: stored on every replica; get: verified and written). */
  bytesDone: number;
  bytesTotal: number;
  /** Files under way now, with the bytes of each done so far. */
  inFlight: Array<{ source: string; destination: string; bytesDone: number; size: number | undefined }>;
  failed: number;
}

export interface BulkOptions {
  /**
   * Files moved at once. Default: up to 128 small files (1 MiB or less, size
   * known: a small file's transfer is mostly waiting on calls, which the
   * files queued behind it share) or 8 large or unmeasured ones (each also
   * moves several chunks at once), a large file taking the room of 16 small.
   */
  filesInFlight?: number | undefined;
  /** Replace existing destinations. */
  overwrite?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: TransferProgress) => void) | undefined;
  /**
   * true (the default): the first failure cancels the rest and is thrown.
   * false: every file is tried; failures are returned in `failed`.
   */
  stopOnError?: boolean | undefined;
}

export interface BulkResult {
  done: Array<{ source: string; destination: string; file: FileStatus }>;
  failed: Array<{ source: string; destination: string; error: TrainfsError }>;
}

/** A file at or under this size (and of known size) counts as small. */
const SMALL_FILE_BYTES = 1024 * 1024;
/** Small files in flight by default; measured in docs/performance.md (round 16). */
export const SMALL_FILES_IN_FLIGHT = 128;
/** Large or unmeasured files in flight by default. */
export const LARGE_FILES_IN_FLIGHT = 8;

/** A file's share of the default room for files in flight (SMALL_FILES_IN_FLIGHT). */
function defaultShare(item: TransferItem): number {
  return item.size !== undefined && item.size <= SMALL_FILE_BYTES ? 1 : SMALL_FILES_IN_FLIGHT / LARGE_FILES_IN_FLIGHT;
}

/**
 * Runs `transfer` for each item, as many at once as `filesInFlight` says,
 * with one progress report for the set. When `signal` aborts, the files under way
 * are cancelled (each put abandons its upload at once) and the promise
 * rejects with `canceled`; the last progress report names them.
 */
export async function runBulk(
  items: TransferItem[],
  transfer: (item: TransferItem, onBytes: (done: number) => void, signal: AbortSignal) => Promise<FileStatus>,
  o: BulkOptions,
): Promise<BulkResult> {
  const stop = new AbortController();
  // Every file in flight, and each of its chunks, listens to it.
  setMaxListeners(0, stop.signal);
  const abort = () => stop.abort(o.signal?.reason);
  if (o.signal?.aborted) abort();
  o.signal?.addEventListener("abort", abort, { once: true });
  const inFlight = new Map<TransferItem, number>();
  const progress: TransferProgress = {
    filesDone: 0,
    filesTotal: items.length,
    bytesDone: 0,
    bytesTotal: items.reduce((n, i) => n + (i.size ?? 0), 0),
    inFlight: [],
    failed: 0,
  };
  const report = () => {
    progress.inFlight = [...inFlight].map(([i, done]) => ({ source: i.source, destination: i.destination, bytesDone: done, size: i.size }));
    o.onProgress?.({ ...progress });
  };
  const result: BulkResult = { done: [], failed: [] };
  let firstError: TrainfsError | undefined;
  const one = async (item: TransferItem) => {
    inFlight.set(item, 0);
    report();
    try {
      const file = await transfer(
        item,
        (done) => {
          progress.bytesDone += done - (inFlight.get(item) ?? 0);
          inFlight.set(item, done);
          report();
        },
        stop.signal,
      );
      progress.bytesDone += file.size - (inFlight.get(item) ?? 0);
      if (item.size === undefined) progress.bytesTotal += file.size;
      progress.filesDone++;
      result.done.push({ source: item.source, destination: item.destination, file });
      inFlight.delete(item);
    } catch (err) {
      const error = toTrainfsError(err);
      // Cancelled: the file stays in the last report's inFlight, so the caller can name it.
      if (stop.signal.aborted) return void (firstError ??= error);
      progress.bytesDone -= inFlight.get(item) ?? 0;
      inFlight.delete(item);
      progress.failed++;
      if (o.stopOnError ?? true) {
        firstError ??= error;
        abort();
      } else {
        result.failed.push({ source: item.source, destination: item.destination, error });
      }
    }
    report();
  };
  // Files start in order while they fit in the room left. Unlike mapLimit,
  // every transfer is waited for, so that when this returns each cancelled
  // put has abandoned its upload.
  const room = o.filesInFlight ?? SMALL_FILES_IN_FLIGHT;
  const share = o.filesInFlight === undefined ? defaultShare : () => 1;
  let used = 0;
  let next = 0;
  let running = 0;
  try {
    await new Promise<void>((resolve) => {
      const fill = () => {
        while (!stop.signal.aborted && next < items.length) {
          const item = items[next]!;
          const taken = share(item);
          if (running > 0 && used + taken > room) break;
          next++;
          used += taken;
          running++;
          one(item)
            .catch((err: unknown) => {
              // Only a throwing onProgress gets here.
              firstError ??= toTrainfsError(err);
              abort();
            })
            .finally(() => {
              used -= taken;
              running--;
              fill();
            });
        }
        if (running === 0) resolve();
      };
      fill();
    });
  } finally {
    o.signal?.removeEventListener("abort", abort);
  }
  if (o.signal?.aborted) {
    throw new TrainfsError("canceled", `cancelled; ${progress.inFlight.length} file(s) under way were abandoned`, { cause: firstError });
  }
  if (firstError) throw firstError;
  return result;
}
