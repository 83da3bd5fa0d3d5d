import { join } from "node:path";
import { DataNodeService } from "@trainfs/proto";
import {
  ChunkReceipts, ChunkTokens, DATA_TRANSFER_ALPN, DATA_TRANSFER_PREFACE, FAILED_DATANODE_HEADER, RpcClients, dataNodeCredential, fsyncDirectory, loadCa, loadServerTls, lockDataDir, startRpcServer, type DataDirLock, type Logger, type RpcServer,
} from "@trainfs/common";
import { ChunkStore, type StoredChunk } from "./chunk-store.js";
import type { DataNodeConfig } from "./config.js";
import { dataNodeMetrics } from "./datanode-metrics.js";
import { dataNodeService } from "./datanode-service.js";
import { dataTransferHandler } from "./data-transfer-server.js";
import { NameNodeLinks, type RoleProbe } from "./namenode-links.js";
import { NodeIdentity } from "./node-identity.js";
import { EXPECTED_OFFSET_HEADER, PartUploads } from "./part-uploads.js";
import { Replicator } from "./replicator.js";
import { Scrubber } from "./scrubber.js";
import { TaskStore } from "./task-store.js";
import { TrashWorker } from "./trash.js";

/** A running DataNode: its chunk store, its task store and workers, its RPC server and its links to the NameNodes. */
export class DataNode {
  private constructor(
    readonly id: string,
    readonly address: string,
    readonly store: ChunkStore,
    readonly link: NameNodeLinks,
    readonly trash: TrashWorker,
    readonly replicator: Replicator,
    readonly scrubber: Scrubber,
    private readonly tasks: TaskStore,
    readonly partUploads: PartUploads,
    private readonly server: RpcServer,
    private readonly clients: RpcClients,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
  ) {}

