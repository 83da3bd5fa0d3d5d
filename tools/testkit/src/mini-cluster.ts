import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NameNode, nameNodeConfigSchema, type NameNodeConfig } from "@trainfs/namenode";
import { DataNode, dataNodeConfigSchema, packedChunksOnDisk, type DataNodeConfig, type PackedRecordOnDisk } from "@trainfs/datanode";
import { TrainfsClient, type TrainfsClientOptions } from "@trainfs/client";
import { RpcClients, createLogger, flagName } from "@trainfs/common";
import { startNodeProcess, type NodeProcess } from "./node-process.js";
import { EtcdCluster, freePorts, type EtcdClientTls } from "./etcd-cluster.js";
import { createCertificateAuthority } from "./tls-files.js";
import { findActive, getHaStatus, haStatusMethod, type HaStatus } from "./ha-status.js";

export interface MiniClusterOptions {
  /** How many DataNodes to start (default 3). */
  dataNodes?: number;
  /** In-process servers (fast, inspectable) or child processes (killable with SIGKILL). */
  mode?: "in-process" | "process";
  /** Where data lives; a fresh temporary directory, removed at shutdown, by default. */
  baseDir?: string;
  /** Fixed ports; 0 (any free port) by default. */
  nameNodePort?: number;
  dataNodePorts?: number[];
  /** Each DataNode's failure domain, by index (e.g. ["a", "a", "a", "b", "b", "b"]); none by default. */
  zones?: string[];
  /** Short by default so that liveness tests take a second, not ten. */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  nameNode?: Partial<Omit<NameNodeConfig, "host" | "port" | "dataDir">>;
  dataNode?: Partial<Omit<DataNodeConfig, "host" | "port" | "dataDir" | "namenode">>;
  /** Called when a server process exits without the kit stopping it (process mode). */
  onUnexpectedExit?: (name: string, status: number | string) => void;
  /** Log level of the servers ("silent" in process by default, "info" for processes). */
  logLevel?: NameNodeConfig["logLevel"];
  /** Turns security on: the cluster secret and API tokens; `client()` uses `clientToken` unless told otherwise. */
  security?: ClusterSecurity;
  /**
   * NameNode high availability (process mode only): an etcd cluster of its
   * own (or `etcd`'s) and `nameNodes` NameNodes started with `--ha-etcd`,
   * `--advertise-address` and `--ha-lease-ttl-seconds`; DataNodes and
   * clients get the comma-separated list of NameNodes.
   */
  ha?: MiniClusterHaOptions;
}

export interface MiniClusterHaOptions {
  /** How many NameNodes (default 2). */
  nameNodes?: number;
  /** Members of the etcd cluster started for it (default 3). */
  etcdMembers?: 1 | 3;
  /** An etcd cluster started by the caller instead (not stopped at shutdown). */
  etcd?: EtcdCluster;
  /** The NameNodes' lease TTL (`--ha-lease-ttl-seconds`); the NameNode's default (5) when absent. */
  leaseTtlSeconds?: number;
  /** Fixed NameNode ports by index (the advertised addresses must be known before start); free ports by default. */
  nameNodePorts?: number[];
  /** etcd's fixed client and peer ports by member; free ports by default. */
  etcdClientPorts?: number[];
  etcdPeerPorts?: number[];
  /** The etcd started for it serves TLS only and requires client certificates (a CA of its own); the NameNodes get one. */
  etcdTls?: boolean;
  /** How the NameNodes reach an etcd started by the caller (`etcd`): a client certificate, an etcd user (the password goes by environment). */
  etcdAccess?: { tls?: EtcdClientTls; user?: string; password?: string };
}

export interface ClusterSecurity {
  clusterSecret: string;
  /** `rw:<token>` or `ro:<token>` entries. */
  apiTokens: string[];
  clientToken?: string;
}

/** A fresh cluster secret and one read-write token, both random. */
export function generateSecurity(): ClusterSecurity & { clientToken: string } {
  const token = randomBytes(24).toString("base64url");
  return { clusterSecret: randomBytes(32).toString("base64url"), apiTokens: [`rw:${token}`], clientToken: token };
}

