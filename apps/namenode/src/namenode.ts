import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Logger } from "@trainfs/common";
import { ChunkReceipts, ChunkTokens, loadServerTls, lockDataDir, startRpcServer, type DataDirLock, type RpcServer } from "@trainfs/common";
import { AccessPolicy } from "./access-policy.js";
import { ChunkMap } from "./chunk-map.js";
import { CorruptReplicas } from "./corrupt-replicas.js";
import type { NameNodeConfig } from "./config.js";
import { DataNodeManager } from "./datanode-manager.js";
import { HeartbeatMonitor } from "./heartbeat-monitor.js";
import { MetadataStore } from "./metadata-store.js";
import { Namespace } from "./namespace.js";
import { nameNodeMetrics } from "./namenode-metrics.js";
import { nameNodeRoutes, type NameNodeParts } from "./namenode-service.js";
import { ReplicaVerifications } from "./replica-verifications.js";
import { PendingReplications } from "./pending-replications.js";
import { ReplicationMonitor } from "./replication-monitor.js";
import { ReplicationQueue } from "./replication-queue.js";
import { ReplicationScan } from "./replication-scan.js";
import { SafeMode } from "./safe-mode.js";
import { Trash } from "./trash.js";
import { UploadManager } from "./upload-manager.js";

/** A running NameNode: its metadata store, its mechanisms, its background rounds and its RPC server. */
export class NameNode {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();

  private constructor(
    readonly config: NameNodeConfig,
    readonly parts: NameNodeParts,
    private readonly heartbeats: HeartbeatMonitor,
    readonly replicationScan: ReplicationScan,
    private readonly server: RpcServer,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
  ) {}

  static async start(config: NameNodeConfig, logger: Logger, now: () => number = Date.now): Promise<NameNode> {
    const tls = loadServerTls(config);
    const access = new AccessPolicy(config);
    const tokens = config.clusterSecret ? new ChunkTokens(config.clusterSecret, config.chunkTokenTtlMs, now) : undefined;
    const lock = lockDataDir(config.dataDir, "NameNode");
    let store: MetadataStore | undefined;
    try {
      store = await MetadataStore.open(config.dataDir);
      const datanodes = new DataNodeManager(store, config.heartbeatTimeoutMs, now);
      const chunkMap = new ChunkMap(store, datanodes);
      const namespace = new Namespace(store);
      const trash = new Trash(store, config.trashRedeliveryMs);
      const queue = new ReplicationQueue(store);
      const pending = new PendingReplications(store);
      const corrupt = new CorruptReplicas(store, chunkMap, trash);
      const replication = new ReplicationMonitor(store, chunkMap, datanodes, queue, pending, trash, corrupt, {
        maxReplicationStreams: config.maxReplicationStreams,
        replicationTimeoutMs: config.replicationTimeoutMs,
        maxChunksPerRound: 10_000,
      }, logger, now);
      const uploads = new UploadManager(store, namespace, chunkMap, datanodes, trash, config, now, (chunkIds) => {
        for (const chunkId of chunkIds) replication.recheck(chunkId);
      });
      const metadata = store;
      const verifications = new ReplicaVerifications(
        { maxPendingPerNode: 10_000, repeatAfterMs: 10 * 60_000, maxPerHeartbeat: 100 },
        (chunkId, datanodeId) => {
          const chunk = metadata.chunks.get(chunkId);
          if (chunk?.checksum === undefined || !metadata.replicas.doesExist([chunkId, datanodeId])) return undefined;
          return { chunkId, length: chunk.length, checksum: chunk.checksum };
        },
        now,
      );
      const safeMode = new SafeMode(store, config.safeModeThreshold, config.safeModeTimeoutMs, logger, now);
      const parts: NameNodeParts = {
        store, namespace, chunkMap, datanodes, uploads, trash, queue, pending, replication, corrupt, safeMode, now,
        verifications,
        chunkToken: {
          read: (chunkId) => tokens?.issue(chunkId, "read") ?? "",
          write: (chunkId, attempt, datanodeIds) => tokens?.issue(chunkId, "write", { attempt, datanodeIds }) ?? "",
        },
        receipts: new ChunkReceipts(config.clusterSecret),
        limits: {
          maxReplicationTasksPerHeartbeat: config.maxReplicationTasksPerHeartbeat,
          maxTrashPerHeartbeat: config.maxTrashPerHeartbeat,
          maxReplication: config.maxReplication,
        },
      };
      const scan = new ReplicationScan(store, replication, logger);
      safeMode.onExit(() => reconcileAfterSafeMode(parts, scan));
      const heartbeats = new HeartbeatMonitor(store, datanodes, chunkMap, replication, trash, logger);
      const server = await startRpcServer({
        host: config.host,
        port: config.port,
        logger,
        routes: nameNodeRoutes(parts),
        ready: () => !safeMode.isOn,
        metrics: nameNodeMetrics(parts),
        authorize: (method, headers) => access.authorize(method, headers),
        tls,
        corsOrigins: config.corsOrigins,
        staticDir: config.consoleDir ?? builtConsoleDir(),
        quietMethods: ["HeartBeat", "RenewLease", "ChunkReport"],
      });
      const nn = new NameNode(config, parts, heartbeats, scan, server, lock, logger);
      nn.schedule();
      logger.info({ address: nn.address, dataDir: config.dataDir, clusterId: store.clusterId }, "NameNode listening");
      if (!access.dataNodesAuthenticated) {
        logger.warn("no clusterSecret: any process that reaches this port can register as a DataNode, and DataNodes serve chunks without access tokens");
      }
      if (!access.clientsAuthenticated) logger.warn("no apiTokens: clients need no token to read, write or delete");
      if (!tls) logger.warn("no TLS: tokens and data travel in cleartext; keep the cluster on a trusted network or set tlsCert and tlsKey");
      return nn;
    } catch (err) {
      await store?.close();
      lock.release();
      throw err;
    }
  }

