import { mkdir as mkdirLocal, stat as statLocal } from "node:fs/promises";
import { PassThrough, Writable, type Readable } from "node:stream";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient, createContextValues, type Client } from "@connectrpc/connect";
import { AdminService, ClientService, type ConfirmFileRequest, type ConfirmFileResponse, type DeleteFileRequestSchema, type DeleteFileResponse, type GetFileResponse, type PutFileRequest, type PutFileResponse } from "@trainfs/proto";
import { CallBatcher } from "./call-batcher.js";
import { REPEATABLE_CALL, TrainfsError, crc32Combine, formatChecksum, joinPath, newRequestId, parseNameNodeAddresses, fileCondition, toTrainfsError, validatePath, type NameNodeFailover, type FileCondition } from "@trainfs/core";
import { RpcClients, currentRequestId, withRequestId, withRetry } from "@trainfs/node";
import { runBulk, type BulkOptions, type BulkResult, type TransferItem } from "./bulk-transfer.js";
import { expandGlob } from "./glob.js";
import { localTree } from "./local-tree.js";
import {
  toBalancerStatus,
  toClusterStatus,
  toDataNodeStatus,
  toHaStatus,
  toSafeModeStatus,
  type BalancerStatus,
  type HaStatus,
  type ClusterStatus,
  type DataNodeStatus,
  type SafeModeStatus,
} from "./cluster-status.js";
import { openFile, rangeBytes, readRange, readToFile, type GetFileQuery, type OpenedFile, type ReadOptions } from "./file-reader.js";
import { toFileStatus, type FileStatus } from "./file-status.js";
import { writeFile, type PutSource, type WriteOptions } from "./file-writer.js";
import { toFsckReport, type FsckReport } from "./fsck.js";

export interface TrainfsClientOptions {
  /**
   * NameNode base URL, e.g. http://127.0.0.1:9870; with high availability,
   * every NameNode of the cluster (an array, or URLs separated by commas):
   * calls go to the active one and follow a failover by themselves.
   */
  namenode: string | readonly string[];
  /**
   * With several NameNodes: how long a call keeps looking for the active one
   * (one down, an election under way) before failing with `unavailable`
   * (default 30 s).
   */
  failoverTimeoutMs?: number;
  /** Told each time calls move to another NameNode (to log it). */
  onNameNodeSwitch?: (from: string, to: string, reason: string) => void;
  /** Replicas per chunk for new files; the NameNode's default (3) when unset. */
  replication?: number;
  /** Chunk size in bytes for new files; the NameNode's default (64 MiB) when unset. */
  chunkSize?: number;
  /** Chunks moved at once by put and get (default 4). */
  concurrency?: number;
  /** A chunk transfer that makes no progress for this long fails over or fails (default 60 s). */
  idleTimeoutMs?: number;
  /** API token for a NameNode that requires one (sent as `authorization: Bearer <token>`). */
  token?: string | undefined;
  /** Trusted certificates (PEM) for https addresses with a private CA. */
  ca?: Buffer | string | undefined;
}

export type PutOptions = WriteOptions;
export type GetOptions = ReadOptions;
export interface CallOptions {
  signal?: AbortSignal;
}

type DeleteFileQuery = MessageInitShape<typeof DeleteFileRequestSchema>;

/** Options of putMany/putTree: those of a bulk transfer and of each put. */
export type PutManyOptions = BulkOptions & Pick<PutOptions, "replication" | "chunkSize" | "concurrency">;
/** Options of getMany/getTree: those of a bulk transfer and of each get. */
export type GetManyOptions = BulkOptions & Pick<GetOptions, "concurrency" | "fsync">;

/**
 * A file's checksum that does not depend on how it was cut into chunks:
 * the CRC-32 (zlib's) of the whole content, folded from the chunks'
 * CRC-32s and lengths (like HDFS's COMPOSITE-CRC), so no byte is read.
 * Equal files have equal checksums whatever their chunk sizes.
 */
export interface FileChecksum {
  path: string;
  algorithm: "COMPOSITE-CRC32";
  /** 8 hex digits. */
  checksum: string;
  bytes: number;
}

export interface ContentSummary {
  files: number;
  directories: number;
  /** Bytes of file content. */
  bytes: number;
  /** Bytes on the DataNodes' disks: each file's size times its replication. */
  spaceConsumed: number;
}

/** A write that may be sent again to another NameNode after a lost answer (it has the same effect twice). */
function repeatable() {
  return createContextValues().set(REPEATABLE_CALL, true);
}

