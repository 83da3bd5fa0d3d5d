import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Etcd3 } from "etcd3";
import { AdminService, ClientService, DataNodeProtocolService } from "@trainfs/proto";
import { createLogger, dataNodeCredential } from "@trainfs/common";
import { nameNodeConfigSchema } from "../config.js";
import { NameNode } from "../namenode.js";
import { ACTIVE_NAMENODE_HEADER } from "./ha-coordinator.js";

const ETCD = "/usr/bin/etcd";
const SECRET = "ha-test-cluster-secret-0123456789";
const RW = "ha-test-read-write-token-0123";
const TTL = 2;

/** A free loopback port (the kernel's pick, released at once). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** A private one-member etcd on loopback: a temp data dir, random ports, killed by its PID. */
async function startEtcd(clientPort?: number): Promise<{ url: string; proc: ChildProcess; dir: string }> {
  if (!existsSync(ETCD)) throw new Error(`${ETCD} is missing: install it with scripts/ensure-etcd.sh (Debian etcd-server)`);
  const dir = await mkdtemp(join(tmpdir(), "trainfs-etcd-"));
  const [client, peer] = [clientPort ?? (await freePort()), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = spawn(
    ETCD,
    [
      "--name", "t", "--data-dir", dir,
      "--listen-client-urls", url, "--advertise-client-urls", url,
      "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
      "--initial-cluster", `t=${peerUrl}`, "--log-level", "error",
    ],
    { stdio: "ignore" },
  );
  const probe = new Etcd3({ hosts: url });
  await until("etcd", async () => (await probe.put("/probe").value("1"), true));
  probe.close();
  return { url, proc, dir };
}

let etcd: Awaited<ReturnType<typeof startEtcd>>;
let admin: Etcd3;
const dirs: string[] = [];
const nodes: NameNode[] = [];
let clusterN = 0;

beforeAll(async () => {
  etcd = await startEtcd();
  admin = new Etcd3({ hosts: etcd.url });
}, 30_000);

afterAll(async () => {
  admin?.close();
  if (etcd?.proc.pid) process.kill(etcd.proc.pid, "SIGKILL");
  await rm(etcd.dir, { recursive: true, force: true });
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

afterEach(async () => {
  for (const nn of nodes.splice(0)) await nn.stop().catch(() => undefined);
});

/** A NameNode of HA cluster `cluster` on its own data dir (kept for a restart when `dir` is given). */
async function startNameNode(cluster: string, dir?: string, port?: number, ttl = TTL): Promise<{ nn: NameNode; dir: string; port: number; url: string }> {
  const dataDir = dir ?? (await mkdtemp(join(tmpdir(), "trainfs-ha-nn-")));
  if (!dir) dirs.push(dataDir);
  const p = port ?? (await freePort());
  const url = `http://127.0.0.1:${p}`;
  const config = nameNodeConfigSchema.parse({
    host: "127.0.0.1", port: p, dataDir, haEtcd: etcd.url, advertiseAddress: url, haLeaseTtlSeconds: ttl, haClusterName: cluster,
    clusterSecret: SECRET, apiTokens: [`rw:${RW}`, "ro:ha-test-read-only-token-0123"], auditLog: "off", logLevel: process.env.HA_TEST_LOG ?? "error", safeModeThreshold: 0, monitorIntervalMs: 100,
  });
  const nn = await NameNode.start(config, createLogger("namenode", process.env.HA_TEST_LOG ?? "error"));
  nodes.push(nn);
  return { nn, dir: dataDir, port: p, url };
}

const clients = (url: string, token = RW) => {
  const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))] });
  return { fs: createClient(ClientService, transport), admin: createClient(AdminService, transport) };
};

const role = async (url: string) => (await clients(url).admin.getHaStatus({})).role;
const exists = (nn: NameNode, path: string) => nn.namespace.resolve(path.split("/").filter(Boolean)) !== undefined;

async function logValues(prefix: string): Promise<string[]> {
  return Object.values(await admin.getAll().prefix(`/trainfs/${prefix}/log/`).strings());
}

