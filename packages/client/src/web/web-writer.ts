import type { Client } from "@connectrpc/connect";
import type { ClientService, DataNodeService, FileInfo } from "@trainfs/proto";
import { clientWriteCalls, writeFile } from "@trainfs/core";
import { partSender } from "./part-sender.js";

export interface WebPutOptions {
  overwrite?: boolean;
  replication?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  /** Bytes acknowledged by the DataNodes so far, and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface WebWriterDeps {
  namenode: Client<typeof ClientService>;
  datanodeAt: (address: string) => Client<typeof DataNodeService>;
  partSize: number;
  concurrency: number;
  /** Headers of every call of one operation (its request id). */
  headers: Record<string, string>;
}

/** What `put` takes in a browser: a File or Blob, or bytes. */
export type WebPutSource = Blob | Uint8Array;

/**
 * A write from a browser: @trainfs/core's write driver (the same recovery,
 * lease renewal, confirm and abandon as the Node SDK) over the
 * WriteChunkPart sender, reading a Blob a part at a time.
 */
export function webWriteFile(d: WebWriterDeps, source: WebPutSource, path: string, o: WebPutOptions): Promise<FileInfo> {
  const size = source instanceof Uint8Array ? source.byteLength : source.size;
  const read = async (start: number, end: number): Promise<Uint8Array> =>
    source instanceof Uint8Array ? source.subarray(start, end) : new Uint8Array(await source.slice(start, end).arrayBuffer());
  const { onProgress } = o;
  return writeFile(
    clientWriteCalls(d.namenode, (signal) => ({ signal, headers: d.headers })),
    { size, concurrency: d.concurrency, sender: partSender(d.datanodeAt, read, d.partSize, d.headers) },
    path,
    { ...o, onProgress: onProgress && ((done) => onProgress(done, size)) },
  );
}
