import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { access, constants, mkdir } from "node:fs/promises";
import { get as httpsGet } from "node:https";
import { createServer, type AddressInfo, type Server } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { spawnChild, type ChildHandle } from "./node-process.js";
import type { CertificateAuthority } from "./tls-files.js";

/** Debian's etcd (scripts/ensure-etcd.sh installs it); TRAINFS_ETCD_BIN points elsewhere. */
export const ETCD_BIN = process.env.TRAINFS_ETCD_BIN ?? "/usr/bin/etcd";

export interface EtcdClusterOptions {
  /** 1 or 3 members (an odd number; 3 survives the loss of one). */
  members: 1 | 3;
  /** Each member's data directory and log go below it. */
  dir: string;
  /** Fixed client ports by member (e.g. the local HA cluster's 2379, 2479, 2579); free ports by default. */
  clientPorts?: number[];
  /** Fixed peer ports by member; free ports by default. */
  peerPorts?: number[];
  /**
   * etcd keeps every revision of every key until compacted. Periodic
   * compaction keeps this much history (etcd's duration syntax; it compacts
   * every tenth of it): a watcher further behind gets "compacted" and must
   * catch up from a checkpoint, as the NameNode's standbys do. Default "1m".
   */
  compactionRetention?: string;
  /** etcd refuses writes (NOSPACE alarm) past this backend size; default 1 GiB (etcd's own: 2 GiB). */
  quotaBackendBytes?: number;
  /** Called when a member exits without the kit stopping or killing it. */
  onUnexpectedExit?: (member: number, status: number | string) => void;
  startTimeoutMs?: number;
  /** The etcd binary; ETCD_BIN by default. */
  bin?: string;
  /** The address members listen on; 127.0.0.1 by default (a NetLab host's address, with its `wrap`). */
  host?: string;
  /** A command prefix that runs each member, e.g. NetLab's `wrap(host)`. */
  wrap?: string[];
  /**
   * TLS on every client and peer port, from this CA, and a certificate from
   * it required of every client and peer (etcd's `--client-cert-auth` and
   * `--peer-client-cert-auth`): only holders of one can reach etcd at all.
   * The kit's own calls (status, defragment, auth) then go through etcdctl
   * with a certificate of its own (common name `root`).
   */
  tls?: CertificateAuthority;
}

/** A client certificate etcd accepts: what a NameNode's haEtcdCa, haEtcdCert and haEtcdKey name. */
export interface EtcdClientTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** What etcd's maintenance Status answers (the /v3 JSON gateway spells 64-bit numbers as strings). */
export interface EtcdMemberStatus {
  memberId: string;
  leaderId: string;
  dbSize: number;
  dbSizeInUse: number;
  raftIndex: number;
  raftTerm: number;
  version: string;
}

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  proc: ChildHandle | undefined;
  /** Its certificate, for client and peer ports alike (TLS only). */
  cert?: { certFile: string; keyFile: string };
}

/**
 * An etcd cluster of real members (Debian's /usr/bin/etcd) on loopback (or a NetLab host), each
 * with its own ports and data directory, for NameNode HA: started healthy,
 * any member killable (any signal) and restartable with its data, stopped
 * by the PIDs it started and nothing else.
 */
export class EtcdCluster {
  private stopping = false;
  /** The kit's own client certificate (TLS only), and its PEMs read once for the health polls. */
  private kitTls: EtcdClientTls | undefined;
  private kitPems: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;
  /** root's password, once `enableAuth` turned etcd's authentication on. */
  private rootPassword: string | undefined;

  private constructor(
    private readonly members: Member[],
    private readonly initialCluster: string,
    private readonly token: string,
    private readonly options: EtcdClusterOptions,
  ) {}

