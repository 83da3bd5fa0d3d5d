import type { Client } from "@connectrpc/connect";
import type { DataNodeService, ClientService } from "@trainfs/proto";
import { TrainfsError, crc32Update, toTrainfsError } from "@trainfs/core";
import { readFromReplicas } from "../replica-reader.js";

export interface WebGetOptions {
  signal?: AbortSignal;
  /** Bytes received and verified so far, and the file's size. */
  onProgress?: (done: number, total: number) => void;
}

export interface WebReaderDeps {
  namenode: Client<typeof ClientService>;
  datanodeAt: (address: string) => Client<typeof DataNodeService>;
  headers: Record<string, string>;
}

const crc32 = (data: Uint8Array) => crc32Update(data);

/**
 * A whole file into memory, for a browser: GetFile, then each chunk with the
 * server-streaming ReadChunk (binary format: JSON would base64 every byte),
 * through the same replica reader as the Node SDK (every piece verified,
 * failover to the next replica, fresh tokens when they expire), and each
 * chunk checked whole against the checksum the NameNode holds.
 */
export async function webReadFile(d: WebReaderDeps, path: string, o: WebGetOptions): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for await (const data of webReadStream(d, path, o)) parts.push(data);
  return parts;
}

/**
 * The same read, piece by piece as the bytes arrive and are verified, for a
 * download that streams to disk: nothing is kept once handed on. A chunk's
 * whole checksum is checked after its last piece is handed on, so a consumer
 * that must not keep a bad file discards it when the stream fails.
 */
export async function* webReadStream(d: WebReaderDeps, path: string, o: WebGetOptions): AsyncGenerator<Uint8Array> {
  const call = { signal: o.signal, headers: d.headers };
  const getFile = () =>
    d.namenode.getFile({ path }, call).catch((err: unknown) => {
      throw toTrainfsError(err);
    });
  const res = await getFile();
  const size = Number(res.file!.size);
  let done = 0;
  for (const chunk of res.chunks) {
    const refresh = async () => {
      const fresh = (await getFile()).chunks.find((c) => c.chunkId === chunk.chunkId);
      if (!fresh) throw new TrainfsError("aborted", `${path} changed while it was being read`);
      return fresh;
    };
    let crc = 0;
    try {
      for await (const data of readFromReplicas(d.datanodeAt, chunk, 0, Number(chunk.length), crc32, { ...call, refresh })) {
        crc = crc32Update(data, crc);
        // Counted outside the optional call: `f?.(x += n)` skips the `+=` when f is unset.
        done += data.length;
        o.onProgress?.(done, size);
        yield data;
      }
    } catch (err) {
      const e = toTrainfsError(err);
      throw new TrainfsError(e.code, `${path}: ${e.message}`, { cause: err });
    }
    if (crc !== chunk.checksum) {
      throw new TrainfsError("data_loss", `${path}: chunk ${chunk.index} (${chunk.chunkId}) does not match its checksum as a whole`);
    }
  }
  if (done !== size) throw new TrainfsError("data_loss", `${path}: read ${done} bytes, but the file has ${size}`);
}
