import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService, ClientService, DataNodeService } from "@trainfs/proto";
import { MAX_PART_BYTES, NameNodeFailover, REQUEST_ID_HEADER, TrainfsError, bearerInterceptor, newRequestId, parseNameNodeAddresses, toTrainfsError } from "@trainfs/core";
import {
  toClusterHistory,
  toClusterStatus,
  toDataNodeStatus,
  toSafeModeStatus,
  type ClusterHistory,
  type ClusterStatus,
  type DataNodeStatus,
  type SafeModeStatus,
} from "../cluster-status.js";
import { toFileStatus, type FileStatus } from "../file-status.js";
import { toFsckReport, type FsckReport } from "../fsck.js";
import { webReadFile, webReadStream, type WebGetOptions } from "./web-reader.js";
import { webWriteFile, type WebPutOptions, type WebPutSource } from "./web-writer.js";

export interface TrainfsWebClientOptions {
  /**
   * NameNode base URL; the page's own origin by default (the console the
   * NameNode serves). With high availability, every NameNode of the cluster
   * (an array, or URLs separated by commas): calls go to the active one and
   * follow a failover by themselves.
   */
  namenode?: string | readonly string[];
  /** With several NameNodes: how long a call keeps looking for the active one (default 30 s). */
  failoverTimeoutMs?: number;
  /** API token, sent to the NameNode as `authorization: Bearer <token>`. */
  token?: string;
  /** Replicas per chunk and chunk size for new files; the NameNode's defaults when unset. */
  replication?: number;
  chunkSize?: number;
  /** Bytes per WriteChunkPart call (default 1 MiB, at most 4 MiB). */
  partSize?: number;
  /** Chunks uploaded at once (default 2). */
  concurrency?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

/** One file with its chunks and every replica's state (fileDetails). */
export interface FileDetails extends FileStatus {
  chunks: Array<{
    chunkId: string;
    index: number;
    offset: number;
    length: number;
    checksum: number;
    health: FsckReport["files"][number]["chunks"][number]["health"];
    replicas: Array<{ address: string; datanodeId: string; state: "live" | "corrupt" }>;
  }>;
}

export interface WebCallOptions {
  signal?: AbortSignal;
}

/**
 * The TrainFS SDK for browsers, over Connect with the binary format
 * (@connectrpc/connect-web). Uploads go in unary parts, downloads with the
 * server-streaming read; both are checked with CRC-32 as in the Node SDK.
 * Errors are TrainfsErrors with the Connect code of the failure. Each
 * operation sends one request id (x-request-id) on all its calls, so the
 * servers' logs of a put can be followed from node to node.
 */
export class TrainfsWebClient {
  /** Changed at any time (e.g. from a token field); used from the next call on. */
  token: string | undefined;
  /** Every NameNode given, in order. */
  readonly namenodeUrls: readonly string[];
  private readonly nameNodes: NameNodeFailover;
  private readonly namenode: Client<typeof ClientService>;
  private readonly admin: Client<typeof AdminService>;
  private readonly datanodes = new Map<string, Client<typeof DataNodeService>>();
  private readonly partSize: number;

  constructor(private readonly options: TrainfsWebClientOptions = {}) {
    this.namenodeUrls = parseNameNodeAddresses(options.namenode ?? globalThis.location?.origin ?? "");
    this.token = options.token;
    this.partSize = options.partSize ?? 1024 * 1024;
    if (!Number.isInteger(this.partSize) || this.partSize < 1 || this.partSize > MAX_PART_BYTES) {
      throw new TrainfsError("invalid_argument", `partSize must be 1 to ${MAX_PART_BYTES} bytes`);
    }
    const toNameNode = new Map(this.namenodeUrls.map((url) => [url, this.transport(url, true)]));
    this.nameNodes = new NameNodeFailover({
      addresses: this.namenodeUrls,
      // A hinted active outside the list gets a transport of its own, made once.
      transportFor: (url) => toNameNode.get(url) ?? toNameNode.set(url, this.transport(url, true)).get(url)!,
      timeoutMs: options.failoverTimeoutMs,
    });
    this.namenode = createClient(ClientService, this.nameNodes);
    this.admin = createClient(AdminService, this.nameNodes);
  }

  /** The NameNode calls go to now: the active one, once a call found it. */
  get namenodeUrl(): string {
    return this.nameNodes.active;
  }

  /** Entries of a directory sorted by name (every page), or the one file at `path`. */
  async list(path: string, options: WebCallOptions = {}): Promise<FileStatus[]> {
    const out: FileStatus[] = [];
    let startAfter = "";
    for (;;) {
      const res = await this.call(() => this.namenode.list({ path, startAfter, limit: 1000 }, options));
      out.push(...res.entries.map(toFileStatus));
      if (!res.hasMore || res.entries.length === 0) return out;
      const lastPath = res.entries.at(-1)!.path;
      startAfter = lastPath.slice(lastPath.lastIndexOf("/") + 1);
    }
  }

  async stat(path: string, options: WebCallOptions = {}): Promise<FileStatus> {
    return toFileStatus((await this.call(() => this.namenode.stat({ path }, options))).file!);
  }

  async mkdir(path: string, options: WebCallOptions & { parents?: boolean } = {}): Promise<FileStatus> {
    return toFileStatus((await this.call(() => this.namenode.mkdir({ path, parents: options.parents ?? false }, options))).directory!);
  }

  async rename(source: string, destination: string, options: WebCallOptions & { overwrite?: boolean } = {}): Promise<FileStatus> {
    return toFileStatus((await this.call(() => this.namenode.rename({ source, destination, overwrite: options.overwrite ?? false }, options))).file!);
  }

