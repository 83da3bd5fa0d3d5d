import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { dirname, join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { AdminService, ClientService, DataNodeProtocolService } from "@trainfs/proto";
import type { Logger } from "@trainfs/common";
import { TrainfsError, loadServerTls, lockDataDir, startRpcServer, type DataDirLock, type RpcServer } from "@trainfs/common";
import { AccessPolicy } from "./access-policy.js";
import { AuditLog } from "./audit-log.js";
import { checkSafeMode } from "./safe-mode-guard.js";
import { adminProtocol } from "./admin-protocol.js";
import { clientProtocol } from "./client-protocol.js";
import type { NameNodeConfig } from "./config.js";
import { dataNodeProtocol } from "./datanode-protocol.js";
import { MetadataStore } from "./metadata-store.js";
import { etcdConnection } from "./ha/etcd-connection.js";
import { ACTIVE_NAMENODE_HEADER, HaCoordinator, SNAPSHOT_PATH } from "./ha/ha-coordinator.js";
import { nameNodeMetrics } from "./namenode-metrics.js";
import { assembleNameNode, singleNameNode, type NameNodeFacades, type NameNodeParts } from "./namenode-facades.js";

/** A running NameNode: its metadata store, its mechanisms, its background rounds and its RPC server. */
export class NameNode {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> = Promise.resolve();
  private active = false;
  /** Set when HA is on (haEtcd). */
  ha: HaCoordinator | undefined;

  private constructor(
    readonly config: NameNodeConfig,
    readonly parts: NameNodeParts,
    private readonly server: RpcServer,
    private readonly lock: DataDirLock,
    private readonly logger: Logger,
    private readonly audit: AuditLog | undefined,
  ) {}

  static async start(config: NameNodeConfig, logger: Logger, now: () => number = Date.now): Promise<NameNode> {
    const etcd = etcdConnection(config);
    const haEndpoints = etcd?.endpoints ?? [];
    if (haEndpoints.length > 0 && !config.advertiseAddress) {
      throw new TrainfsError("invalid_argument", "haEtcd needs advertiseAddress: the URL clients and DataNodes reach this NameNode at (e.g. --advertise-address http://10.0.0.5:9870)");
    }
    if (haEndpoints.length > 0 && (config.apiTokens?.length ?? 0) > 0 && !config.clusterSecret) {
      // Standbys copy the whole metadata from the active NameNode: without a secret that copy would be open to anyone.
      throw new TrainfsError("invalid_argument", "haEtcd with apiTokens needs clusterSecret: the NameNodes authenticate the metadata snapshots they copy from each other with it");
    }
    const tls = loadServerTls(config);
    const access = new AccessPolicy(config);
    const lock = lockDataDir(config.dataDir, "NameNode");
    let store: MetadataStore | undefined;
    let audit: AuditLog | undefined;
    let ha: HaCoordinator | undefined;
    // Until etcd has answered, an HA member knows neither its role nor whether
    // its metadata is the cluster's: it serves nothing (DataNodes included,
    // whose reports would change an LMDB that must stay a prefix of the log).
    let haStarting = haEndpoints.length > 0;
    const startingError = () =>
      new TrainfsError("unavailable", `NameNode ${config.advertiseAddress} is starting: it has not reached etcd (${haEndpoints.join(",")}) yet`);
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
        // With HA only the active member is ready: a load balancer sends clients to it alone.
        ready: () => !haStarting && (ha ? ha.isActive : true) && !parts.safeMode.isOn,
        metrics,
        interceptors: audit ? [audit.interceptor(now)] : [],
        authorize: (method, headers, nameCaller) => {
          access.authorize(method, headers, nameCaller);
          if (haStarting) throw startingError();
          // A standby serves no client or operator call but the HA status: it points to the active one.
          if (ha && !ha.isActive && method.parent.typeName !== DataNodeProtocolService.typeName && method.name !== "GetHaStatus") throw ha.standbyError();
          checkSafeMode(method, parts.safeMode.isManual);
        },
        exposeHeaders: [ACTIVE_NAMENODE_HEADER],
        httpRoutes: {
          [SNAPSHOT_PATH]: (req, res) => {
            if (!ha) {
              res.writeHead(haStarting ? 503 : 404, { "content-type": "text/plain" });
              res.end(haStarting ? `${startingError().message}\n` : "high availability is off on this NameNode\n");
              return;
            }
            serveSnapshot(ha, req, res, logger);
          },
        },
        tls,
        corsOrigins: config.corsOrigins,
        staticDir: config.consoleDir ?? builtConsoleDir(),
        quietMethods: ["HeartBeat", "RenewLease", "ChunkReport"],
      });
      const nn = new NameNode(config, parts, server, lock, logger, audit);
      if (haEndpoints.length === 0) {
        // The address it listens on (port 0 picks one), or the one it is told to advertise.
        parts.ha = singleNameNode(() => config.advertiseAddress ?? nn.address);
        nn.becomeActive();
      }
      else {
        const advertise = config.advertiseAddress!.replace(/\/+$/, "");
        ha = await HaCoordinator.start(
          store,
          { etcd: etcd!, prefix: `/trainfs/${config.haClusterName}/`, advertiseAddress: advertise, leaseTtlSeconds: config.haLeaseTtlSeconds, clusterSecret: config.clusterSecret },
          { promote: () => nn.promote(), demote: () => nn.demote() },
          logger,
        ).catch(async (err: unknown) => {
          await server.close();
          throw err;
        });
        nn.ha = ha;
        haStarting = false;
        const coordinator = ha;
        parts.ha = {
          enabled: true,
          isActive: () => coordinator.isActive,
          inSync: () => coordinator.inSync,
          local: () => coordinator.local(),
          status: () => coordinator.status(),
          failover: (target) => coordinator.failover(target),
        };
      }
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
        // A round cut short because this NameNode stopped being the active one is no failure.
        if (this.ha && !this.ha.isActive) this.logger.debug({ err }, "background round ended: no longer the active NameNode");
        else this.logger.error({ err }, "background round failed");
      }
    });
    return this.round;
  }

  async stop(): Promise<void> {
    // An active member resigns first, so that another one takes over at once.
    await this.ha?.stop();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.active = false;
    this.parts.history.stop();
    await this.server.close();
    this.audit?.close();
    await this.round;
    await this.parts.chunks.scan.stop();
    await this.store.close();
    this.lock.release();
    this.logger.info("NameNode stopped");
  }

  /** Starts the background work a single or active NameNode does. */
  private becomeActive(): void {
    this.active = true;
    this.schedule();
  }

  /**
   * Elected (HA): the log is applied to its end. The replica map came with it
   * from the previous active one, so the startup safe mode has nothing to wait
   * for; every DataNode is asked for a full chunk report, the replication
   * scan checks every chunk again, and background work
   * (replication, trash, lease expiry, the balancer's rounds) starts.
   */
  private async promote(): Promise<void> {
    this.parts.datanodes.requestFullReports();
    await this.parts.safeMode.followMetadata();
    if (this.parts.safeMode.isOn && !this.parts.safeMode.isManual) await this.parts.safeMode.leave();
    else this.parts.chunks.scan.start();
    this.becomeActive();
  }

  /** No longer active (HA): background work stops; whatever round is under way finishes (its writes are refused). */
  private async demote(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.parts.chunks.balancer.stop("this NameNode is no longer the active one");
    await this.round;
    await this.parts.chunks.scan.stop();
  }

  private schedule(): void {
    if (!this.active) return;
    this.timer = setTimeout(() => {
      void this.runBackgroundRound().then(() => {
        if (this.timer && this.active) this.schedule();
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

/** Streams the active member's snapshot (one JSON line per record), respecting the socket's backpressure. */
function serveSnapshot(ha: HaCoordinator, req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, logger: Logger): void {
  void (async () => {
    const snap = await ha.snapshotFor(req.headers as Record<string, string | undefined>);
    if (snap.status !== 200 || !snap.lines) {
      res.writeHead(snap.status, { "content-type": "text/plain" });
      res.end(snap.message ?? "");
      return;
    }
    try {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      await pipeline(Readable.from((function* () {
        for (const line of snap.lines!()) yield `${line}\n`;
      })()), res as NodeJS.WritableStream);
    } finally {
      snap.done?.();
    }
  })().catch((err: unknown) => {
    logger.error({ err }, "cannot serve a metadata snapshot");
    res.destroy();
  });
}

/** The web console's build (apps/console/dist), if the package is installed beside the NameNode. */
function builtConsoleDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("@trainfs/console/package.json")), "dist");
  } catch {
    return undefined;
  }
}