  get store(): MetadataStore {
    return this.parts.store;
  }

  get datanodes(): DataNodeManager {
    return this.parts.datanodes;
  }

  get chunkMap(): ChunkMap {
    return this.parts.chunkMap;
  }

  get namespace(): Namespace {
    return this.parts.namespace;
  }

  get port(): number {
    return this.server.port;
  }

  get address(): string {
    return `${this.config.tlsCert ? "https" : "http"}://${this.config.host}:${this.server.port}`;
  }

  /** One background round: safe mode, dead nodes, then replication. Rounds never overlap. */
  runBackgroundRound(): Promise<void> {
    this.round = this.round.then(async () => {
      try {
        await this.parts.safeMode.check();
        await this.heartbeats.runOnce();
        const expired = await this.parts.uploads.expireLeases();
        if (expired.length > 0) this.logger.warn({ paths: expired }, "writes abandoned: their lease expired");
        if (!this.parts.safeMode.isOn) await this.parts.replication.runOnce();
      } catch (err) {
        this.logger.error({ err }, "background round failed");
      }
    });
    return this.round;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.server.close();
    await this.round;
    await this.replicationScan.stop();
    await this.store.close();
    this.lock.release();
    this.logger.info("NameNode stopped");
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.runBackgroundRound().then(() => {
        if (this.timer) this.schedule();
      });
    }, this.config.monitorIntervalMs);
  }
}

/**
 * Once chunk reports are in, unknown chunks reported meanwhile go to trash if
 * they are still unknown, and every chunk's replica count is checked by a
 * background scan (HDFS's initial replication queue).
 */
async function reconcileAfterSafeMode(p: NameNodeParts, scan: ReplicationScan): Promise<void> {
  const nowMs = p.now();
  await p.store.write(() => {
    for (const [datanodeId, chunkIds] of p.safeMode.takeDeferred()) {
      for (const chunkId of chunkIds) if (!p.store.chunks.doesExist(chunkId)) p.trash.add(datanodeId, chunkId, nowMs);
    }
  });
  scan.start();
}

/** The web console's build (apps/console/dist), if the package is installed beside the NameNode. */
function builtConsoleDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("@trainfs/console/package.json")), "dist");
  } catch {
    return undefined;
  }
}