  static async start(options: EtcdClusterOptions): Promise<EtcdCluster> {
    if (options.members !== 1 && options.members !== 3) throw new Error(`an etcd cluster has 1 or 3 members here, not ${String(options.members)}`);
    try {
      await access(options.bin ?? ETCD_BIN, constants.X_OK);
    } catch {
      throw new Error(`etcd is not installed (${options.bin ?? ETCD_BIN} is missing): run \`bash scripts/ensure-etcd.sh\` (Debian's etcd-server and etcd-client)`);
    }
    const free = await freePorts(options.members * 2 - (options.clientPorts?.length ?? 0) - (options.peerPorts?.length ?? 0));
    const members: Member[] = Array.from({ length: options.members }, (_, i) => {
      const clientPort = options.clientPorts?.[i] ?? free.pop()!;
      const peerPort = options.peerPorts?.[i] ?? free.pop()!;
      const scheme = options.tls ? "https" : "http";
      return {
        name: `etcd-${i + 1}`,
        clientUrl: `${scheme}://${options.host ?? "127.0.0.1"}:${clientPort}`,
        peerUrl: `${scheme}://${options.host ?? "127.0.0.1"}:${peerPort}`,
        dataDir: join(options.dir, `etcd-${i + 1}`),
        proc: undefined,
      };
    });
    // A token of its own, so that members of another test's cluster that
    // happen to reach these ports are refused rather than joined.
    const token = `trainfs-${randomBytes(6).toString("hex")}`;
    const cluster = new EtcdCluster(members, members.map((m) => `${m.name}=${m.peerUrl}`).join(","), token, options);
    await mkdir(options.dir, { recursive: true });
    if (options.tls) {
      const ip = options.host ?? "127.0.0.1";
      for (const m of members) m.cert = await options.tls.issue(m.name, { commonName: m.name, ips: [ip] });
      cluster.kitTls = await cluster.issueClientTls("root");
      cluster.kitPems = { ca: readFileSync(cluster.kitTls.caFile), cert: readFileSync(cluster.kitTls.certFile), key: readFileSync(cluster.kitTls.keyFile) };
    }
    try {
      // Members of a new cluster wait for each other: start them all, then wait.
      for (let i = 0; i < members.length; i++) await cluster.spawn(i);
      await cluster.waitHealthy(options.startTimeoutMs ?? 30_000);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** Every member's client URL, by member index. */
  get clientUrls(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** The comma-separated client URLs: the NameNode's `--ha-etcd` and etcdctl's `--endpoints`. */
  get endpoints(): string {
    return this.clientUrls.join(",");
  }

  get size(): number {
    return this.members.length;
  }

  /** Member i's PID (for SIGSTOP and the like), or undefined when it is not running. */
  pid(i: number): number | undefined {
    return this.members[i]?.proc?.pid;
  }

  isRunning(i: number): boolean {
    return this.members[i]?.proc !== undefined;
  }

  logFile(i: number): string {
    return join(this.options.dir, `${this.member(i).name}.log`);
  }

  /**
   * A client certificate from the cluster's CA (TLS only) with `commonName`:
   * with etcd's authentication on and no user given, etcd takes it for the user.
   */
  async issueClientTls(commonName: string): Promise<EtcdClientTls> {
    const ca = this.options.tls;
    if (!ca) throw new Error("this etcd cluster has no TLS (start it with `tls`)");
    return { caFile: ca.caFile, ...(await ca.issue(`client-${commonName}`, { commonName })) };
  }

  /** Turns etcd's authentication on (etcd's `auth enable`): a `root` user with this password, and the root role. */
  async enableAuth(rootPassword: string): Promise<void> {
    await this.etcdctl(["user", "add", "root", `--new-user-password=${rootPassword}`]);
    await this.etcdctl(["role", "add", "root"]);
    await this.etcdctl(["user", "grant-role", "root", "root"]);
    await this.etcdctl(["auth", "enable"]);
    this.rootPassword = rootPassword;
  }

  /** Adds a user (a random password when none is given: a certificate's user) with read-write on the keys under `prefix`, if any. */
  async addUser(name: string, password: string | undefined, prefix?: string): Promise<void> {
    await this.etcdctl(["user", "add", name, `--new-user-password=${password ?? randomBytes(18).toString("base64url")}`]);
    if (prefix === undefined) return;
    await this.etcdctl(["role", "add", `${name}-role`]);
    await this.etcdctl(["role", "grant-permission", `${name}-role`, "--prefix=true", "readwrite", prefix]);
    await this.etcdctl(["user", "grant-role", name, `${name}-role`]);
  }

  /** Runs etcdctl against the running members, with the kit's certificate and root's password when set. */
  private async etcdctl(args: string[], endpoints = this.members.filter((m) => m.proc).map((m) => m.clientUrl)): Promise<string> {
    const tls = this.kitTls ? ["--cacert", this.kitTls.caFile, "--cert", this.kitTls.certFile, "--key", this.kitTls.keyFile] : [];
    const user = this.rootPassword ? ["--user", `root:${this.rootPassword}`] : [];
    // The environment's ETCDCTL_* variables would override these flags.
    const env: NodeJS.ProcessEnv = { ...process.env, ETCDCTL_API: "3" };
    for (const key of Object.keys(env)) if (key.startsWith("ETCDCTL_") && key !== "ETCDCTL_API") delete env[key];
    try {
      const { stdout } = await promisify(execFile)(join(dirname(this.options.bin ?? ETCD_BIN), "etcdctl"), ["--endpoints", endpoints.join(","), ...tls, ...user, ...args], { env, timeout: 30_000 });
      return stdout;
    } catch (err) {
      throw new Error(`etcdctl ${args.slice(0, 2).join(" ")} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
    }
  }

  /** Member i's maintenance status, or undefined when it does not answer. */
  async status(i: number, timeoutMs = 2000): Promise<EtcdMemberStatus | undefined> {
    const m = this.member(i);
    if (this.kitTls) return this.statusByEtcdctl(m, timeoutMs);
    try {
      const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return undefined;
      const body = (await res.json()) as {
        header?: { member_id?: string };
        leader?: string;
        dbSize?: string;
        dbSizeInUse?: string;
        raftIndex?: string;
        raftTerm?: string;
        version?: string;
      };
      return {
        memberId: body.header?.member_id ?? "",
        leaderId: body.leader ?? "0",
        dbSize: Number(body.dbSize ?? 0),
        dbSizeInUse: Number(body.dbSizeInUse ?? body.dbSize ?? 0),
        raftIndex: Number(body.raftIndex ?? 0),
        raftTerm: Number(body.raftTerm ?? 0),
        version: body.version ?? "",
      };
    } catch {
      return undefined;
    }
  }

  private async statusByEtcdctl(m: Member, timeoutMs: number): Promise<EtcdMemberStatus | undefined> {
    try {
      // etcdctl spells the ids as JSON numbers beyond 2^53: kept as digits, not rounded.
      const out = (await this.etcdctl(["endpoint", "status", "-w", "json", `--command-timeout=${timeoutMs}ms`], [m.clientUrl])).replace(/("(?:member_id|leader|cluster_id)":)(\d+)/g, '$1"$2"');
      const s = (JSON.parse(out) as Array<{ Status: { header: { member_id: string }; leader: string; dbSize: number; dbSizeInUse?: number; raftIndex: number; raftTerm: number; version: string } }>)[0]!.Status;
      return { memberId: s.header.member_id, leaderId: s.leader, dbSize: s.dbSize, dbSizeInUse: s.dbSizeInUse ?? s.dbSize, raftIndex: s.raftIndex, raftTerm: s.raftTerm, version: s.version };
    } catch {
      return undefined;
    }
  }

  /** The index of the raft leader among the running members, or undefined when none is elected (or none answers). */
  async leader(): Promise<number | undefined> {
    const statuses = await Promise.all(this.members.map((m, i) => (m.proc ? this.status(i) : Promise.resolve(undefined))));
    for (let i = 0; i < statuses.length; i++) {
      const s = statuses[i];
      if (s && s.leaderId !== "0" && s.memberId === s.leaderId) return i;
    }
    return undefined;
  }

  /** Waits until a leader is elected and returns its index. */
  async waitForLeader(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leader();
      if (leader !== undefined) return leader;
      if (Date.now() > deadline) throw new Error(`no etcd leader elected within ${timeoutMs} ms (${this.describe()})`);
      await sleep(100);
    }
  }

  /**
   * The backend database's size (the largest of the running members'): `dbSize`
   * is the file (it shrinks only on defragmentation), `dbSizeInUse` what
   * compaction left live in it.
   */
  async dbSize(): Promise<{ dbSize: number; dbSizeInUse: number }> {
    const statuses = (await Promise.all(this.members.map((m, i) => (m.proc ? this.status(i) : Promise.resolve(undefined))))).filter((s) => s !== undefined);
    if (statuses.length === 0) throw new Error(`no etcd member answers (${this.describe()})`);
    return {
      dbSize: Math.max(...statuses.map((s) => s.dbSize)),
      dbSizeInUse: Math.max(...statuses.map((s) => s.dbSizeInUse)),
    };
  }

  /** Frees the space compaction left in every running member's file (etcd's defragment), so `dbSize` shows it. */
  async defragment(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        if (!m.proc) return;
        if (this.kitTls) {
          await this.etcdctl(["defrag"], [m.clientUrl]);
          return;
        }
        const res = await fetch(`${m.clientUrl}/v3/maintenance/defragment`, { method: "POST", body: "{}", signal: AbortSignal.timeout(60_000) });
        if (!res.ok) throw new Error(`defragmenting ${m.name} failed: ${res.status} ${await res.text()}`);
      }),
    );
  }

  /**
   * Sends `signal` to member i (SIGKILL by default: a crash). For SIGKILL and
   * SIGTERM it resolves once the member has exited and counts it as stopped;
   * SIGSTOP and SIGCONT only pause and resume it.
   */
  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const m = this.member(i);
    const proc = m.proc;
    if (!proc) throw new Error(`${m.name} is not running`);
    if (signal === "SIGSTOP" || signal === "SIGCONT") {
      process.kill(proc.pid, signal);
      return;
    }
    m.proc = undefined;
    await proc.signal(signal, signal === "SIGKILL" ? 0 : 10_000);
  }

  /** Starts member i again with its data (after `kill`), and waits until the cluster is healthy. */
  async restart(i: number, timeoutMs = 30_000): Promise<void> {
    const m = this.member(i);
    if (m.proc) throw new Error(`${m.name} is still running`);
    await this.spawn(i);
    await this.waitMemberHealthy(i, timeoutMs);
  }

  /** Stops every member this cluster started (SIGTERM, SIGKILL after a grace), by its PID. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.members.map(async (m) => {
        const proc = m.proc;
        m.proc = undefined;
        if (!proc) return;
        // A paused member would not see SIGTERM until resumed.
        try {
          process.kill(proc.pid, "SIGCONT");
        } catch {
          // already gone
        }
        await proc.signal("SIGTERM", 5000);
      }),
    );
  }

  /** Resolves when every running member answers /health with a leader in place. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.members.map((m, i) => (m.proc ? this.waitMemberHealthy(i, timeoutMs) : undefined)));
  }

  private async waitMemberHealthy(i: number, timeoutMs: number): Promise<void> {
    const m = this.member(i);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const proc = m.proc;
      if (!proc) throw new Error(`${m.name} is not running`);
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${m.name} exited before it was healthy (see ${this.logFile(i)}):\n${proc.tail.join("\n")}`);
      }
      try {
        // etcd's /health is true once the member sees a leader and can serve a read.
        if ((await this.health(m)) === "true") return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${m.name} (${m.clientUrl}) was not healthy within ${timeoutMs} ms (see ${this.logFile(i)}):\n${proc.tail.join("\n")}`);
      await sleep(100);
    }
  }

  private async health(m: Member): Promise<string> {
    const pems = this.kitPems;
    if (!pems) {
      const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      return res.ok ? String(((await res.json()) as { health?: string | boolean }).health) : "";
    }
    return new Promise((resolve, reject) => {
      const req = httpsGet(`${m.clientUrl}/health`, { ...pems, timeout: 1000 }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => {
          try {
            resolve(res.statusCode === 200 ? String((JSON.parse(body) as { health?: string | boolean }).health) : "");
          } catch (err) {
            reject(err as Error);
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error("timed out"))).on("error", reject);
    });
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (!m) throw new Error(`there is no etcd member ${i} (the cluster has ${this.members.length})`);
    return m;
  }

  private describe(): string {
    return this.members.map((m) => `${m.name} ${m.proc ? `pid ${m.proc.pid}` : "down"}`).join(", ");
  }

  private async spawn(i: number): Promise<void> {
    const m = this.member(i);
    await mkdir(m.dataDir, { recursive: true, mode: 0o700 });
    const proc = spawnChild(
      [
        ...(this.options.wrap ?? []),
        this.options.bin ?? ETCD_BIN,
        "--name", m.name,
        "--data-dir", m.dataDir,
        "--listen-client-urls", m.clientUrl,
        "--advertise-client-urls", m.clientUrl,
        "--listen-peer-urls", m.peerUrl,
        "--initial-advertise-peer-urls", m.peerUrl,
        // Read only on a member's first start; a restart rejoins from its data directory.
        "--initial-cluster", this.initialCluster,
        "--initial-cluster-state", "new",
        "--initial-cluster-token", this.token,
        "--auto-compaction-mode", "periodic",
        "--auto-compaction-retention", this.options.compactionRetention ?? "1m",
        "--quota-backend-bytes", String(this.options.quotaBackendBytes ?? 1024 ** 3),
        ...(m.cert && this.options.tls
          ? ["--cert-file", m.cert.certFile, "--key-file", m.cert.keyFile, "--client-cert-auth", "--trusted-ca-file", this.options.tls.caFile,
              "--peer-cert-file", m.cert.certFile, "--peer-key-file", m.cert.keyFile, "--peer-client-cert-auth", "--peer-trusted-ca-file", this.options.tls.caFile]
          : []),
        "--logger", "zap",
        "--log-outputs", "stderr",
      ],
      // The environment's ETCD_* variables would override these flags (etcd reads them too).
      { logFile: this.logFile(i), stdoutToLog: true, env: withoutEtcdEnv() },
    );
    m.proc = proc;
    void proc.exited.then((status) => {
      if (m.proc !== proc) return; // killed or stopped through the kit
      m.proc = undefined;
      if (!this.stopping) this.options.onUnexpectedExit?.(i, status);
    });
  }
}

/** `n` distinct free loopback ports (each bound then released; the system does not hand it out again at once). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: Math.max(0, n) },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function withoutEtcdEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of Object.keys(process.env)) if (key.startsWith("ETCD_")) env[key] = undefined;
  return env;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
