import { DataNodeService } from "@trainfs/proto";
import { RpcClients, lockDataDir, startRpcServer, type DataDirLock, type Logger, type RpcServer } from "@trainfs/common";
import { ChunkStore } from "./chunk-store.js";
import type { DataNodeConfig } from "./config.js";
import { dataNodeMetrics } from "./datanode-metrics.js";
import { dataNodeService } from "./datanode-service.js";
import { NameNodeLink } from "./namenode-link.js";
import { NodeIdentity } from "./node-identity.js";
import { Replicator } from "./replicator.js";
import { Scrubber } from "./scrubber.js";
import { TaskStore } from "./task-store.js";
import { TrashWorker } from "./trash.js";

/** A running DataNode: its chunk store, its task store and workers, its RPC server and its link to the NameNode. */
export class DataNode {
  private constructor(
    readonly id: string,
    readonly address: string,
    readonly store: ChunkStore,
    readonly link: NameNodeLink,
    readonly trash: TrashWorker,
    readonly replicator: Replicator,
    readonly scrubber: Scrubber,
    private readonly tasks: TaskStore,
    private readonly server: RpcServer,
    private readonly clients: RpcClients,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
  ) {}

  static async start(config: DataNodeConfig, logger: Logger): Promise<DataNode> {
    const lock = lockDataDir(config.dataDir, "DataNode");
    let tasks: TaskStore | undefined;
    try {
      const identity = await NodeIdentity.load(config.dataDir);
      const store = await ChunkStore.open(config.dataDir, config.capacity);
      tasks = TaskStore.open(config.dataDir);
      const clients = new RpcClients();
      const metrics = dataNodeMetrics(store, tasks);
      const trash = new TrashWorker(tasks, store, logger);
      const replicator = new Replicator(tasks, store, clients, config.maxReplicationStreams, logger);
      // The address is known only once listening (port 0 picks one), but the
      // handlers need it; they read it through `self` after start.
      const self = { id: identity.datanodeId, address: config.advertiseAddress ?? "" };
      let link: NameNodeLink | undefined;
      const condemn = async (chunkId: string, reason: string) => {
        logger.error({ chunkId, reason }, "bad replica: quarantined and reported");
        metrics.badReplicas.inc();
        await store.quarantine(chunkId);
        await link?.reportBad([{ chunkId, reason }]);
      };
      const server = await startRpcServer({
        host: config.host,
        port: config.port,
        logger,
        ready: () => link?.isRegistered ?? false,
        metrics: metrics.metrics,
        routes: (router) =>
          router.service(
            DataNodeService,
            dataNodeService({
              store, clients, self, logger, condemn,
              commitChunk: (chunk) => link!.commitChunk(chunk),
              onBytesWritten: (n) => metrics.bytesWritten.inc(n),
              onBytesRead: (n) => metrics.bytesRead.inc(n),
            }),
          ),
      });
      self.address ||= `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${server.port}`;
      const scrubber = new Scrubber(tasks, store, condemn, { bytesPerSecond: config.scrubBytesPerSecond, periodMs: config.scrubPeriodMs, onVerified: () => metrics.scrubbed.inc() }, logger);
      link = new NameNodeLink(clients, config.namenode, self, identity, store, trash, replicator, config.heartbeatIntervalMs, logger);
      // Work received before a restart and not finished carries on.
      trash.resume();
      replicator.resume();
      link.start();
      scrubber.start();
      logger.info({ datanodeId: self.id, address: self.address, dataDir: config.dataDir, namenode: config.namenode }, "DataNode listening");
      return new DataNode(self.id, self.address, store, link, trash, replicator, scrubber, tasks, server, clients, lock, logger);
    } catch (err) {
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
    this.clients.close();
    await this.trash.idle();
    await this.replicator.idle();
    await this.tasks.close();
    this.lock.release();
    this.logger.info("DataNode stopped");
  }
}
