import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NameNode, nameNodeConfigSchema, type NameNodeConfig } from "@trainfs/namenode";
import { DataNode, dataNodeConfigSchema, packedChunksOnDisk, type DataNodeConfig, type PackedRecordOnDisk } from "@trainfs/datanode";
import { TrainfsClient, type TrainfsClientOptions } from "@trainfs/client";
import { createLogger, flagName } from "@trainfs/common";
import { startNodeProcess, type NodeProcess } from "./node-process.js";

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
  private nameNodeInProcess: NameNode | undefined;
  private nameNodeProcess: NodeProcess | undefined;
  private readonly slots: Array<DataNodeSlot | undefined> = [];
  private readonly clients: TrainfsClient[] = [];
  private nameNodeUrl = "";

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
      await cluster.startNameNode();
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

  get nameNodeAddress(): string {
    return this.nameNodeUrl;
  }

  /** The in-process NameNode, for looking at its state in tests. */
  get nameNode(): NameNode {
    if (!this.nameNodeInProcess) throw new Error("the NameNode is not running in this process");
    return this.nameNodeInProcess;
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
    if (!this.nameNodeProcess) throw new Error("the NameNode is not running as a process");
    return this.nameNodeProcess.pid;
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
    const client = new TrainfsClient({ namenode: this.nameNodeUrl, token: this.options.security?.clientToken, ...options });
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
        namenode: this.nameNodeUrl, heartbeatIntervalMs, logLevel: this.logLevel,
      });
      const node = await DataNode.start(config, createLogger(`datanode-${i + 1}`, config.logLevel));
      this.slots[i] = { kind: "in-process", node, address: node.address };
      await node.link.ready;
    } else {
      const proc = await startNodeProcess(
        "@trainfs/datanode",
        ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--namenode", this.nameNodeUrl,
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
   * starts it again, after `downMs`, on the same port and metadata.
   */
  async restartNameNode(options: { kill?: boolean; downMs?: number } = {}): Promise<void> {
    const port = Number(new URL(this.nameNodeUrl).port);
    if (options.kill) {
      const proc = this.nameNodeProcess;
      if (!proc) throw new Error("killing the NameNode needs it running as a process (mode: 'process')");
      this.nameNodeProcess = undefined;
      await proc.kill();
    } else {
      await this.stopNameNode();
    }
    if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
    await this.startNameNode(port);
  }

  /** Waits until the (in-process) NameNode counts `n` live DataNodes. */
  async waitForLiveDataNodes(n: number, timeoutMs = 20_000): Promise<void> {
    if (!this.nameNodeInProcess) return; // process mode: startDataNode waited for registration
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.nameNodeInProcess.datanodes.liveNodes().length;
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
    await this.stopNameNode();
    if (this.ownsBaseDir) await rm(this.baseDir, { recursive: true, force: true });
  }

  private async stopNameNode(): Promise<void> {
    const inProcess = this.nameNodeInProcess;
    const proc = this.nameNodeProcess;
    this.nameNodeInProcess = undefined;
    this.nameNodeProcess = undefined;
    await inProcess?.stop();
    await proc?.stop();
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

  private async startNameNode(port = this.options.nameNodePort ?? 0): Promise<void> {
    const dataDir = join(this.baseDir, "namenode");
    const heartbeatTimeoutMs = this.options.heartbeatTimeoutMs ?? 2000;
    if (this.mode === "in-process") {
      const config = nameNodeConfigSchema.parse({
        monitorIntervalMs: FAST_ROUNDS_MS, clusterSecret: this.options.security?.clusterSecret, apiTokens: this.options.security?.apiTokens,
        ...this.options.nameNode, host: "127.0.0.1", port, dataDir, heartbeatTimeoutMs, logLevel: this.logLevel,
      });
      this.nameNodeInProcess = await NameNode.start(config, createLogger("namenode", config.logLevel));
      this.nameNodeUrl = this.nameNodeInProcess.address;
    } else {
      this.nameNodeProcess = await startNodeProcess(
        "@trainfs/namenode",
        ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir,
          "--heartbeat-timeout-ms", String(heartbeatTimeoutMs), "--log-level", this.logLevel,
          ...flagsOf({ monitorIntervalMs: FAST_ROUNDS_MS, ...this.options.nameNode })],
        { logFile: join(this.baseDir, "namenode.log"), env: this.securityEnv("TRAINFS_NAMENODE_") },
      );
      const proc = this.nameNodeProcess;
      void proc.exited.then((status) => {
        if (this.nameNodeProcess === proc) this.options.onUnexpectedExit?.("NameNode", status);
      });
      this.nameNodeUrl = proc.address;
    }
  }
}

/** { defaultChunkSize: 1024 } → ["--default-chunk-size", "1024"]. */
function flagsOf(settings: Record<string, unknown>): string[] {
  return Object.entries(settings)
    .filter(([, v]) => v !== undefined)
    .flatMap(([k, v]) => [flagName(k), String(v)]);
}
