import type { Logger } from "@trainfs/common";
import { lockDataDir, startRpcServer, type DataDirLock, type RpcServer } from "@trainfs/common";
import { NameNodeService } from "@trainfs/proto";
import { ChunkMap } from "./chunk-map.js";
import type { NameNodeConfig } from "./config.js";
import { DataNodeManager } from "./datanode-manager.js";
import { MetadataStore } from "./metadata-store.js";
import { Namespace } from "./namespace.js";
import { nameNodeService } from "./namenode-service.js";
import { UploadManager } from "./upload-manager.js";

/** A running NameNode: its metadata store, its mechanisms and its RPC server. */
export class NameNode {
  private constructor(
    readonly config: NameNodeConfig,
    readonly store: MetadataStore,
    readonly datanodes: DataNodeManager,
    readonly chunkMap: ChunkMap,
    readonly namespace: Namespace,
    private readonly server: RpcServer,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
  ) {}

  static async start(config: NameNodeConfig, logger: Logger, now: () => number = Date.now): Promise<NameNode> {
    const lock = lockDataDir(config.dataDir, "NameNode");
    let store: MetadataStore | undefined;
    try {
      store = await MetadataStore.open(config.dataDir);
      const datanodes = new DataNodeManager(store, config.heartbeatTimeoutMs, now);
      const chunkMap = new ChunkMap(store, datanodes);
      const namespace = new Namespace(store);
      const uploads = new UploadManager(store, namespace, chunkMap, datanodes, config, now);
      const service = nameNodeService({
        store, namespace, chunkMap, datanodes, uploads, heartbeatTimeoutMs: config.heartbeatTimeoutMs, now,
      });
      const server = await startRpcServer({
        host: config.host,
        port: config.port,
        logger,
        routes: (router) => router.service(NameNodeService, service),
      });
      logger.info({ address: `http://${config.host}:${server.port}`, dataDir: config.dataDir }, "NameNode listening");
      return new NameNode(config, store, datanodes, chunkMap, namespace, server, lock, logger);
    } catch (err) {
      await store?.close();
      lock.release();
      throw err;
    }
  }

  get port(): number {
    return this.server.port;
  }

  get address(): string {
    return `http://${this.config.host}:${this.server.port}`;
  }

  async stop(): Promise<void> {
    await this.server.close();
    await this.store.close();
    this.lock.release();
    this.logger.info("NameNode stopped");
  }
}
