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
   * Files moved at once. Default: 16 when every file's size is known and
   * they average 1 MiB or less (a small file's transfer is mostly waiting on
   * calls), otherwise 8 (each large file also moves several chunks at once).
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

/** A mean size at or under which a set counts as small files. */
const SMALL_FILES_MEAN_BYTES = 1024 * 1024;

/** BulkOptions.filesInFlight when not given; measured in docs/performance.md (round 11). */
export function defaultFilesInFlight(items: readonly TransferItem[]): number {
  let bytes = 0;
  for (const i of items) {
    if (i.size === undefined) return 8;
    bytes += i.size;
  }
  return bytes <= SMALL_FILES_MEAN_BYTES * items.length ? 16 : 8;
}

/**
 * Runs `transfer` for each item, `filesInFlight` at a time, with one
 * progress report for the set. When `signal` aborts, the files under way
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
  // Unlike mapLimit, every worker is waited for, so that when this returns
  // each cancelled put has abandoned its upload.
  let next = 0;
  const worker = async () => {
    while (!stop.signal.aborted && next < items.length) await one(items[next++]!);
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.filesInFlight ?? defaultFilesInFlight(items), items.length)) }, worker));
  } finally {
    o.signal?.removeEventListener("abort", abort);
  }
  if (o.signal?.aborted) {
    throw new TrainfsError("canceled", `cancelled; ${progress.inFlight.length} file(s) under way were abandoned`, { cause: firstError });
  }
  if (firstError) throw firstError;
  return result;
}