/** Background rounds of the NameNode in tests: dead nodes and replication handled within a tenth of a second. */
const FAST_ROUNDS_MS = 100;

/** A NameNode of the cluster: in this process, or a child process (running or down). */
interface NameNodeSlot {
  address: string;
  inProcess?: NameNode | undefined;
  proc?: NodeProcess | undefined;
}

type DataNodeSlot =
  | { kind: "in-process"; node: DataNode; address: string }
  | { kind: "process"; proc: NodeProcess; address: string };

/**
 * A NameNode and N DataNodes on loopback, on ephemeral ports with their own
 * data directories, like HDFS's MiniDFSCluster. Any DataNode can be stopped,
 * killed and restarted with its data; `shutdown` stops everything it started
 * and removes the data it created.
 */
export class MiniCluster {
  private readonly nameNodes: NameNodeSlot[] = [];
  private readonly slots: Array<DataNodeSlot | undefined> = [];
  private readonly clients: TrainfsClient[] = [];
  private etcdCluster: EtcdCluster | undefined;
  private etcdAccess: MiniClusterHaOptions["etcdAccess"];
  private ownsEtcd = false;
  private adminRpc: RpcClients | undefined;

  private constructor(
    readonly baseDir: string,
    private readonly ownsBaseDir: boolean,
    private readonly options: MiniClusterOptions,
  ) {}

  static async start(options: MiniClusterOptions = {}): Promise<MiniCluster> {
    const baseDir = options.baseDir ?? (await mkdtemp(join(tmpdir(), "trainfs-mini-")));
    await mkdir(baseDir, { recursive: true });
    const cluster = new MiniCluster(baseDir, options.baseDir === undefined, options);
    try {
      if (options.ha) await cluster.startHa(options.ha);
      else await cluster.startNameNode(0, options.nameNodePort ?? 0);
      await Promise.all(Array.from({ length: options.dataNodes ?? 3 }, (_, i) => cluster.startDataNode(i)));
      await cluster.waitForLiveDataNodes(options.dataNodes ?? 3);
    } catch (err) {
      await cluster.shutdown();
      throw err;
    }
    return cluster;
  }

  get mode(): "in-process" | "process" {
    return this.options.mode ?? "in-process";
  }

  /**
   * What clients and DataNodes are given: the NameNode's address, or with HA
   * every NameNode's, comma-separated.
   */
  get nameNodeAddress(): string {
    return this.nameNodes.map((n) => n.address).join(",");
  }

  /** Every NameNode's address, by index (one without HA). */
  get nameNodeAddresses(): string[] {
    return this.nameNodes.map((n) => n.address);
  }

  get nameNodeCount(): number {
    return this.nameNodes.length;
  }

  /** The etcd cluster behind the NameNodes (HA only). */
  get etcd(): EtcdCluster {
    if (!this.etcdCluster) throw new Error("this cluster has no etcd (start it with `ha`)");
    return this.etcdCluster;
  }

  get isHa(): boolean {
    return this.options.ha !== undefined;
  }

  /** The in-process NameNode, for looking at its state in tests. */
  get nameNode(): NameNode {
    const nn = this.nameNodes[0]?.inProcess;
    if (!nn) throw new Error("the NameNode is not running in this process");
    return nn;
  }

  get dataNodeCount(): number {
    return this.slots.length;
  }

  dataNodeDir(i: number): string {
    return join(this.baseDir, `datanode-${i + 1}`);
  }

  dataNodeAddress(i: number): string {
    const slot = this.slots[i];
    if (!slot) throw new Error(`DataNode ${i} is not running`);
    return slot.address;
  }

  /** Addresses of the running DataNodes, by index ("" for one not running). */
  dataNodeAddresses(): string[] {
    return this.slots.map((slot) => slot?.address ?? "");
  }

  /** The pid of the NameNode's process (process mode). */
  get nameNodePid(): number {
    return this.nameNodePidOf(0);
  }