/** The request id of the operation under way (withRequestId), or a new one. */
function operationId(): string {
  return currentRequestId() ?? newRequestId();
}

/** A NameNode call and its batched form (PutFile and PutFiles, ...), whose results carry the single call's answer as `file`. */
function batcher<Req, Res>(
  single: (req: Req, options: { signal: AbortSignal | undefined }) => Promise<Res>,
  batch: (req: { files: Req[]; requestIds: string[] }) => Promise<{ results: Array<{ code: number; message: string; file?: Res | undefined }> }>,
): CallBatcher<Req, Res> {
  return new CallBatcher<Req, Res>({
    single: (req, signal) => single(req, { signal }),
    batch: async (files, requestIds) => (await batch({ files, requestIds })).results.map((r) => ({ ...r, answer: r.file })),
  });
}

async function localSize(path: string): Promise<number | undefined> {
  return statLocal(path).then((s) => s.size, () => undefined);
}

/**
 * The TrainFS SDK. Every method throws TrainfsError, whose `code` is the
 * Connect code of the failure (not_found, already_exists, unavailable, ...),
 * takes an AbortSignal, and retries reads with backoff while the NameNode is
 * unavailable. Nothing buffers a whole file.
 */
export class TrainfsClient {
  // The API token goes to the NameNode only; DataNodes are given per-chunk access tokens instead.
  private readonly nameNodeClients: RpcClients;
  private readonly dataNodeClients: RpcClients;
  private readonly nameNodes: NameNodeFailover;
  private readonly namenode: Client<typeof ClientService>;
  private readonly admin: Client<typeof AdminService>;
  private readonly datanodeAt = (address: string) => this.dataNodeClients.dataNode(address);
  // Operations in flight together share their NameNode calls: a call made
  // while its kind is already in flight waits and goes in the next batch.
  private readonly putFiles = batcher<PutFileRequest, PutFileResponse>((r, o) => this.namenode.putFile(r, o), (b) => this.namenode.putFiles(b));
  private readonly confirmFiles = batcher<ConfirmFileRequest, ConfirmFileResponse>((r, o) => this.namenode.confirmFile(r, o), (b) => this.namenode.confirmFiles(b));
  private readonly getFiles = batcher<GetFileQuery, GetFileResponse>((r, o) => this.namenode.getFile(r, o), (b) => this.namenode.getFiles(b));
  private readonly deleteFiles = batcher<DeleteFileQuery, DeleteFileResponse>((r, o) => this.namenode.deleteFile(r, o), (b) => this.namenode.deleteFiles(b));

  constructor(private readonly options: TrainfsClientOptions) {
    const addresses = parseNameNodeAddresses(options.namenode);
    const ca = typeof options.ca === "string" ? Buffer.from(options.ca) : options.ca;
    this.nameNodeClients = new RpcClients({ token: options.token, ca });
    this.dataNodeClients = new RpcClients({ ca });
    this.nameNodes = this.nameNodeClients.nameNodes(addresses, { timeoutMs: options.failoverTimeoutMs, onSwitch: options.onNameNodeSwitch });
    this.namenode = createClient(ClientService, this.nameNodes);
    this.admin = createClient(AdminService, this.nameNodes);
  }

  /**
   * Uploads a local file (by path), bytes, or a stream of unknown length. The
   * remote file appears only when every chunk is stored on all its replicas;
   * with `overwrite`, it replaces the old one atomically at that moment.
   */
  async put(source: PutSource, remotePath: string, options: PutOptions = {}): Promise<FileStatus> {
    validatePath(remotePath);
    // One request id for every call of the put, on every node it reaches.
    return withRequestId(operationId(), () => writeFile(this.parts, source, remotePath, this.writeDefaults(options)));
  }

  /** Writes bytes (or a string, as UTF-8) to a remote file. */
  writeFile(remotePath: string, data: Uint8Array | string, options: PutOptions = {}): Promise<FileStatus> {
    return this.put(typeof data === "string" ? Buffer.from(data) : data, remotePath, options);
  }