  async rm(path: string, options: WebCallOptions & { recursive?: boolean } = {}): Promise<{ chunkCount: number }> {
    const res = await this.call(() => this.namenode.deleteFile({ path, recursive: options.recursive ?? false }, options));
    return { chunkCount: res.chunkCount };
  }

  /** Every DataNode and the health of the cluster. */
  async clusterStatus(options: WebCallOptions = {}): Promise<ClusterStatus> {
    return toClusterStatus(await this.call(() => this.admin.clusterStatus({}, options)));
  }

  /** The NameNode's recent history (samples after `sinceMs`, or all it keeps). */
  async clusterHistory(sinceMs = 0, options: WebCallOptions = {}): Promise<ClusterHistory> {
    return toClusterHistory(await this.call(() => this.admin.clusterHistory({ sinceMs: BigInt(Math.max(0, Math.trunc(sinceMs))) }, options)));
  }

  /** Each file's chunks under `path` and the state of every replica. */
  async fsck(path = "/", options: WebCallOptions = {}): Promise<FsckReport> {
    return toFsckReport(await this.call(() => this.admin.fsck({ path }, options)));
  }

  /**
   * One file in detail: its shape and checksum, and each chunk with its
   * checksum and every replica's state (live or corrupt) and address.
   */
  async fileDetails(path: string, options: WebCallOptions = {}): Promise<FileDetails> {
    const [file, report] = await Promise.all([
      this.call(() => this.namenode.getFile({ path }, options)),
      this.call(() => this.admin.fsck({ path }, options)).then(toFsckReport),
    ]);
    const health = new Map(report.files[0]?.chunks.map((c) => [c.chunkId, c]) ?? []);
    return {
      ...toFileStatus(file.file!),
      chunks: file.chunks.map((c) => {
        const h = health.get(c.chunkId);
        return {
          chunkId: c.chunkId,
          index: c.index,
          offset: Number(c.offset),
          length: Number(c.length),
          checksum: c.checksum >>> 0,
          health: h?.health ?? "missing",
          replicas: [
            ...c.replicas.map((r) => ({ address: r.address, datanodeId: r.datanodeId, state: "live" as const })),
            ...(h?.corruptReplicas ?? []).map((address) => ({ address, datanodeId: "", state: "corrupt" as const })),
          ],
        };
      }),
    };
  }

  /** Drains a DataNode (by id or address); needs a read-write token. */
  async decommission(datanode: string, options: WebCallOptions = {}): Promise<DataNodeStatus> {
    return toDataNodeStatus((await this.call(() => this.admin.decommissionDataNode({ datanode }, options))).datanode!);
  }

  /** Enters safe mode by hand (the namespace read-only) or leaves it; needs a read-write token. */
  async setSafeMode(on: boolean, options: WebCallOptions = {}): Promise<SafeModeStatus> {
    return toSafeModeStatus((await this.call(() => this.admin.setSafeMode({ on }, options))).safeMode);
  }

  /** Puts a drained DataNode back in service; needs a read-write token. */
  async recommission(datanode: string, options: WebCallOptions = {}): Promise<DataNodeStatus> {
    return toDataNodeStatus((await this.call(() => this.admin.recommissionDataNode({ datanode }, options))).datanode!);
  }

  /**
   * A file as a stream of verified bytes, for downloads written to disk as
   * they arrive (the page never holds the whole file). The stream errors
   * if a chunk fails its whole checksum.
   */
  getStream(path: string, options: WebGetOptions = {}): ReadableStream<Uint8Array> {
    const headers = { [REQUEST_ID_HEADER]: newRequestId() };
    const source = webReadStream({ namenode: this.namenode, datanodeAt: this.datanodeAt, headers }, path, options);
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await source.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (err) {
          controller.error(toTrainfsError(err));
        }
      },
      async cancel() {
        await source.return(undefined);
      },
    }, { highWaterMark: 1 });
  }

  /** Uploads a File, Blob or bytes; the file appears only once every chunk is on all its replicas. */
  async put(source: WebPutSource, path: string, options: WebPutOptions = {}): Promise<FileStatus> {
    const headers = { [REQUEST_ID_HEADER]: newRequestId() };
    // ConfirmFile answers with the file as it now is: no stat after it.
    const file = await webWriteFile(
      { namenode: this.namenode, datanodeAt: this.datanodeAt, partSize: this.partSize, concurrency: this.options.concurrency ?? 2, headers },
      source,
      path,
      { replication: this.options.replication, chunkSize: this.options.chunkSize, ...options },
    );
    return toFileStatus(file);
  }

  /** A whole file as a Blob (for a download link), verified. */
  async get(path: string, options: WebGetOptions = {}): Promise<Blob> {
    return new Blob((await this.readParts(path, options)) as BlobPart[]);
  }

  /** A whole file as bytes, verified. */
  async readFile(path: string, options: WebGetOptions = {}): Promise<Uint8Array> {
    return new Uint8Array(await (await this.get(path, options)).arrayBuffer());
  }

  private readParts(path: string, options: WebGetOptions): Promise<Uint8Array[]> {
    const headers = { [REQUEST_ID_HEADER]: newRequestId() };
    return webReadFile({ namenode: this.namenode, datanodeAt: this.datanodeAt, headers }, path, options);
  }

  private readonly datanodeAt = (address: string): Client<typeof DataNodeService> => {
    let client = this.datanodes.get(address);
    if (!client) {
      client = createClient(DataNodeService, this.transport(address, false));
      this.datanodes.set(address, client);
    }
    return client;
  };

  private transport(baseUrl: string, withToken: boolean): Transport {
    return createConnectTransport({
      baseUrl,
      // JSON would carry chunk bytes as base64: several times slower.
      useBinaryFormat: true,
      interceptors: withToken ? [bearerInterceptor(() => this.token)] : [],
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toTrainfsError(err);
    }
  }
}