  /** The pid of NameNode i's process (process mode). */
  nameNodePidOf(i: number): number {
    const proc = this.nameNodes[i]?.proc;
    if (!proc) throw new Error(`NameNode ${i} is not running as a process`);
    return proc.pid;
  }

  isNameNodeRunning(i: number): boolean {
    const slot = this.nameNodes[i];
    return slot?.proc !== undefined || slot?.inProcess !== undefined;
  }

  /** The pid of DataNode i's process (process mode), e.g. for SIGSTOP. */
  dataNodePid(i: number): number {
    const slot = this.slots[i];
    if (slot?.kind !== "process") throw new Error(`DataNode ${i} is not running as a process`);
    return slot.proc.pid;
  }

  isRunning(i: number): boolean {
    return this.slots[i] !== undefined;
  }

  /** The in-process DataNode i. */
  dataNode(i: number): DataNode {
    const slot = this.slots[i];
    if (slot?.kind !== "in-process") throw new Error(`DataNode ${i} is not running in this process`);
    return slot.node;
  }

  /** The security the cluster was started with, if any (the S3 gateway's token comes from it). */
  get security(): ClusterSecurity | undefined {
    return this.options.security;
  }

  client(options: Partial<TrainfsClientOptions> = {}): TrainfsClient {
    const client = new TrainfsClient({ namenode: this.nameNodeAddress, token: this.options.security?.clientToken, ...options });
    this.clients.push(client);
    return client;
  }