describe("NameNode high availability", () => {
  it("elects one active NameNode; the standby follows its log and points clients to it; it takes over when the active one dies", async () => {
    const c = `t${++clusterN}`;
    const a = await startNameNode(c);
    await until("a active", async () => (await role(a.url)) === "active");
    const b = await startNameNode(c);
    await until("b standby", async () => (await role(b.url)) === "standby");

    await clients(a.url).fs.mkdir({ path: "/before/x", parents: true });
    await until("the standby applies the log", () => exists(b.nn, "/before/x"));

    // A standby refuses client and admin calls with unavailable and the active one's address.
    const refused = await clients(b.url).fs.stat({ path: "/before" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(refused?.code).toBe(Code.Unavailable);
    expect(refused?.rawMessage).toBe(`NameNode ${b.url} is a standby; the active NameNode is ${a.url}`);
    expect(refused?.metadata.get(ACTIVE_NAMENODE_HEADER)).toBe(a.url);
    // ... but answers the HA status.
    const status = await clients(b.url).admin.getHaStatus({});
    expect(status).toMatchObject({ haEnabled: true, role: "standby", advertiseAddress: b.url, activeAddress: a.url });
    expect(status.epoch).toBeGreaterThan(0n);
    await until("both members listed", async () => (await clients(b.url).admin.getHaStatus({})).members.length === 2);
    // /metrics shows the role.
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/trainfs_namenode_ha_role\{role="active"\} 1/);
    expect((await (await fetch(`${b.url}/metrics`)).text()).match(/trainfs_namenode_ha_role\{role="standby"\} 1/)).not.toBeNull();

    // DataNodes report to the standby too: it notes their liveness, records nothing and hands out no work.
    const transport = createConnectTransport({
      baseUrl: b.url,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${dataNodeCredential(SECRET)}`), next(req))],
    });
    const dn = createClient(DataNodeProtocolService, transport);
    const seqBefore = b.nn.store.appliedSeq;
    const registered = await dn.registerDataNode({ datanodeId: "dn-x", address: "http://127.0.0.1:1", capacityBytes: 1000n, freeBytes: 1000n, clusterId: "", zone: "" });
    expect(registered.clusterId).toBe(a.nn.store.clusterId);
    const beat = await dn.heartBeat({ datanodeId: "dn-x", capacityBytes: 1000n, freeBytes: 1000n });
    expect(beat).toMatchObject({ reregister: false, trashChunkNames: [], replicationTasks: [], verifyChunks: [] });
    expect(b.nn.datanodes.isLive("dn-x")).toBe(true);
    const committed = await dn.commitChunk({ datanodeId: "dn-x", chunks: [{ chunkId: "c-unknown", length: 1n, checksum: 1 }] });
    expect(committed.results).toEqual([expect.objectContaining({ chunkId: "c-unknown", code: 0 })]);
    expect((await dn.chunkReport({ datanodeId: "dn-x", chunks: [{ chunkId: "c-unknown", length: 1n, checksum: 1 }] })).accepted).toBe(1);
    expect(b.nn.store.appliedSeq).toBe(seqBefore);
    expect(b.nn.store.datanodes.get("dn-x")).toBeUndefined();
    expect(b.nn.store.trash.getCount()).toBe(0);

    // Background work (replication, trash, lease expiry, safe mode) runs on the active one only.
    const roundsOnA = vi.spyOn(a.nn, "runBackgroundRound");
    const roundsOnB = vi.spyOn(b.nn, "runBackgroundRound");
    await new Promise((r) => setTimeout(r, 500));
    expect(roundsOnA.mock.calls.length).toBeGreaterThan(0);
    expect(roundsOnB).not.toHaveBeenCalled();

    // The active one dies without a word: its lease expires and the standby takes over.
    const died = Date.now();
    await a.nn.ha!.abandon();
    await until("b active", async () => (await role(b.url)) === "active", (TTL + 5) * 1000);
    // ... and starts its background work; the dead one's has stopped.
    roundsOnA.mockClear();
    await until("b's background rounds", () => roundsOnB.mock.calls.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(roundsOnA).not.toHaveBeenCalled();
    expect(Date.now() - died).toBeLessThan((TTL + 5) * 1000);
    expect((await clients(b.url).fs.stat({ path: "/before/x" })).file?.path).toBe("/before/x");
    await clients(b.url).fs.mkdir({ path: "/after", parents: true });
    expect(exists(b.nn, "/after")).toBe(true);
  }, 60_000);

  it("appends the writes of one LMDB commit to etcd in one transaction (group commit)", async () => {
    const c = `t${++clusterN}`;
    const a = await startNameNode(c);
    await until("a active", async () => (await role(a.url)) === "active");
    const before = a.nn.store.appliedSeq;
    // Eight writes started in one tick share an LMDB commit, and so one etcd transaction: one revision for all their log entries.
    await Promise.all(Array.from({ length: 8 }, (_, i) => a.nn.store.write(() => a.nn.store.trash.put(["dn-x", `group-${i}`], {} as never))));
    const entries = await admin.getAll().prefix(`/trainfs/${c}/log/`).exec();
    const ours = entries.kvs.filter((kv) => Number(JSON.parse(kv.value.toString()).seq) > before);
    expect(ours).toHaveLength(8);
    expect(new Set(ours.map((kv) => kv.mod_revision)).size).toBe(1);
  }, 30_000);

  it("fences an active NameNode whose lease was revoked behind its back: its write fails, leaves nothing, and it becomes a standby", async () => {
    const c = `t${++clusterN}`;
    const a = await startNameNode(c);
    await until("a active", async () => (await role(a.url)) === "active");
    const b = await startNameNode(c);
    await until("b standby", async () => (await role(b.url)) === "standby");
    await clients(a.url).fs.mkdir({ path: "/kept", parents: true });
    await until("b has /kept", () => exists(b.nn, "/kept"));

    // As if the active one were paused past its lease: another client revokes it.
    const leader = (await admin.get(`/trainfs/${c}/leader`).exec()).kvs[0]!;
    await admin.leaseClient.leaseRevoke({ ID: leader.lease });
    const failed = await clients(a.url).fs.mkdir({ path: "/fenced-write", parents: true }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(failed?.code).toBe(Code.Unavailable);
    expect((await logValues(c)).some((v) => v.includes("fenced-write"))).toBe(false);

    await until("b active", async () => (await role(b.url)) === "active", (TTL + 5) * 1000);
    await until("a standby", async () => (await role(a.url)) === "standby");
    await clients(b.url).fs.mkdir({ path: "/on-b", parents: true });
    // The old active one rebuilt its copy from the new one: its unlogged change is gone, the new one's is there.
    await until("a resynchronised", () => exists(a.nn, "/on-b"));
    expect(exists(a.nn, "/fenced-write")).toBe(false);
    expect(exists(b.nn, "/fenced-write")).toBe(false);
    expect(exists(a.nn, "/kept")).toBe(true);
    // Undone in place (its change never reached the log), not reloaded.
    expect(a.nn.ha!.snapshotsLoaded).toBe(0);
    expect((await logValues(c)).some((v) => v.includes("fenced-write"))).toBe(false);
  }, 60_000);

  it("a standby restarted after 10,000 changes catches up from a snapshot once the log is compacted, and takes over by Failover", async () => {
    // The default lease: on a busy machine, large etcd transactions may stall etcd for longer than a 2 s lease.
    const c = `t${++clusterN}`;
    const a = await startNameNode(c, undefined, undefined, 5);
    await until("a active", async () => (await role(a.url)) === "active");
    let b = await startNameNode(c, undefined, undefined, 5);
    await until("b standby", async () => (await role(b.url)) === "standby");
    await b.nn.stop();
    nodes.splice(nodes.indexOf(b.nn), 1);

    const fs = clients(a.url).fs;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < 10_000; i = next++) await fs.mkdir({ path: `/many/d${i}`, parents: true });
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    // With the only standby gone, the active one keeps no entry: etcd does not grow with the changes made.
    await until("log compacted", async () => (await logValues(c)).length <= 1);
    const keys = await admin.getAll().prefix(`/trainfs/${c}/`).keys();
    expect(keys.length).toBeLessThan(20);
    // etcd's history of those keys was compacted too: an early revision is gone.
    await expect(admin.kv.range({ key: Buffer.from(`/trainfs/${c}/head`), revision: "2" })).rejects.toThrow(/compacted/);

    b = await startNameNode(c, b.dir, b.port, 5);
    const seq = a.nn.store.appliedSeq;
    expect(seq).toBeGreaterThanOrEqual(10_000);
    await until("b caught up", () => b.nn.store.appliedSeq >= seq, 60_000);
    expect(exists(b.nn, "/many/d9999")).toBe(true);
    expect(b.nn.ha!.snapshotsLoaded).toBe(1);
    expect(b.nn.store.directoryCount()).toBe(a.nn.store.directoryCount());

    const handed = await clients(a.url).admin.failover({ targetAddress: b.url });
    expect(handed.activeAddress).toBe(b.url);
    expect(await role(b.url)).toBe("active");
    expect(await role(a.url)).toBe("standby");
    await clients(b.url).fs.mkdir({ path: "/many/after-failover", parents: true });
    await until("a follows b", () => exists(a.nn, "/many/after-failover"));
    // One write larger than an etcd request (10,000 directories deleted at once) goes to the log in parts.
    await clients(b.url).fs.deleteFile({ path: "/many", recursive: true });
    expect(exists(b.nn, "/many")).toBe(false);
    await until("a applies the large entry", () => !exists(a.nn, "/many") && a.nn.store.appliedSeq === b.nn.store.appliedSeq);
    expect(a.nn.store.directoryCount()).toBe(b.nn.store.directoryCount());
    // Failover is for the active one only: a standby points to it.
    const refused = await clients(a.url).admin.failover({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(refused?.code).toBe(Code.Unavailable);
    expect(refused?.metadata.get(ACTIVE_NAMENODE_HEADER)).toBe(b.url);
  }, 180_000);

  it("an active NameNode cut off from etcd stops serving within the lease TTL; afterwards every member agrees on what was made", async () => {
    const c = `t${++clusterN}`;
    const a = await startNameNode(c);
    await until("a active", async () => (await role(a.url)) === "active");
    const b = await startNameNode(c);
    await until("b standby", async () => (await role(b.url)) === "standby");
    await clients(a.url).fs.mkdir({ path: "/before-cut", parents: true });
    const pid = etcd.proc.pid!;
    process.kill(pid, "SIGSTOP");
    // Every thread stopped (one in a disk wait stops when the wait ends), so that etcd answers nothing from here.
    await until("etcd stopped", () => readdirSync(`/proc/${pid}/task`).every((t) => readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8").split(") ")[1]?.startsWith("T")));
    try {
      const cut = Date.now();
      const failed = await clients(a.url).fs.mkdir({ path: "/during-cut", parents: true }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      // etcd never answered the append: the outcome is unknown, and said so.
      expect(failed?.code).toBe(Code.DeadlineExceeded);
      expect(failed?.rawMessage).toMatch(/may or may not have been made/);
      expect(Date.now() - cut).toBeLessThan((TTL + 2) * 1000);
      await until("a standby", async () => (await role(a.url)) === "standby", (TTL + 2) * 1000);
      // Reads stop too: a NameNode that may no longer lead serves nothing.
      const read = await clients(a.url).fs.stat({ path: "/before-cut" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(read?.code).toBe(Code.Unavailable);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const active = await until("an active member again", async () => ((await role(a.url)) === "active" ? a : (await role(b.url)) === "active" ? b : undefined), 30_000);
    await clients(active.url).fs.mkdir({ path: "/after-cut", parents: true });
    await until("both at the same seq", () => exists(a.nn, "/after-cut") && exists(b.nn, "/after-cut") && a.nn.store.appliedSeq === b.nn.store.appliedSeq);
    expect(exists(a.nn, "/before-cut") && exists(b.nn, "/before-cut")).toBe(true);
    // etcd may have committed the append it held during its pause: then the change stands on both, else on neither.
    expect(exists(a.nn, "/during-cut")).toBe(exists(b.nn, "/during-cut"));
  }, 60_000);

  it("refuses to join a data directory holding another cluster's metadata to an HA cluster, and starts no election", async () => {
    const c = `t${++clusterN}`;
    const a = await startNameNode(c);
    await until("a active", async () => (await role(a.url)) === "active");
    // A single NameNode's data directory with a file system in it.
    const other = await startNameNode(`other-${c}`);
    await until("other active", async () => (await role(other.url)) === "active");
    await clients(other.url).fs.mkdir({ path: "/mine", parents: true });
    await other.nn.stop();
    nodes.splice(nodes.indexOf(other.nn), 1);
    await expect(startNameNode(c, other.dir)).rejects.toThrow(/holds cluster .* but etcd .* belongs to cluster/);
    expect(await role(a.url)).toBe("active");
  }, 30_000);

  it("serves nothing while it has not reached etcd (clients, DataNodes, readiness, snapshots), then joins once etcd answers", async () => {
    const etcdPort = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), "trainfs-ha-nn-"));
    dirs.push(dataDir);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = nameNodeConfigSchema.parse({
      host: "127.0.0.1", port, dataDir, haEtcd: `http://127.0.0.1:${etcdPort}`, advertiseAddress: url, haLeaseTtlSeconds: TTL, haClusterName: `t${++clusterN}`,
      clusterSecret: SECRET, apiTokens: [`rw:${RW}`], auditLog: "off", logLevel: "error", safeModeThreshold: 0,
    });
    const starting = NameNode.start(config, createLogger("namenode", "error"));
    starting.catch(() => undefined);
    await until("the NameNode listening", async () => (await fetch(`${url}/healthz`)).ok);
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => `${Code[ConnectError.from(e).code]}: ${ConnectError.from(e).rawMessage}`);
    expect(await code(clients(url).fs.mkdir({ path: "/early", parents: true }))).toMatch(/^Unavailable: NameNode .* is starting: it has not reached etcd/);
    expect(await code(clients(url).admin.getHaStatus({}))).toMatch(/^Unavailable: .*starting/);
    const dataNodes = createClient(DataNodeProtocolService, createConnectTransport({
      baseUrl: url, httpVersion: "1.1",
      interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${dataNodeCredential(SECRET)}`), next(req))],
    }));
    expect(await code(dataNodes.registerDataNode({ datanodeId: "dn-early", address: "http://127.0.0.1:1", capacityBytes: 1n, freeBytes: 1n }))).toMatch(/^Unavailable/);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    expect((await fetch(`${url}/trainfs-ha/snapshot`)).status).toBe(503);

    // etcd comes up within the NameNode's wait: it joins, is elected, and serves.
    const late = await startEtcd(etcdPort);
    try {
      const nn = await starting;
      nodes.push(nn);
      await until("active", async () => (await role(url)) === "active");
      expect(await code(clients(url).fs.mkdir({ path: "/now", parents: true }))).toBe("ok");
      // Nothing of the refused DataNode's registration was kept.
      expect(nn.datanodes.all().map((d) => d.id)).not.toContain("dn-early");
      await nn.stop();
      nodes.splice(nodes.indexOf(nn), 1);
    } finally {
      if (late.proc.pid) process.kill(late.proc.pid, "SIGKILL");
      await rm(late.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("refuses HA settings that cannot work: no advertise address; API tokens without a cluster secret", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "trainfs-ha-nn-"));
    dirs.push(dataDir);
    const base = { host: "127.0.0.1", port: 0, dataDir, haEtcd: etcd.url, auditLog: "off", logLevel: "error" };
    const logger = createLogger("namenode", "error");
    await expect(NameNode.start(nameNodeConfigSchema.parse(base), logger)).rejects.toThrow(/haEtcd needs advertiseAddress/);
    await expect(NameNode.start(nameNodeConfigSchema.parse({ ...base, advertiseAddress: "http://127.0.0.1:1", apiTokens: [`rw:${RW}`] }), logger)).rejects.toThrow(/needs clusterSecret/);
  });

  it("the new RPCs keep their access rules on a live NameNode: no, wrong and read-only tokens", async () => {
    const c = `t${++clusterN}`;
    const a = await startNameNode(c);
    await until("a active", async () => (await role(a.url)) === "active");
    const code = (p: Promise<unknown>) => p.then(() => "ok", (e: unknown) => Code[ConnectError.from(e).code]);
    const anonymous = createClient(AdminService, createConnectTransport({ baseUrl: a.url, httpVersion: "1.1" }));
    expect(await code(anonymous.getHaStatus({}))).toBe("Unauthenticated");
    expect(await code(anonymous.failover({}))).toBe("Unauthenticated");
    expect(await code(clients(a.url, "not-a-token-of-this-cluster").admin.failover({}))).toBe("Unauthenticated");
    expect(await code(clients(a.url, "ha-test-read-only-token-0123").admin.getHaStatus({}))).toBe("ok");
    expect(await code(clients(a.url, "ha-test-read-only-token-0123").admin.failover({}))).toBe("PermissionDenied");
    // Read-write, but nobody to hand over to.
    expect(await code(clients(a.url).admin.failover({}))).toBe("FailedPrecondition");
    // The snapshot endpoint wants the cluster credential.
    expect((await fetch(`${a.url}/trainfs-ha/snapshot`)).status).toBe(401);
    // Not with a wrong credential, nor with an API token, read-write or read-only.
    for (const bearer of ["not-the-cluster-credential", RW, "ha-test-read-only-token-0123"]) {
      expect((await fetch(`${a.url}/trainfs-ha/snapshot`, { headers: { authorization: `Bearer ${bearer}` } })).status, bearer).toBe(401);
    }
  }, 30_000);
});
