import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ClientService } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { MiniCluster, generateSecurity } from "./mini-cluster.js";
import { generateTls } from "./tls-files.js";
import { startS3Gateway } from "./s3-gateway.js";

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  dataNodes?: number;
  /** Every listener on TLS (chunk data then travels inside TLS too). */
  tls?: boolean;
  /**
   * Chunk size of the files written (default 64 KiB: many chunks, many
   * chains). Large chunks (a few MiB) put whole 1 MiB parts, the recycled
   * part buffers and sync behind writes under the faults too.
   */
  chunkSize?: number;
  /**
   * NameNode high availability: two NameNodes on a 3-member etcd, and among
   * the faults kill -9 of the active NameNode (restarted later as a standby),
   * SIGSTOP of the active past its lease (then SIGCONT: it must turn standby
   * without committing), and kill -9 of an etcd member (the raft leader half
   * the time; restarted later). Beside the other invariants: never two
   * active NameNodes of one epoch, and a NameNode still calling itself active
   * after another took over does so for no longer than the lease TTL (plus
   * a margin). Needs a build with NameNode HA.
   */
  ha?: boolean;
  log?: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  /** The addresses the cluster served at (https with `tls`). */
  addresses: string[];
  violations: string[];
  stats: {
    puts: number;
    failedPuts: number;
    gets: number;
    deletes: number;
    /** The S3 client's calls, through a gateway process. */
    s3: { puts: number; failedPuts: number; gets: number; deletes: number };
    faults: string[];
    /** With `ha`: rounds of GetHaStatus asked of every NameNode (the split-brain watch), and failovers seen. */
    ha?: { statusRounds: number; failovers: number };
  };
}

/** A small seeded PRNG (mulberry32), so a failing schedule can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SMALL_CHUNK = 64 * 1024;
const HEARTBEAT_TIMEOUT_MS = 1500;
/** The HA run's lease TTL: the contract's minimum, so that failovers come quickly. */
const HA_LEASE_TTL_SECONDS = 2;