  /** Starts (or restarts, with its data) DataNode i, with settings of its own if given. */
  async startDataNode(i: number = this.slots.length, overrides: MiniClusterOptions["dataNode"] = {}): Promise<void> {
    if (this.slots[i]) throw new Error(`DataNode ${i} is already running`);
    const dataDir = this.dataNodeDir(i);
    const port = this.options.dataNodePorts?.[i] ?? 0;
    const heartbeatIntervalMs = this.options.heartbeatIntervalMs ?? 200;
    if (this.mode === "in-process") {
      const config = dataNodeConfigSchema.parse({
        ...this.options.dataNode, zone: this.options.zones?.[i], clusterSecret: this.options.security?.clusterSecret, ...overrides, host: "127.0.0.1", port, dataDir,
        namenode: this.nameNodeAddress, heartbeatIntervalMs, logLevel: this.logLevel,
      });
      const node = await DataNode.start(config, createLogger(`datanode-${i + 1}`, config.logLevel));
      this.slots[i] = { kind: "in-process", node, address: node.address };
      await node.link.ready;
    } else {
      const proc = await startNodeProcess(
        "@trainfs/datanode",
        ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--namenode", this.nameNodeAddress,
          "--heartbeat-interval-ms", String(heartbeatIntervalMs), "--log-level", this.logLevel,
          ...flagsOf({ ...this.options.dataNode, zone: this.options.zones?.[i], ...overrides })],
        { logFile: join(this.baseDir, `datanode-${i + 1}.log`), env: this.securityEnv("TRAINFS_DATANODE_") },
      );
      const slot: DataNodeSlot = { kind: "process", proc, address: proc.address };
      this.slots[i] = slot;
      void proc.exited.then((status) => {
        if (this.slots[i] !== slot) return; // stopped or killed through the kit
        this.slots[i] = undefined;
        this.options.onUnexpectedExit?.(`DataNode ${i + 1}`, status);
      });
      await proc.waitForLine("registered with");
    }
  }

  /** Stops DataNode i cleanly; its data stays for a restart. */
  async stopDataNode(i: number): Promise<void> {
    const slot = this.slots[i];
    if (!slot) return;
    this.slots[i] = undefined;
    if (slot.kind === "in-process") await slot.node.stop();
    else await slot.proc.stop();
  }

  /** Kills DataNode i with SIGKILL (process mode), like a crash. */
  async killDataNode(i: number): Promise<void> {
    const slot = this.slots[i];
    if (slot?.kind !== "process") throw new Error("killDataNode needs a DataNode running as a process (mode: 'process')");
    this.slots[i] = undefined;
    await slot.proc.kill();
  }

  /**
   * Stops the NameNode (with SIGKILL when `kill` is set, in process mode) and
   * starts it again, after `downMs`, on the same port and metadata. With HA,
   * `restartNameNode(i)` does so for NameNode i, or starts it again when it
   * was killed (`killNameNode`).
   */
  async restartNameNode(which: number | { kill?: boolean; downMs?: number } = {}, options: { kill?: boolean; downMs?: number } = {}): Promise<void> {
    const i = typeof which === "number" ? which : 0;
    const o = typeof which === "number" ? options : which;
    const slot = this.nameNodes[i];
    if (!slot) throw new Error(`there is no NameNode ${i} (the cluster has ${this.nameNodes.length})`);
    const port = Number(new URL(slot.address).port);
    if (o.kill) {
      if (!slot.proc) throw new Error("killing the NameNode needs it running as a process (mode: 'process')");
      await this.killNameNode(i, "SIGKILL");
    } else {
      await this.stopNameNode(i);
    }
    if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
    await this.startNameNode(i, port);
  }

  /**
   * Sends `signal` to NameNode i's process (SIGKILL by default: a crash).
   * SIGKILL and SIGTERM wait for it to exit and leave it down until
   * `restartNameNode(i)`; SIGSTOP and SIGCONT pause and resume it (a
   * NameNode stopped past its lease must lose leadership).
   */
  async killNameNode(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const slot = this.nameNodes[i];
    const proc = slot?.proc;
    if (!slot || !proc) throw new Error(`NameNode ${i} is not running as a process (mode: 'process')`);
    if (signal === "SIGSTOP" || signal === "SIGCONT") {
      process.kill(proc.pid, signal);
      return;
    }
    slot.proc = undefined;
    if (signal === "SIGKILL") await proc.kill();
    else {
      process.kill(proc.pid, signal);
      await proc.exited;
    }
  }

  /**
   * The index of the active NameNode, or undefined while none is (an
   * election under way). Without HA it is 0. Asked with GetHaStatus when the
   * build has it; otherwise the NameNode that serves a client call (see
   * findActive).
   */
  async activeNameNode(timeoutMs = 2000): Promise<number | undefined> {
    if (!this.isHa) return this.isNameNodeRunning(0) ? 0 : undefined;
    const running = this.nameNodes.map((n, i) => ({ n, i })).filter(({ n }) => n.proc !== undefined);
    const found = await findActive(this.admin(), running.map(({ n }) => n.address), timeoutMs);
    return found === undefined ? undefined : running[found]!.i;
  }

  /** Waits until a NameNode is active and returns its index. */
  async waitForActiveNameNode(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const active = await this.activeNameNode();
      if (active !== undefined) return active;
      if (Date.now() > deadline) throw new Error(`no NameNode became active within ${timeoutMs} ms (see ${this.baseDir}/namenode-*.log)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** NameNode i's GetHaStatus answer (undefined when it does not answer); throws when the build has no GetHaStatus. */
  async haStatus(i: number, timeoutMs = 2000): Promise<HaStatus | undefined> {
    const slot = this.nameNodes[i];
    if (!slot) throw new Error(`there is no NameNode ${i}`);
    return getHaStatus(this.admin(), slot.address, timeoutMs);
  }

  /** Whether the NameNodes of this build have GetHaStatus (NameNode HA merged). */
  static get haAvailable(): boolean {
    return haStatusMethod() !== undefined;
  }

  /** Waits until the (in-process) NameNode counts `n` live DataNodes. */
  async waitForLiveDataNodes(n: number, timeoutMs = 20_000): Promise<void> {
    const nn = this.nameNodes[0]?.inProcess;
    if (!nn) return; // process mode: startDataNode waited for registration
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = nn.datanodes.liveNodes().length;
      if (live === n) return;
      if (Date.now() > deadline) throw new Error(`expected ${n} live DataNodes, the NameNode sees ${live}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Ids of the chunks in service (not metadata, not quarantined) on DataNode
   * i's disk, whatever their format: plain chunk files and live packed records.
   */
  async chunkFiles(i: number): Promise<string[]> {
    const root = join(this.dataNodeDir(i), "chunks");
    const out = new Set<string>();
    for (const prefix of await readdir(root).catch(() => [])) {
      for (const name of await readdir(join(root, prefix))) if (/^[0-9a-f]{32}$/.test(name)) out.add(name);
    }
    for (const [chunkId, r] of await this.packedRecords(i)) if (r.state === "live") out.add(chunkId);
    return [...out].sort();
  }

  /** The packed records on DataNode i's disk (read only: safe while it runs). */
  async packedRecords(i: number): Promise<Map<string, PackedRecordOnDisk>> {
    return packedChunksOnDisk(join(this.dataNodeDir(i), "volumes"));
  }

  /**
   * Where DataNode i keeps the bytes of a chunk in service: the file, and
   * the offset in it where the chunk starts (0 for a plain chunk file; a
   * packed record's data in its volume otherwise); undefined if not held.
   */
  async replicaOnDisk(i: number, chunkId: string): Promise<{ path: string; start: number; length: number; packed: boolean } | undefined> {
    const packed = (await this.packedRecords(i)).get(chunkId);
    if (packed?.state === "live") return { path: packed.path, start: packed.dataOffset, length: packed.length, packed: true };
    const path = join(this.dataNodeDir(i), "chunks", chunkId.slice(0, 2), chunkId);
    const size = await stat(path).then((s) => s.size, () => undefined);
    return size === undefined ? undefined : { path, start: 0, length: size, packed: false };
  }

  async shutdown(): Promise<void> {
    for (const c of this.clients.splice(0)) c.close();
    await Promise.all(this.slots.map((_, i) => this.stopDataNode(i)));
    await Promise.all(this.nameNodes.map((_, i) => this.stopNameNode(i)));
    this.adminRpc?.close();
    if (this.ownsEtcd) await this.etcdCluster?.stop();
    if (this.ownsBaseDir) await rm(this.baseDir, { recursive: true, force: true });
  }

  private async stopNameNode(i: number): Promise<void> {
    const slot = this.nameNodes[i];
    if (!slot) return;
    const { inProcess, proc } = slot;
    slot.inProcess = undefined;
    slot.proc = undefined;
    await inProcess?.stop();
    if (proc) {
      // A paused NameNode would not see SIGTERM until resumed.
      try {
        process.kill(proc.pid, "SIGCONT");
      } catch {
        // already gone
      }
      await proc.stop();
    }
  }

  /** The kit's own admin connections (HA status), with the cluster's token. */
  private admin(): RpcClients {
    this.adminRpc ??= new RpcClients({ token: this.options.security?.clientToken });
    return this.adminRpc;
  }

  private async startHa(ha: MiniClusterHaOptions): Promise<void> {
    if (this.mode !== "process") throw new Error("NameNode HA in the MiniCluster needs mode: 'process' (NameNodes are killed with SIGKILL)");
    const count = ha.nameNodes ?? 2;
    if (count < 1) throw new Error("ha.nameNodes must be at least 1");
    if (ha.etcd) this.etcdCluster = ha.etcd;
    else {
      this.etcdCluster = await EtcdCluster.start({
        members: ha.etcdMembers ?? 3,
        dir: join(this.baseDir, "etcd"),
        ...(ha.etcdClientPorts ? { clientPorts: ha.etcdClientPorts } : {}),
        ...(ha.etcdPeerPorts ? { peerPorts: ha.etcdPeerPorts } : {}),
        onUnexpectedExit: (m, status) => this.options.onUnexpectedExit?.(`etcd member ${m + 1}`, status),
        ...(ha.etcdTls ? { tls: await createCertificateAuthority(join(this.baseDir, "etcd-tls")) } : {}),
      });
      this.ownsEtcd = true;
      if (ha.etcdTls) this.etcdAccess = { tls: await this.etcdCluster.issueClientTls("trainfs-namenode") };
    }
    if (ha.etcdAccess) this.etcdAccess = ha.etcdAccess;
    // Each NameNode advertises its own address, so its port is chosen first.
    const free = await freePorts(count);
    for (let i = 0; i < count; i++) this.nameNodes[i] = { address: `http://127.0.0.1:${ha.nameNodePorts?.[i] ?? free[i]!}` };
    await Promise.all(this.nameNodes.map((slot, i) => this.startNameNode(i, Number(new URL(slot.address).port))));
    await this.waitForActiveNameNode();
  }

  /** Secrets go to child processes by environment, never on a command line that `ps` shows. */
  private securityEnv(prefix: "TRAINFS_NAMENODE_" | "TRAINFS_DATANODE_"): NodeJS.ProcessEnv {
    const security = this.options.security;
    if (!security) return {};
    return {
      [`${prefix}CLUSTER_SECRET`]: security.clusterSecret,
      ...(prefix === "TRAINFS_NAMENODE_" ? { TRAINFS_NAMENODE_API_TOKENS: security.apiTokens.join(",") } : {}),
    };
  }

  private get logLevel(): NameNodeConfig["logLevel"] {
    return this.options.logLevel ?? (this.mode === "in-process" ? "silent" : "info");
  }

  private async startNameNode(i: number, port: number): Promise<void> {
    const ha = this.options.ha;
    const dataDir = join(this.baseDir, ha ? `namenode-${i + 1}` : "namenode");
    const heartbeatTimeoutMs = this.options.heartbeatTimeoutMs ?? 2000;
    const slot = (this.nameNodes[i] ??= { address: "" });
    if (this.mode === "in-process") {
      const config = nameNodeConfigSchema.parse({
        monitorIntervalMs: FAST_ROUNDS_MS, clusterSecret: this.options.security?.clusterSecret, apiTokens: this.options.security?.apiTokens,
        ...this.options.nameNode, host: "127.0.0.1", port, dataDir, heartbeatTimeoutMs, logLevel: this.logLevel,
      });
      slot.inProcess = await NameNode.start(config, createLogger("namenode", config.logLevel));
      slot.address = slot.inProcess.address;
    } else {
      // The HA flags of the contract (apps/namenode's haEtcd, advertiseAddress, haLeaseTtlSeconds).
      const access = this.etcdAccess;
      const haFlags = ha
        ? ["--ha-etcd", this.etcd.endpoints, "--advertise-address", slot.address,
            ...(ha.leaseTtlSeconds !== undefined ? ["--ha-lease-ttl-seconds", String(ha.leaseTtlSeconds)] : []),
            ...(access?.tls ? ["--ha-etcd-ca", access.tls.caFile, "--ha-etcd-cert", access.tls.certFile, "--ha-etcd-key", access.tls.keyFile] : []),
            ...(access?.user !== undefined ? ["--ha-etcd-user", access.user] : [])]
        : [];
      const etcdPassword = access?.password !== undefined ? { TRAINFS_NAMENODE_HA_ETCD_PASSWORD: access.password } : {};
      const proc = await startNodeProcess(
        "@trainfs/namenode",
        ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir,
          "--heartbeat-timeout-ms", String(heartbeatTimeoutMs), "--log-level", this.logLevel,
          ...haFlags,
          ...flagsOf({ monitorIntervalMs: FAST_ROUNDS_MS, ...this.options.nameNode })],
        { logFile: join(this.baseDir, ha ? `namenode-${i + 1}.log` : "namenode.log"), env: { ...this.securityEnv("TRAINFS_NAMENODE_"), ...etcdPassword } },
      );
      slot.proc = proc;
      void proc.exited.then((status) => {
        if (slot.proc === proc) {
          slot.proc = undefined;
          this.options.onUnexpectedExit?.(ha ? `NameNode ${i + 1}` : "NameNode", status);
        }
      });
      slot.address = proc.address;
    }
  }
}

/** { defaultChunkSize: 1024 } → ["--default-chunk-size", "1024"]. */
function flagsOf(settings: Record<string, unknown>): string[] {
  return Object.entries(settings)
    .filter(([, v]) => v !== undefined)
    .flatMap(([k, v]) => [flagName(k), String(v)]);
}
