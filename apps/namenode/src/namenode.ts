import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { AdminService, ClientService, DataNodeProtocolService } from "@trainfs/proto";
import type { Logger } from "@trainfs/common";
import { loadServerTls, lockDataDir, startRpcServer, type DataDirLock, type RpcServer } from "@trainfs/common";
import { AccessPolicy } from "./access-policy.js";
import { AuditLog } from "./audit-log.js";
import { checkSafeMode } from "./safe-mode-guard.js";
import { adminProtocol } from "./admin-protocol.js";
import { clientProtocol } from "./client-protocol.js";
import type { NameNodeConfig } from "./config.js";
import { dataNodeProtocol } from "./datanode-protocol.js";
import { MetadataStore } from "./metadata-store.js";
import { nameNodeMetrics } from "./namenode-metrics.js";
import { assembleNameNode, type NameNodeFacades, type NameNodeParts } from "./namenode-facades.js";

/** A running NameNode: its metadata store, its mechanisms, its background rounds and its RPC server. */
export class NameNode {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();

  private constructor(
    readonly config: NameNodeConfig,
    readonly parts: NameNodeParts,
    private readonly server: RpcServer,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
    private readonly audit: AuditLog | undefined,
  ) {}

  static async start(config: NameNodeConfig, logger: Logger, now: () => number = Date.now): Promise<NameNode> {
    const tls = loadServerTls(config);
    const access = new AccessPolicy(config);
    const lock = lockDataDir(config.dataDir, "NameNode");
    let store: MetadataStore | undefined;
    let audit: AuditLog | undefined;
    try {
      store = await MetadataStore.open(config.dataDir);
      const parts = assembleNameNode(store, config, logger, now);
      audit = AuditLog.open(config.auditLog, config.dataDir);
      const metrics = nameNodeMetrics(parts);
      // The history's RPC rate is the clients' and operators' calls, not the DataNodes' heartbeats.
      const dataNodeMethods = new Set(DataNodeProtocolService.methods.map((m) => m.name));
      parts.rpcTotals.read = () => {
        const total = { count: 0, seconds: 0 };
        for (const [method, t] of metrics.callTotals) {
          if (dataNodeMethods.has(method)) continue;
          total.count += t.count;
          total.seconds += t.seconds;
        }
        return total;
      };
      const server = await startRpcServer({
        host: config.host,
        port: config.port,
        logger,
        routes: nameNodeRoutes(parts),
        ready: () => !parts.safeMode.isOn,
        metrics,
        interceptors: audit ? [audit.interceptor(now)] : [],
        authorize: (method, headers, nameCaller) => {
          access.authorize(method, headers, nameCaller);
          checkSafeMode(method, parts.safeMode.isManual);
        },
        tls,
        corsOrigins: config.corsOrigins,
        staticDir: config.consoleDir ?? builtConsoleDir(),
        quietMethods: ["HeartBeat", "RenewLease", "ChunkReport"],
      });
      const nn = new NameNode(config, parts, server, lock, logger, audit);
      nn.schedule();
      parts.history.start();
      logger.info({ address: nn.address, dataDir: config.dataDir, clusterId: store.clusterId, auditLog: audit?.target ?? "off" }, "NameNode listening");
      if (!access.dataNodesAuthenticated) {
        logger.warn("no clusterSecret: any process that reaches this port can register as a DataNode, and DataNodes serve chunks without access tokens");
      }
      if (!access.clientsAuthenticated) logger.warn("no apiTokens: clients need no token to read, write or delete");
      if (!tls) logger.warn("no TLS: tokens and data travel in cleartext; keep the cluster on a trusted network or set tlsCert and tlsKey");
      return nn;
    } catch (err) {
      audit?.close();
      await store?.close();
      lock.release();
      throw err;
    }
  }

  get store(): MetadataStore {
    return this.parts.store;
  }

  get replicationScan() {
    return this.parts.chunks.scan;
  }

  get datanodes() {
    return this.parts.datanodes;
  }

  get namespace() {
    return this.parts.namespace;
  }

  get chunks() {
    return this.parts.chunks;
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
        await this.parts.heartbeats.runOnce();
        const expired = await this.parts.writes.expireLeases();
        if (expired.length > 0) this.logger.warn({ paths: expired }, "writes abandoned: their lease expired");
        if (!this.parts.safeMode.isOn) await this.parts.chunks.runRound();
      } catch (err) {
        this.logger.error({ err }, "background round failed");
      }
    });
    return this.round;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.parts.history.stop();
    await this.server.close();
    this.audit?.close();
    await this.round;
    await this.parts.chunks.scan.stop();
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

/** The three services, each answered by its protocol's handlers over the facades. */
function nameNodeRoutes(p: NameNodeFacades): (router: ConnectRouter) => void {
  return (router) => {
    router.service(ClientService, clientProtocol(p));
    router.service(AdminService, adminProtocol(p));
    router.service(DataNodeProtocolService, dataNodeProtocol(p));
  };
}

/** The web console's build (apps/console/dist), if the package is installed beside the NameNode. */
function builtConsoleDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("@trainfs/console/package.json")), "dist");
  } catch {
    return undefined;
  }
}