/**
 * Real processes under a seeded random schedule of faults (SIGKILL and
 * restart of DataNodes and of the NameNode, SIGSTOP/SIGCONT of DataNodes)
 * while two clients put, get and delete files of varied sizes, and a third
 * does the same through an S3 gateway (a process of its own, with the AWS
 * SDK's default settings: CRC32 trailers, retries). At the end the
 * cluster is made whole and the invariants are checked: every confirmed file
 * reads back with its sha256, replication is back to target, no disk holds a
 * chunk the metadata does not account for, deleted files stay deleted, a
 * failed put never shows wrong content, every acknowledged S3 PUT reads back
 * through the gateway byte for byte and every deleted key stays gone; along the way, the NameNode stops
 * offering a killed node's replicas within the heartbeat timeout.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const random = prng(o.seed);
  const log = o.log ?? (() => {});
  const violations: string[] = [];
  const stats: ChaosResult["stats"] = { puts: 0, failedPuts: 0, gets: 0, deletes: 0, s3: { puts: 0, failedPuts: 0, gets: 0, deletes: 0 }, faults: [] };
  const n = o.dataNodes ?? 4;
  const chunkSize = o.chunkSize ?? SMALL_CHUNK;
  if (o.ha && !MiniCluster.haAvailable) {
    throw new Error("chaos --ha needs NameNode high availability, which this build's NameNode does not have (no AdminService.GetHaStatus)");
  }
  if (o.ha) stats.ha = { statusRounds: 0, failovers: 0 };
  // As in production: DataNodes authenticated, chunk access tokens, an API token.
  const security = generateSecurity();
  const tls = o.tls ? await generateTls() : undefined;
  const listener = tls ? { tlsCert: tls.certFile, tlsKey: tls.keyFile } : {};
  const c = await MiniCluster.start({
    mode: "process",
    security,
    dataNodes: n,
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    logLevel: "warn",
    nameNode: { uploadLeaseMs: 3000, trashRedeliveryMs: 2000, replicationTimeoutMs: 5000, safeModeTimeoutMs: 3000, ...listener },
    // Background flushes start within every chunk, so that faults land among them.
    dataNode: { syncBehindWrites: Math.max(4096, chunkSize / 4), ...listener, ...(tls ? { tlsCaFile: tls.certFile } : {}) },
    ...(o.ha ? { ha: { nameNodes: 2, etcdMembers: 3 as const, leaseTtlSeconds: HA_LEASE_TTL_SECONDS } } : {}),
  });
  const ca = tls?.ca;
  const addresses = [...c.nameNodeAddresses, ...c.dataNodeAddresses()];
  // The gateway itself serves plain HTTP on loopback; with TLS it trusts the cluster's CA.
  const gateway = await startS3Gateway(c, { mode: "process", config: { chunkSize, ...(tls ? { tlsCaFile: tls.certFile } : {}) } }).catch(async (err: unknown) => {
    await c.shutdown();
    throw err;
  });
  const S3_BUCKET = "chaos-s3";
  const s3Confirmed = new Map<string, string>(); // key → sha256 of an acknowledged PUT
  const s3Deleted = new Set<string>();
  const confirmed = new Map<string, string>(); // path → sha256
  const deleted = new Set<string>();
  const failed = new Map<string, string>(); // path → sha256 of what a failed put tried to write
  const down = new Set<number>();
  let nextPath = 0;
  let stop = false;
  const deadline = Date.now() + o.durationMs;

  const client = async (id: number) => {
    const fs = c.client({ chunkSize, idleTimeoutMs: 3000, ca });
    while (!stop) {
      const r = random();
      try {
        if (r < 0.55 || confirmed.size < 3) {
          const path = `/chaos/c${id}-${nextPath++}`;
          const data = randomBytes(Math.floor(random() * 10 * chunkSize));
          const sha = createHash("sha256").update(data).digest("hex");
          stats.puts++;
          try {
            await fs.writeFile(path, data);
            confirmed.set(path, sha);
          } catch {
            stats.failedPuts++;
            failed.set(path, sha);
          }
        } else if (r < 0.85) {
          const paths = [...confirmed.keys()];
          const path = paths[Math.floor(random() * paths.length)]!;
          stats.gets++;
          const got = await fs.readFile(path).catch(() => undefined);
          if (got && confirmed.has(path) && createHash("sha256").update(got).digest("hex") !== confirmed.get(path)) {
            violations.push(`${path} read back wrong bytes during chaos`);
          }
        } else {
          const paths = [...confirmed.keys()];
          const path = paths[Math.floor(random() * paths.length)]!;
          try {
            await fs.rm(path);
            confirmed.delete(path);
            deleted.add(path);
            stats.deletes++;
          } catch {
            // Unknown outcome (the NameNode may have died mid-call): check the truth later.
            confirmed.delete(path);
            failed.set(path, "deleted-or-not");
          }
        }
      } catch {
        // Faults make calls fail; invariants are checked at the end.
      }
    }
    fs.close();
  };

  /** Puts, gets and deletes through the gateway; the bucket is made before the faults start. */
  const s3Worker = async () => {
    // Its own draws, so that the faults and the other clients keep the schedule their seed gives them.
    const random = prng(o.seed ^ 0x53330000);
    const s3 = new S3Client({
      endpoint: gateway.address,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: gateway.credentials[0]!.accessKeyId, secretAccessKey: gateway.credentials[0]!.secretAccessKey },
      // A call stuck on a stopped DataNode gives up, as the SDK clients' idle timeout does.
      requestHandler: { requestTimeout: 15_000, connectionTimeout: 3000 },
    });
    let next = 0;
    while (!stop) {
      const r = random();
      try {
        if (r < 0.55 || s3Confirmed.size < 3) {
          const key = `objects/k${next++}`;
          const data = randomBytes(Math.floor(random() * 10 * chunkSize));
          const sha = createHash("sha256").update(data).digest("hex");
          stats.s3.puts++;
          try {
            await s3.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: data }));
            s3Confirmed.set(key, sha);
          } catch {
            stats.s3.failedPuts++;
            failed.set(`/${S3_BUCKET}/${key}`, sha);
          }
        } else if (r < 0.85) {
          const keys = [...s3Confirmed.keys()];
          const key = keys[Math.floor(random() * keys.length)]!;
          stats.s3.gets++;
          const got = await s3
            .send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: key }))
            .then(async (res) => Buffer.from(await res.Body!.transformToByteArray()))
            .catch(() => undefined);
          if (got && s3Confirmed.has(key) && createHash("sha256").update(got).digest("hex") !== s3Confirmed.get(key)) {
            violations.push(`s3://${S3_BUCKET}/${key} read back wrong bytes through the gateway during chaos`);
          }
        } else {
          const keys = [...s3Confirmed.keys()];
          const key = keys[Math.floor(random() * keys.length)]!;
          s3Confirmed.delete(key);
          try {
            await s3.send(new DeleteObjectCommand({ Bucket: S3_BUCKET, Key: key }));
            s3Deleted.add(key);
            stats.s3.deletes++;
          } catch {
            // Unknown outcome: whether it went is not checked.
          }
        }
      } catch {
        // Faults make calls fail; invariants are checked at the end.
      }
    }
    s3.destroy();
  };

  const rpc = new RpcClients({ token: security.clientToken, ca: ca === undefined ? undefined : Buffer.from(ca) });
  /** Restarts scheduled by HA faults (a killed NameNode or etcd member comes back a little later). */
  const restarts = new Set<Promise<void>>();
  const later = (ms: number, what: string, f: () => Promise<void>) => {
    const p = sleep(ms)
      .then(f)
      .then(() => {
        stats.faults.push(what);
        log(what);
      })
      .catch((err: unknown) => {
        violations.push(`${what} failed: ${(err as Error).message}`);
      })
      .finally(() => restarts.delete(p));
    restarts.add(p);
  };
  const nameNodesDown = new Set<number>();
  const etcdDown = new Set<number>();
  /** One of the HA faults, when the cluster can take it (one NameNode and one etcd member down at most). */
  // HA faults take turns, so that every kind happens in a run of any seed
  // (drawn at random, a 60 s run sometimes had no etcd kill at all).
  let haTurn = 0;
  const haFault = async () => {
    const kind = haTurn % 3;
    if (kind === 0 && nameNodesDown.size === 0) {
      const active = await c.activeNameNode();
      if (active === undefined) return;
      await c.killNameNode(active, "SIGKILL");
      nameNodesDown.add(active);
      stats.faults.push(`kill -9 active namenode-${active + 1}`);
      log(`kill -9 active namenode-${active + 1}`);
      later(1000 + random() * 3000, `restart namenode-${active + 1} (as a standby)`, async () => {
        await c.restartNameNode(active);
        nameNodesDown.delete(active);
      });
      haTurn++;
    } else if (kind === 1 && nameNodesDown.size === 0) {
      const active = await c.activeNameNode();
      if (active === undefined) return;
      // Past its lease: the standby takes over, and the paused one must not commit when it wakes.
      const pausedMs = HA_LEASE_TTL_SECONDS * 1000 + 500 + random() * 2000;
      await c.killNameNode(active, "SIGSTOP");
      stats.faults.push(`SIGSTOP active namenode-${active + 1} for ${Math.round(pausedMs)} ms`);
      log(`SIGSTOP active namenode-${active + 1} for ${Math.round(pausedMs)} ms`);
      await sleep(pausedMs);
      if (c.isNameNodeRunning(active)) await c.killNameNode(active, "SIGCONT");
      haTurn++;
    } else if (kind === 2 && etcdDown.size === 0) {
      const leader = await c.etcd.leader();
      const i = random() < 0.5 && leader !== undefined ? leader : Math.floor(random() * c.etcd.size);
      await c.etcd.kill(i, "SIGKILL");
      etcdDown.add(i);
      const what = `kill -9 etcd-${i + 1}${i === leader ? " (the raft leader)" : ""}`;
      stats.faults.push(what);
      log(what);
      later(1000 + random() * 3000, `restart etcd-${i + 1}`, async () => {
        await c.etcd.restart(i);
        etcdDown.delete(i);
      });
      haTurn++;
    }
  };

  /**
   * The split-brain watch: every NameNode's GetHaStatus, several times a
   * second. Two actives of one epoch is a split brain; an active of an older
   * epoch beside a newer one is a NameNode that lost its lease and does not
   * know it yet, allowed for the lease TTL plus a margin (it can commit
   * nothing meanwhile: fencing).
   */
  const staleSince = new Map<string, number>();
  let lastEpoch: bigint | undefined;
  const watchHa = async () => {
    while (!stop) {
      const statuses = await Promise.all(
        c.nameNodeAddresses.map((_, i) => (c.isNameNodeRunning(i) ? c.haStatus(i, 1000).catch(() => undefined) : Promise.resolve(undefined))),
      );
      stats.ha!.statusRounds++;
      const actives = statuses.filter((s) => s?.role === "active").map((s) => s!);
      const byEpoch = new Map<bigint, string[]>();
      for (const a of actives) byEpoch.set(a.epoch, [...(byEpoch.get(a.epoch) ?? []), a.advertiseAddress]);
      for (const [epoch, who] of byEpoch) {
        if (who.length > 1) violations.push(`split brain: ${who.join(" and ")} both active in epoch ${epoch}`);
      }
      const newest = actives.reduce<(typeof actives)[number] | undefined>((m, a) => (m === undefined || a.epoch > m.epoch ? a : m), undefined);
      for (const a of actives) {
        if (a === newest) {
          staleSince.delete(a.advertiseAddress);
          continue;
        }
        const since = staleSince.get(a.advertiseAddress) ?? Date.now();
        staleSince.set(a.advertiseAddress, since);
        if (Date.now() - since > HA_LEASE_TTL_SECONDS * 1000 + 3000) {
          violations.push(`${a.advertiseAddress} still says it is active (epoch ${a.epoch}) ${Date.now() - since} ms after ${newest!.advertiseAddress} took over (epoch ${newest!.epoch})`);
          staleSince.set(a.advertiseAddress, Date.now()); // once per lapse, not every round
        }
      }
      // A new epoch is a new election: a killed active that restarts and wins
      // again between two rounds is a failover too, though the address is the same.
      if (newest && lastEpoch !== undefined && newest.epoch > lastEpoch) stats.ha!.failovers++;
      if (newest && (lastEpoch === undefined || newest.epoch > lastEpoch)) lastEpoch = newest.epoch;
      await sleep(200);
    }
  };

  const faults = async () => {
    let round = 0;
    while (Date.now() < deadline) {
      await sleep(300 + random() * 1200);
      // With --ha, every other round is an HA fault until each kind has had
      // its turn: drawn at the usual odds, a 45 s run on a slow machine
      // sometimes ended before the third kind's.
      if (o.ha && haTurn < 3 && ++round % 2 === 0) {
        await haFault();
        continue;
      }
      const r = random();
      const up = [...Array(n).keys()].filter((i) => !down.has(i));
      if (r < 0.35 && up.length > 3) {
        const i = up[Math.floor(random() * up.length)]!;
        const address = c.dataNodeAddress(i);
        await c.killDataNode(i);
        down.add(i);
        stats.faults.push(`kill -9 datanode-${i + 1}`);
        log(`kill -9 datanode-${i + 1}`);
        void checkNotOffered(address);
      } else if (r < 0.6 && down.size > 0) {
        const i = [...down][0]!;
        await c.startDataNode(i);
        down.delete(i);
        stats.faults.push(`restart datanode-${i + 1}`);
        log(`restart datanode-${i + 1}`);
      } else if (r < 0.8 && up.length > 0) {
        const i = up[Math.floor(random() * up.length)]!;
        process.kill(c.dataNodePid(i), "SIGSTOP");
        stats.faults.push(`SIGSTOP datanode-${i + 1}`);
        log(`SIGSTOP datanode-${i + 1}`);
        await sleep(500 + random() * 1500);
        process.kill(c.dataNodePid(i), "SIGCONT");
      } else if (o.ha) {
        await haFault();
      } else {
        await c.restartNameNode({ kill: true });
        stats.faults.push("kill -9 and restart namenode");
        log("kill -9 and restart namenode");
      }
    }
  };

  /** The NameNode must stop offering a killed node's replicas within the heartbeat timeout (plus a round). */
  const checkNotOffered = async (address: string) => {
    await sleep(HEARTBEAT_TIMEOUT_MS + 1500);
    const path = [...confirmed.keys()].find(() => true);
    if (!path) return;
    try {
      const active = await c.activeNameNode();
      if (active === undefined) return; // an election under way; nothing to conclude
      const res = await rpc.client(ClientService, c.nameNodeAddresses[active]!).getFile({ path });
      if (res.chunks.some((ch) => ch.replicas.some((r) => r.address === address))) {
        violations.push(`${address} was still offered for ${path} ${HEARTBEAT_TIMEOUT_MS + 1500} ms after it was killed`);
      }
    } catch {
      // The NameNode may be restarting; nothing to conclude.
    }
  };

  try {
    await c.client({ ca }).mkdir(`/${S3_BUCKET}`);
    const workers = [client(1), client(2), s3Worker(), ...(o.ha ? [watchHa()] : [])];
    await faults();
    stop = true;
    await Promise.all(workers);
    // Make the cluster whole, then let it settle.
    await Promise.all([...restarts]);
    for (const i of [...down]) await c.startDataNode(i);
    const fs = c.client({ ca });
    const settle = Date.now() + 60_000;
    for (;;) {
      const s = await fs.clusterStatus().catch(() => undefined);
      const f = await fs.fsck("/").catch(() => undefined);
      const diskIds = new Set((await Promise.all([...Array(n).keys()].map((i) => c.chunkFiles(i)))).flat());
      const known = new Set(f?.files.flatMap((file) => file.chunks.map((ch) => ch.chunkId)) ?? []);
      const stray = [...diskIds].filter((id) => !known.has(id));
      const whole = s && f && !s.safeMode.on && s.underReplicatedChunks === 0 && s.missingChunks === 0 && s.pendingReplicationTasks === 0 && s.pendingTrashTasks === 0 &&
        f.files.every((file) => file.chunks.every((ch) => ch.liveReplicas.length === file.replication));
      if (whole && stray.length === 0) break;
      if (Date.now() > settle) {
        const off = f?.files.flatMap((file) => file.chunks.filter((ch) => ch.liveReplicas.length !== file.replication).map((ch) => `${file.path}#${ch.index}: ${ch.liveReplicas.length} live, ${ch.corruptReplicas.length} corrupt`)) ?? [];
        violations.push(`the cluster did not settle within 60 s: ${JSON.stringify({ status: s && { ...s, datanodes: undefined }, stray: stray.length, offTarget: off.slice(0, 5) })}`);
        break;
      }
      await sleep(500);
    }
    for (const [path, sha] of confirmed) {
      const got = await fs.readFile(path).catch((e: Error) => e);
      if (got instanceof Error) violations.push(`confirmed ${path} cannot be read: ${got.message}`);
      else if (createHash("sha256").update(got).digest("hex") !== sha) violations.push(`confirmed ${path} reads back wrong bytes`);
    }
    for (const path of deleted) if (await fs.exists(path)) violations.push(`deleted ${path} reappeared`);
    // Every acknowledged S3 PUT, through the gateway (which lived through the faults).
    const s3 = new S3Client({
      endpoint: gateway.address,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: gateway.credentials[0]!.accessKeyId, secretAccessKey: gateway.credentials[0]!.secretAccessKey },
    });
    for (const [key, sha] of s3Confirmed) {
      const got = await s3
        .send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: key }))
        .then(async (res) => Buffer.from(await res.Body!.transformToByteArray()))
        .catch((e: Error) => e);
      if (got instanceof Error) violations.push(`acknowledged s3://${S3_BUCKET}/${key} cannot be read through the gateway: ${got.name}: ${got.message}`);
      else if (createHash("sha256").update(got).digest("hex") !== sha) violations.push(`acknowledged s3://${S3_BUCKET}/${key} reads back wrong bytes through the gateway`);
    }
    for (const key of s3Deleted) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: key })).then(
        () => "present",
        (e: Error & { $metadata?: { httpStatusCode?: number } }) => (e.$metadata?.httpStatusCode === 404 ? "absent" : `${e.name}: ${e.message}`),
      );
      if (head !== "absent") violations.push(`deleted s3://${S3_BUCKET}/${key}: HeadObject says ${head}`);
    }
    s3.destroy();
    for (const [path, sha] of failed) {
      const got = await fs.readFile(path).catch(() => undefined);
      if (got && sha !== "deleted-or-not" && createHash("sha256").update(got).digest("hex") !== sha) {
        violations.push(`${path}, whose put failed, shows wrong content`);
      }
    }
    fs.close();
  } finally {
    stop = true;
    rpc.close();
    await gateway.stop();
    await c.shutdown();
  }
  return { seed: o.seed, addresses, violations, stats };
}
