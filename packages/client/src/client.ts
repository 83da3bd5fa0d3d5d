import { randomBytes } from "node:crypto";
import { open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { basename, dirname, join } from "node:path";
import type { Client } from "@connectrpc/connect";
import { DataNodeService, NameNodeService } from "@trainfs/proto";
import { Crc32, RpcClients, TrainfsError, formatChecksum, sendChunk, toTrainfsError, validatePath, type SentChunk } from "@trainfs/common";
import { readChunkRange } from "./chunk-reader.js";
import { toClusterStatus, toDataNodeStatus, type ClusterStatus, type DataNodeStatus } from "./cluster-status.js";
import { toFileStatus, type FileStatus } from "./file-status.js";
import { toFsckReport, type FsckReport } from "./fsck.js";

export interface TrainfsClientOptions {
  /** NameNode base URL, e.g. http://127.0.0.1:9870. */
  namenode: string;
  /** Replicas per chunk for new files; the NameNode's default (3) when unset. */
  replication?: number;
  /** Chunk size in bytes for new files; the NameNode's default (64 MiB) when unset. */
  chunkSize?: number;
}

export interface TransferOptions {
  signal?: AbortSignal;
  /** Called as bytes move, with the bytes done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface PutOptions extends TransferOptions {
  replication?: number;
  chunkSize?: number;
}

export interface GetOptions extends TransferOptions {
  /** Replace an existing local file (default: refuse with AlreadyExists). */
  overwrite?: boolean;
}

/**
 * The TrainFS SDK. Every method throws TrainfsError, whose `code` is the
 * Connect code of the failure (not_found, already_exists, unavailable, ...).
 */
export class TrainfsClient {
  private readonly clients = new RpcClients();
  private readonly namenode: Client<typeof NameNodeService>;

  constructor(private readonly options: TrainfsClientOptions) {
    if (!/^https?:\/\/[^/]+/.test(options.namenode)) {
      throw new TrainfsError("invalid_argument", `NameNode address ${JSON.stringify(options.namenode)} is not an http(s) URL like http://127.0.0.1:9870`);
    }
    this.namenode = this.clients.client(NameNodeService, options.namenode);
  }

  /** Uploads a local file. The remote file appears only when every chunk is stored on all its replicas. */
  async put(localPath: string, remotePath: string, options: PutOptions = {}): Promise<FileStatus> {
    validatePath(remotePath);
    const size = await localFileSize(localPath);
    const { signal } = options;
    const plan = await this.call(() =>
      this.namenode.putFile(
        {
          path: remotePath,
          size: BigInt(size),
          replication: options.replication ?? this.options.replication ?? 0,
          chunkSize: BigInt(options.chunkSize ?? this.options.chunkSize ?? 0),
        },
        { signal },
      ),
    );
    let done = 0;
    const onBytes = (n: number) => options.onProgress?.((done += n), size);
    try {
      const sent: SentChunk[] = [];
      for (const chunk of plan.chunks) {
        const first = chunk.chain[0]!;
        sent.push(await sendChunk(this.clients.client(DataNodeService, first.address), localPath, chunk, { signal, onBytes }));
      }
      const res = await this.namenode.confirmFile(
        {
          path: remotePath,
          uploadId: plan.uploadId,
          chunks: sent.map((c) => ({ chunkId: c.chunkId, length: BigInt(c.length), checksum: c.checksum })),
        },
        { signal },
      );
      return toFileStatus(res.file!);
    } catch (err) {
      // Free the path at once rather than leaving it to the upload lease.
      await this.namenode.abandonFile({ path: remotePath, uploadId: plan.uploadId }).catch(() => {});
      throw toTrainfsError(err);
    }
  }

  /**
   * Downloads a file to a local path (or into a local directory). It is written
   * to a temporary file beside the target and renamed into place only once every
   * chunk verified, so a failed get leaves nothing behind.
   */
  async get(remotePath: string, localPath: string, options: GetOptions = {}): Promise<FileStatus> {
    validatePath(remotePath);
    const { signal } = options;
    const target = (await isDirectory(localPath)) ? join(localPath, basename(remotePath)) : localPath;
    if (!options.overwrite && (await exists(target))) {
      throw new TrainfsError("already_exists", `local file ${target} exists (use overwrite to replace it)`);
    }
    const res = await this.call(() => this.namenode.getFile({ path: remotePath }, { signal }));
    const file = toFileStatus(res.file!);
    const tmp = join(dirname(target), `.${basename(target)}.trainfs-${randomBytes(4).toString("hex")}.part`);
    const out = await open(tmp, "wx");
    let done = 0;
    const onBytes = (n: number) => options.onProgress?.((done += n), file.size);
    try {
      for (const chunk of res.chunks) {
        const crc = new Crc32();
        let position = Number(chunk.offset);
        for await (const data of readChunkRange(this.datanodeAt, chunk, 0, Number(chunk.length), { signal })) {
          await writeFully(out, data, position);
          position += data.length;
          crc.update(data);
          onBytes(data.length);
        }
        if (crc.digest() !== chunk.checksum) {
          throw new TrainfsError("data_loss", `chunk ${chunk.index} (${chunk.chunkId}): whole-chunk checksum mismatch (got ${formatChecksum(crc.digest())}, expected ${formatChecksum(chunk.checksum)})`);
        }
      }
      const { size } = await out.stat();
      if (size !== file.size) {
        throw new TrainfsError("data_loss", `${remotePath}: read ${size} bytes, but the file has ${file.size}`);
      }
      await out.sync();
      await out.close();
      await rename(tmp, target);
      return file;
    } catch (err) {
      await out.close().catch(() => {});
      await rm(tmp, { force: true });
      const e = toTrainfsError(err);
      throw new TrainfsError(e.code, `${remotePath}: ${e.message}`, { cause: err });
    }
  }

  /**
   * Streams bytes [start, end] (inclusive, like fs.createReadStream) of a
   * file, across chunk boundaries, every piece verified on arrival. A failing
   * replica is replaced by the next without repeating or skipping a byte.
   */
  createReadStream(remotePath: string, options: { start?: number; end?: number; signal?: AbortSignal } = {}): Readable {
    validatePath(remotePath);
    const self = this;
    async function* bytes(): AsyncGenerator<Buffer> {
      const res = await self.call(() => self.namenode.getFile({ path: remotePath }, { signal: options.signal }));
      const size = Number(res.file!.size);
      const start = options.start ?? 0;
      const end = Math.min(options.end ?? size - 1, size - 1) + 1;
      if (!Number.isSafeInteger(start) || start < 0 || (options.end !== undefined && options.end < start - 1)) {
        throw new TrainfsError("invalid_argument", `invalid range start=${options.start} end=${options.end}`);
      }
      for (const chunk of res.chunks) {
        const offset = Number(chunk.offset);
        const from = Math.max(start, offset) - offset;
        const to = Math.min(end, offset + Number(chunk.length)) - offset;
        if (from >= to) continue;
        try {
          yield* readChunkRange(self.datanodeAt, chunk, from, to, { signal: options.signal });
        } catch (err) {
          const e = toTrainfsError(err);
          throw new TrainfsError(e.code, `${remotePath}: ${e.message}`, { cause: err });
        }
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  /** Entries of a directory sorted by name, or the one file at `remotePath`. */
  async list(remotePath: string, options: { signal?: AbortSignal } = {}): Promise<FileStatus[]> {
    validatePath(remotePath);
    const res = await this.call(() => this.namenode.list({ path: remotePath }, options));
    return res.entries.map(toFileStatus);
  }

  /**
   * Deletes a file (or an empty directory). The namespace forgets it at once;
   * its chunks leave the DataNodes' disks shortly after, through trash.
   */
  async rm(remotePath: string, options: { signal?: AbortSignal } = {}): Promise<{ chunkCount: number }> {
    validatePath(remotePath);
    const res = await this.call(() => this.namenode.deleteFile({ path: remotePath }, options));
    return { chunkCount: res.chunkCount };
  }

  /** Every DataNode and the health of the cluster, for operators. */
  async clusterStatus(options: { signal?: AbortSignal } = {}): Promise<ClusterStatus> {
    return toClusterStatus(await this.call(() => this.namenode.clusterStatus({}, options)));
  }

  /** Each file's chunks under `remotePath` and the state of every replica. */
  async fsck(remotePath = "/", options: { signal?: AbortSignal } = {}): Promise<FsckReport> {
    validatePath(remotePath);
    return toFsckReport(await this.call(() => this.namenode.fsck({ path: remotePath }, options)));
  }

  /** Starts draining a DataNode (by id or address); see ClusterStatus for progress. */
  async decommission(datanode: string): Promise<DataNodeStatus> {
    const res = await this.call(() => this.namenode.decommissionDataNode({ datanode }));
    return toDataNodeStatus(res.datanode!);
  }

  /** Returns a draining or drained DataNode to service. */
  async recommission(datanode: string): Promise<DataNodeStatus> {
    const res = await this.call(() => this.namenode.recommissionDataNode({ datanode }));
    return toDataNodeStatus(res.datanode!);
  }

  /** Closes the client's connections. */
  close(): void {
    this.clients.close();
  }

  private readonly datanodeAt = (address: string) => this.clients.client(DataNodeService, address);

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTrainfsError(err);
    }
  }
}

async function localFileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new TrainfsError("invalid_argument", `local path ${path} is not a regular file`);
    return s.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new TrainfsError("not_found", `local file ${path} does not exist`);
    throw err;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function writeFully(out: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await out.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}