  /** `roleProbe`: how each NameNode's role is asked (tests give their own; see NameNodeLinks). */
  static async start(config: DataNodeConfig, logger: Logger, options: { roleProbe?: RoleProbe } = {}): Promise<DataNode> {
    const tls = loadServerTls(config);
    const secret = config.clusterSecret;
    // Only verifying here: the expiry is in each token, the TTL is the NameNode's.
    const tokens = secret ? new ChunkTokens(secret, 0) : undefined;
    const lock = lockDataDir(config.dataDir, "DataNode");
    let tasks: TaskStore | undefined;
    let partUploads: PartUploads | undefined;
    try {
      const identity = await NodeIdentity.load(config.dataDir);
      const store = await ChunkStore.open(config.dataDir, config.capacity, undefined, {
        packedChunkMaxBytes: config.packedChunkMaxBytes,
        volumes: { volumeMaxBytes: config.volumeMaxBytes, compactDeadRatio: config.compactionDeadRatio, compactBytesPerSecond: config.compactionBytesPerSecond },
        logger,
      });
      store.syncBehindBytes = config.syncBehindWrites;
      tasks = TaskStore.open(config.dataDir);
      // What a first start created (identity, chunks/, tmp/, the task store's
      // files) keeps its names through a power loss.
      await fsyncDirectory(join(config.dataDir, "tasks.mdb"));
      await fsyncDirectory(config.dataDir);
      const clients = new RpcClients({ token: secret ? dataNodeCredential(secret) : undefined, ca: loadCa(config.tlsCaFile) });
      const metrics = dataNodeMetrics(store, tasks);
      store.onFsync = (seconds) => metrics.fsyncSeconds.observe(seconds);
      const trash = new TrashWorker(tasks, store, logger);
      const replicator = new Replicator(tasks, store, clients, config.maxReplicationStreams, logger);
      // The address is known only once listening (port 0 picks one), but the
      // handlers need it; they read it through `self` after start.
      const self = { id: identity.datanodeId, address: config.advertiseAddress ?? "", zone: config.zone };
      let link: NameNodeLinks | undefined;
      const condemn = async (chunkId: string, reason: string) => {
        logger.error({ chunkId, reason }, "bad replica: quarantined and reported");
        metrics.badReplicas.inc();
        await store.quarantine(chunkId);
        await link?.reportBad([{ chunkId, reason }]);
      };
      const pipeline = {
        store, clients, self, logger,
        checkAccess: (chunkId: string, op: "read" | "write", token: string) => tokens?.verify(chunkId, op, token, self.id),
        commitChunk: (chunk: StoredChunk) => link!.commitChunk(chunk),
        reportChunk: (chunk: StoredChunk) => link?.reportChunk(chunk),
        receipts: new ChunkReceipts(secret),
        onBytesWritten: (n: number) => metrics.bytesWritten.inc(n),
      };
      partUploads = new PartUploads(pipeline, { idleTimeoutMs: config.partUploadTimeoutMs, maxSessions: config.maxPartUploads });
      metrics.trackPartUploads(partUploads);
      const service = { ...pipeline, condemn, partUploads, onBytesRead: (n: number) => metrics.bytesRead.inc(n) };
      const server = await startRpcServer({
        host: config.host,
        port: config.port,
        logger,
        ready: () => link?.isRegistered ?? false,
        metrics: metrics.metrics,
        tls,
        // The NameNodes' console uploads and downloads straight from its pages.
        corsOrigins: [...config.namenode.flatMap(nameNodeOrigins), ...config.corsOrigins],
        exposeHeaders: [FAILED_DATANODE_HEADER, EXPECTED_OFFSET_HEADER],
        quietMethods: ["WriteChunkPart"],
        routes: (router) => router.service(DataNodeService, dataNodeService(service)),
        // Chunk bytes skip Connect (docs/protocol.md, "Data transfer").
        rawProtocol: { preface: DATA_TRANSFER_PREFACE, alpn: DATA_TRANSFER_ALPN, handle: dataTransferHandler(service) },
      });
      self.address ||= `${tls ? "https" : "http"}://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${server.port}`;
      const scrubber = new Scrubber(tasks, store, condemn, {
        bytesPerSecond: config.scrubBytesPerSecond,
        periodMs: config.scrubPeriodMs,
        onVerified: () => metrics.scrubbed.inc(),
        onRequestedVerified: (good) => metrics.verifications.inc({ result: good ? "good" : "bad" }),
      }, logger);
      link = new NameNodeLinks(clients, config.namenode, self, identity, store, trash, replicator, config.heartbeatIntervalMs, logger, (r) => scrubber.requestVerification(r), metrics.traffic, options.roleProbe);
      // Work received before a restart and not finished carries on.
      trash.resume();
      replicator.resume();
      metrics.trackReports(link);
      metrics.trackScrubber(scrubber, config.scrubPeriodMs);
      link.start();
      scrubber.start();
      logger.info({ datanodeId: self.id, address: self.address, dataDir: config.dataDir, namenode: config.namenode.join(",") }, "DataNode listening");
      if (!secret) logger.warn("no clusterSecret: this DataNode serves and accepts chunks without access tokens");
      return new DataNode(self.id, self.address, store, link, trash, replicator, scrubber, tasks, partUploads, server, clients, lock, logger);
    } catch (err) {
      await partUploads?.close();
      await tasks?.close();
      lock.release();
      throw err;
    }
  }

  get port(): number {
    return this.server.port;
  }

  async stop(): Promise<void> {
    await this.link.stop();
    await this.scrubber.stop();
    await this.server.close();
    await this.partUploads.close();
    this.clients.close();
    await this.trash.idle();
    await this.replicator.idle();
    await this.store.close();
    await this.tasks.close();
    this.lock.release();
    this.logger.info("DataNode stopped");
  }
}

/** The NameNode's origin, under both loopback names when it is on loopback (a browser may be pointed at either). */
function nameNodeOrigins(namenode: string): string[] {
  const url = new URL(namenode);
  if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") return [url.origin];
  return ["127.0.0.1", "localhost"].map((h) => `${url.protocol}//${h}${url.port ? `:${url.port}` : ""}`);
}
