import { randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DataNodeService } from "@trainfs/proto";
import { RpcClients, lockDataDir, startRpcServer, type DataDirLock, type Logger, type RpcServer } from "@trainfs/common";
import { ChunkStore } from "./chunk-store.js";
import type { DataNodeConfig } from "./config.js";
import { dataNodeService } from "./datanode-service.js";
import { NameNodeLink } from "./namenode-link.js";

/** A running DataNode: its chunk store, its RPC server and its link to the NameNode. */
export class DataNode {
  private constructor(
    readonly id: string,
    readonly address: string,
    readonly store: ChunkStore,
    readonly link: NameNodeLink,
    private readonly server: RpcServer,
    private readonly clients: RpcClients,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
  ) {}

  static async start(config: DataNodeConfig, logger: Logger): Promise<DataNode> {
    const lock = lockDataDir(config.dataDir, "DataNode");
    try {
      return await DataNode.startLocked(config, lock, logger);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async startLocked(config: DataNodeConfig, lock: DataDirLock, logger: Logger): Promise<DataNode> {
    const id = await loadOrCreateId(config.dataDir);
    const store = await ChunkStore.open(config.dataDir, config.capacity);
    const clients = new RpcClients();
    // The address is known only once listening (port 0 picks one), but the
    // handlers need it; they read it through `self` after start.
    const self = { id, address: config.advertiseAddress ?? "" };
    let link: NameNodeLink | undefined;
    const server = await startRpcServer({
      host: config.host,
      port: config.port,
      logger,
      routes: (router) =>
        router.service(
          DataNodeService,
          dataNodeService({ store, clients, self, logger, commitChunk: (chunk) => link!.commitChunk(chunk) }),
        ),
    });
    self.address ||= `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${server.port}`;
    link = new NameNodeLink(clients, config.namenode, self, store, config.heartbeatIntervalMs, logger);
    link.start();
    logger.info({ datanodeId: id, address: self.address, dataDir: config.dataDir, namenode: config.namenode }, "DataNode listening");
    return new DataNode(id, self.address, store, link, server, clients, lock, logger);
  }

  get port(): number {
    return this.server.port;
  }

  async stop(): Promise<void> {
    this.link.stop();
    await this.server.close();
    this.clients.close();
    this.lock.release();
    this.logger.info("DataNode stopped");
  }
}

/** The DataNode's identity survives restarts, so the NameNode recognizes its chunks. */
async function loadOrCreateId(dataDir: string): Promise<string> {
  const path = join(dataDir, "datanode-id");
  try {
    const id = (await readFile(path, "utf8")).trim();
    if (id) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const id = `dn-${randomUUID()}`;
  await writeFile(path, `${id}\n`, { flush: true });
  return id;
}