  /**
   * A Writable whose bytes become the remote file, of any length; the file
   * appears when the stream finishes (its "finish" event), not before.
   */
  createWriteStream(remotePath: string, options: PutOptions = {}): Writable {
    validatePath(remotePath);
    const pass = new PassThrough();
    const done = withRequestId(operationId(), () => writeFile(this.parts, pass, remotePath, this.writeDefaults(options)));
    const out = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (pass.write(chunk)) callback();
        else pass.once("drain", () => callback());
      },
      final(callback) {
        pass.end();
        done.then(() => callback(), (err: Error) => callback(err));
      },
      destroy(err, callback) {
        pass.destroy(err ?? new TrainfsError("canceled", "the write stream was destroyed"));
        callback(err);
      },
    });
    done.catch((err: Error) => out.destroy(err));
    return out;
  }

  /** Downloads a file to a local path (or into a local directory); nothing is left behind on failure. */
  async get(remotePath: string, localPath: string, options: GetOptions = {}): Promise<FileStatus> {
    validatePath(remotePath);
    return withRequestId(operationId(), () => readToFile(this.parts, remotePath, localPath, { concurrency: this.options.concurrency, ...options }));
  }

  /**
   * Uploads many local files, `filesInFlight` at a time (small ones share
   * their NameNode calls), with one progress report for the set. See
   * BulkOptions for failures and cancellation.
   */
  async putMany(items: Array<{ local: string; remote: string }>, options: PutManyOptions = {}): Promise<BulkResult> {
    const list: TransferItem[] = [];
    for (const i of items) {
      validatePath(i.remote);
      list.push({ source: i.local, destination: i.remote, size: await localSize(i.local) });
    }
    const { replication, chunkSize, concurrency, overwrite } = options;
    return runBulk(list, (item, onBytes, signal) =>
      this.put(item.source, item.destination, { replication, chunkSize, concurrency, overwrite, signal, onProgress: (done) => onBytes(done) }), options);
  }

  /**
   * Uploads a local directory tree to `remoteDir` (created with its missing
   * parents): every subdirectory, empty ones too, and every regular file.
   */
  async putTree(localDir: string, remoteDir: string, options: PutManyOptions = {}): Promise<BulkResult> {
    validatePath(remoteDir);
    const tree = await localTree(localDir);
    await this.mkdir(remoteDir, { parents: true, signal: options.signal });
    for (const dir of tree.directories) await this.mkdir(joinPath(remoteDir, dir), { parents: true, signal: options.signal });
    return this.putMany(tree.files.map((f) => ({ local: `${localDir}/${f}`, remote: joinPath(remoteDir, f) })), options);
  }

  /** Downloads many files, `filesInFlight` at a time, with one progress report for the set. */
  async getMany(items: Array<{ remote: string; local: string; size?: number }>, options: GetManyOptions = {}): Promise<BulkResult> {
    const { concurrency, fsync, overwrite } = options;
    return runBulk(
      items.map((i) => ({ source: i.remote, destination: i.local, size: i.size })),
      (item, onBytes, signal) => this.get(item.source, item.destination, { concurrency, fsync, overwrite: overwrite ?? false, signal, onProgress: (done) => onBytes(done) }),
      options,
    );
  }

  /** Downloads the tree under `remoteDir` into `localDir` (created if missing), empty directories too. */
  async getTree(remoteDir: string, localDir: string, options: GetManyOptions = {}): Promise<BulkResult> {
    const entries = await this.listTree(remoteDir, options);
    const rel = (p: string) => p.slice(remoteDir.replace(/\/+$/, "").length + 1);
    await mkdirLocal(localDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new TrainfsError(err.code === "EACCES" ? "permission_denied" : "failed_precondition", `cannot create local directory ${localDir}: ${err.code ?? err.message}`);
    });
    for (const e of entries) if (e.type === "directory") await mkdirLocal(`${localDir}/${rel(e.path)}`, { recursive: true });
    const files = entries.filter((e) => e.type === "file");
    return this.getMany(files.map((f) => ({ remote: f.path, local: `${localDir}/${rel(f.path)}`, size: f.size })), options);
  }

  /**
   * Copies files within TrainFS, `filesInFlight` at a time: each is read
   * (verified) and written anew, appearing only once complete.
   */
  async copyMany(items: Array<{ source: string; destination: string; size?: number }>, options: PutManyOptions = {}): Promise<BulkResult> {
    const { replication, chunkSize, overwrite } = options;
    return runBulk(
      items.map((i) => ({ source: i.source, destination: i.destination, size: i.size })),
      (item, onBytes, signal) =>
        this.put(this.createReadStream(item.source, { signal }), item.destination, { replication, chunkSize, overwrite, signal, onProgress: (done) => onBytes(done) }),
      options,
    );
  }

  /** Every entry under a directory, depth first, sorted by name within each directory. */
  async listTree(remotePath: string, options: CallOptions = {}): Promise<FileStatus[]> {
    const out: FileStatus[] = [];
    for (const entry of await this.list(remotePath, options)) {
      if (entry.path === remotePath) continue;
      out.push(entry);
      if (entry.type === "directory") out.push(...(await this.listTree(entry.path, options)));
    }
    return out;
  }

  /**
   * The paths a glob matches (`*`, `?`, `[...]`, `{a,b}` in any part;
   * a backslash escapes), found by listing on the NameNode, sorted. A path
   * without glob characters is simply stat'ed. Throws not_found when
   * nothing matches.
   */
  async glob(pattern: string, options: CallOptions = {}): Promise<FileStatus[]> {
    return expandGlob({ list: (p) => this.list(p, options), stat: (p) => this.stat(p, options) }, pattern);
  }

  /** The file's COMPOSITE-CRC32 checksum (see FileChecksum), from the chunks' checksums on record. */
  async checksum(remotePath: string, options: CallOptions = {}): Promise<FileChecksum> {
    validatePath(remotePath);
    const res = await this.read(() => this.getFiles.call({ path: remotePath }, options.signal), options);
    let crc = 0;
    for (const c of [...res.chunks].sort((a, b) => a.index - b.index)) crc = crc32Combine(crc, c.checksum, Number(c.length));
    return { path: res.file!.path, algorithm: "COMPOSITE-CRC32", checksum: formatChecksum(crc), bytes: Number(res.file!.size) };
  }

  /** Streams bytes [start, end] (inclusive) of a file, across chunk boundaries, verified. */
  createReadStream(remotePath: string, options: { start?: number; end?: number; signal?: AbortSignal } = {}): Readable {
    validatePath(remotePath);
    return readRange(this.parts, remotePath, options);
  }

  /**
   * A file's status and a reader of its bytes from one NameNode call
   * (where a stat then createReadStream would make two: an S3 GET, say).
   * NotFound when there is no file; FailedPrecondition for a directory.
   */
  async openFile(remotePath: string, options: CallOptions = {}): Promise<OpenedFile> {
    validatePath(remotePath);
    return openFile(this.parts, remotePath, options.signal);
  }

  /** A whole file in memory: for small files. */
  async readFile(remotePath: string, options: CallOptions = {}): Promise<Buffer> {
    validatePath(remotePath);
    // Gathered straight from the reads: a stream and stream/consumers' Blob
    // around them cost a small file's get more than its bytes.
    const parts: Buffer[] = [];
    for await (const part of rangeBytes(this.parts, remotePath, options)) parts.push(part);
    return Buffer.concat(parts);
  }

  /** Entries of a directory sorted by name (every page), or the one file at `remotePath`. */
  async list(remotePath: string, options: CallOptions = {}): Promise<FileStatus[]> {
    const out: FileStatus[] = [];
    for await (const entry of this.listPages(remotePath, options)) out.push(entry);
    return out;
  }

  /**
   * The same entries as `list`, fetched a page at a time, for huge
   * directories; with `startAfter`, only the names after it.
   */
  async *listPages(remotePath: string, options: CallOptions & { pageSize?: number; startAfter?: string } = {}): AsyncGenerator<FileStatus> {
    let startAfter = options.startAfter ?? "";
    for (;;) {
      const page = await this.listPage(remotePath, { ...options, startAfter });
      yield* page.entries;
      if (!page.hasMore) return;
      startAfter = page.entries.at(-1)!.path.slice(page.entries.at(-1)!.path.lastIndexOf("/") + 1);
    }
  }

  /**
   * One page of `listPages` (one List call): up to `pageSize` entries (1000
   * by default) after `startAfter`, and whether more follow. For callers that
   * work through a page at once rather than an entry at a time.
   */
  async listPage(remotePath: string, options: CallOptions & { pageSize?: number; startAfter?: string } = {}): Promise<{ entries: FileStatus[]; hasMore: boolean }> {
    validatePath(remotePath);
    const res = await this.read(() => this.namenode.list({ path: remotePath, startAfter: options.startAfter ?? "", limit: options.pageSize ?? 1000 }, options), options);
    return { entries: res.entries.map(toFileStatus), hasMore: res.hasMore && res.entries.length > 0 };
  }

  async stat(remotePath: string, options: CallOptions = {}): Promise<FileStatus> {
    validatePath(remotePath);
    return toFileStatus((await this.read(() => this.namenode.stat({ path: remotePath }, options), options)).file!);
  }

  async exists(remotePath: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await this.stat(remotePath, options);
      return true;
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "not_found") return false;
      throw err;
    }
  }

  /**
   * Creates a directory; with `parents`, also its missing ancestors (and
   * succeeds if it exists). `attributes`, when given, become the directory's,
   * replacing any it had (`{}` clears them).
   */
  async mkdir(remotePath: string, options: CallOptions & { parents?: boolean; attributes?: Record<string, string> } = {}): Promise<FileStatus> {
    validatePath(remotePath);
    // With parents it succeeds whether or not the directory exists: safe to send again after a lost answer.
    const call = options.parents ? { ...options, contextValues: repeatable() } : options;
    const { attributes } = options;
    const req = { path: remotePath, parents: options.parents ?? false, ...(attributes ? { attributes, setAttributes: true } : {}) };
    const res = await this.call(() => this.namenode.mkdir(req, call));
    return toFileStatus(res.directory!);
  }

  /** Moves a file or directory to exactly `destination`; `overwrite` replaces a file there. */
  async rename(source: string, destination: string, options: CallOptions & { overwrite?: boolean } = {}): Promise<FileStatus> {
    validatePath(source);
    validatePath(destination);
    const res = await this.call(() => this.namenode.rename({ source, destination, overwrite: options.overwrite ?? false }, options));
    return toFileStatus(res.file!);
  }

  /**
   * Joins complete files, in order, into one new file at `destination`
   * without copying a byte (their chunks are relinked, in one transaction);
   * the sources disappear. `overwrite` replaces a file at the destination;
   * `attributes` are the new file's; `replication` defaults to the highest of
   * the sources'.
   */
  async concat(
    sources: string[],
    destination: string,
    options: CallOptions & { overwrite?: boolean; attributes?: Record<string, string>; replication?: number; replaceOnly?: FileCondition } = {},
  ): Promise<FileStatus> {
    for (const s of sources) validatePath(s);
    validatePath(destination);
    const { overwrite = false, attributes = {}, replication = 0, replaceOnly } = options;
    const req = { sources, destination, overwrite, attributes, replication, ...(replaceOnly ? { replaceOnly: fileCondition(replaceOnly) } : {}) };
    const res = await this.call(() => this.namenode.concatFiles(req, options));
    return toFileStatus(res.file!);
  }

  /**
   * Deletes a file or an empty directory, or with `recursive` a whole tree.
   * The namespace forgets it at once; its chunks leave the disks shortly after.
   * `onlyEmptyPlainDirectory` deletes nothing but an empty directory without
   * attributes (FailedPrecondition otherwise); `onlyIf` nothing but the file
   * it names (NotFound or FailedPrecondition otherwise), checked in the
   * delete's transaction.
   */
  async rm(
    remotePath: string,
    options: CallOptions & { recursive?: boolean; onlyEmptyPlainDirectory?: boolean; onlyIf?: FileCondition } = {},
  ): Promise<{ chunkCount: number }> {
    validatePath(remotePath);
    const { recursive = false, onlyEmptyPlainDirectory = false, onlyIf } = options;
    const req = { path: remotePath, recursive, onlyEmptyPlainDirectory, ...(onlyIf ? { onlyIf: fileCondition(onlyIf) } : {}) };
    const res = await this.call(() => this.deleteFiles.call(req, options.signal));
    return { chunkCount: res.chunkCount };
  }

  /** Changes a file's replication; copies are added or trimmed in the background. */
  async setReplication(remotePath: string, replication: number, options: CallOptions = {}): Promise<FileStatus> {
    validatePath(remotePath);
    const res = await this.call(() => this.namenode.setReplication({ path: remotePath, replication }, { ...options, contextValues: repeatable() }));
    return toFileStatus(res.file!);
  }

  /** Files, directories and bytes under a path. */
  async du(remotePath: string, options: CallOptions = {}): Promise<ContentSummary> {
    validatePath(remotePath);
    const r = await this.read(() => this.namenode.contentSummary({ path: remotePath }, options), options);
    return { files: Number(r.files), directories: Number(r.directories), bytes: Number(r.bytes), spaceConsumed: Number(r.spaceConsumed) };
  }

  /** Each file's chunks under `remotePath` and the state of every replica. */
  async fsck(remotePath = "/", options: CallOptions = {}): Promise<FsckReport> {
    validatePath(remotePath);
    return toFsckReport(await this.read(() => this.admin.fsck({ path: remotePath }, options), options));
  }

  /** Every DataNode and the health of the cluster, for operators. */
  async clusterStatus(options: CallOptions = {}): Promise<ClusterStatus> {
    return toClusterStatus(await this.read(() => this.admin.clusterStatus({}, options), options));
  }

  /** Starts draining a DataNode (by id or address); see ClusterStatus for progress. */
  async decommission(datanode: string, options: CallOptions = {}): Promise<DataNodeStatus> {
    const res = await this.call(() => this.admin.decommissionDataNode({ datanode }, options));
    return toDataNodeStatus(res.datanode!);
  }

  /**
   * Enters safe mode by hand (the namespace read-only, no replication or
   * trash) or leaves it (also ending the startup safe mode early); needs a
   * read-write token.
   */
  async setSafeMode(on: boolean, options: CallOptions = {}): Promise<SafeModeStatus> {
    const res = await this.call(() => this.admin.setSafeMode({ on }, options));
    return toSafeModeStatus(res.safeMode);
  }

  /** Returns a draining or drained DataNode to service. */
  async recommission(datanode: string, options: CallOptions = {}): Promise<DataNodeStatus> {
    const res = await this.call(() => this.admin.recommissionDataNode({ datanode }, options));
    return toDataNodeStatus(res.datanode!);
  }
  /**
   * Starts the balancer (or retunes it): replicas move from the fullest
   * DataNodes to the emptiest until every node's used share is within
   * `thresholdPercent` of the cluster's mean (the NameNode's default when unset).
   */
  async startBalancer(
    options: CallOptions & { thresholdPercent?: number; bandwidthBytesPerSecond?: number; maxMovesInFlight?: number } = {},
  ): Promise<BalancerStatus> {
    const res = await this.call(() =>
      this.admin.startBalancer(
        {
          thresholdPercent: options.thresholdPercent ?? 0,
          bandwidthBytesPerSecond: BigInt(options.bandwidthBytesPerSecond ?? 0),
          maxMovesInFlight: options.maxMovesInFlight ?? 0,
        },
        options,
      ),
    );
    return toBalancerStatus(res.balancer);
  }

  /** Stops the balancer; copies under way finish. */
  async stopBalancer(options: CallOptions = {}): Promise<BalancerStatus> {
    return toBalancerStatus((await this.call(() => this.admin.stopBalancer({}, options))).balancer);
  }

  /** The NameNode's high-availability role and the members it knows of; every NameNode answers it, standbys too. */
  async haStatus(options: CallOptions = {}): Promise<HaStatus> {
    return toHaStatus(await this.read(() => this.admin.getHaStatus({}, options), options));
  }

  /** Asks the active NameNode to hand leadership over (to `target`, an advertise address, when given); returns the new active one. */
  async failover(target?: string, options: CallOptions = {}): Promise<{ activeAddress: string; epoch: number }> {
    const res = await this.call(() => this.admin.failover({ targetAddress: target ?? "" }, options));
    return { activeAddress: res.activeAddress, epoch: Number(res.epoch) };
  }


  /** The NameNode calls go to now: the active one, once a call found it. */
  get activeNameNode(): string {
    return this.nameNodes.active;
  }

  /** Closes the client's connections. */
  close(): void {
    this.nameNodeClients.close();
    this.dataNodeClients.close();
  }

  private get parts() {
    return {
      namenode: this.namenode,
      datanodeAt: this.datanodeAt,
      idleTimeoutMs: this.options.idleTimeoutMs,
      putFile: (req: PutFileRequest, signal: AbortSignal | undefined) => this.putFiles.call(req, signal),
      confirmFile: (req: ConfirmFileRequest, signal: AbortSignal | undefined) => this.confirmFiles.call(req, signal),
      getFile: (req: GetFileQuery, signal: AbortSignal | undefined) => this.getFiles.call(req, signal),
    };
  }

  private writeDefaults(o: PutOptions): PutOptions {
    return { replication: this.options.replication, chunkSize: this.options.chunkSize, concurrency: this.options.concurrency, ...o };
  }

  /** A call that changes something: not repeated on failure. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTrainfsError(err);
    }
  }

  /** A read: repeated with backoff while the NameNode is unavailable. */
  private read<T>(fn: () => Promise<T>, options: CallOptions): Promise<T> {
    return this.call(() => withRetry(fn, { signal: options.signal }));
  }
}
