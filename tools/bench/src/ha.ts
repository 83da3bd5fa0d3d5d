import { randomBytes } from "node:crypto";
import { access, constants, rm } from "node:fs/promises";
import { join } from "node:path";
import { formatSize } from "@trainfs/common";
import { ETCD_BIN, MiniCluster, randomFile } from "@trainfs/testkit";
import { nameNodeDefaults } from "@trainfs/namenode";
import { dataNodeDefaults } from "@trainfs/datanode";
import { MiB, median, rate, seconds, warmMetadata } from "./measure.js";
import type { Row } from "./report.js";

export interface HaBenchOptions {
  dir: string;
  reps: number;
  /** Size of the large put and get. */
  size: number;
  /** Files created and then deleted before etcd's size is read (the 100,000). */
  churnFiles: number;
  heartbeatTimeoutMs: number;
  log: (line: string) => void;
  /** Drops the page cache before a large put or get (where permitted). */
  dropPageCache: () => Promise<boolean>;
}

/** Pause before each large put and get of the HA section (see settledColdCache). */
const SETTLE_MS = 3000;

/** Lease TTL the HA figures run with: the NameNode's own default (the contract's 5 s). */
const LEASE_TTL_SECONDS = 5;

/**
 * Why the HA section cannot run on this build or machine (undefined when it
 * can): checked before the bench spends minutes on the single-NameNode figures.
 */
export async function haUnavailable(): Promise<string | undefined> {
  if (!MiniCluster.haAvailable) {
    return "this build's NameNode has no high availability (AdminService.GetHaStatus and --ha-etcd are missing); --ha needs a build with NameNode HA";
  }
  try {
    await access(ETCD_BIN, constants.X_OK);
  } catch {
    return `etcd is not installed (${ETCD_BIN}): run \`bash scripts/ensure-etcd.sh\``;
  }
  return undefined;
}

/** The cluster shape both sides share: four DataNodes with the servers' own settings. */
function clusterOptions(baseDir: string, o: HaBenchOptions) {
  return {
    mode: "process" as const,
    baseDir,
    dataNodes: 4,
    heartbeatIntervalMs: dataNodeDefaults.heartbeatIntervalMs,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    nameNode: { monitorIntervalMs: nameNodeDefaults.monitorIntervalMs },
    logLevel: "warn" as const,
  };
}

/**
 * The HA section of `pnpm bench --ha` (and `pnpm bench:ha`): a cluster of two
 * NameNodes on a 3-member etcd and a single-NameNode cluster of the same
 * shape, both up at once and measured in turn, repetition by repetition
 * (mkdir and stat with 16 in flight, a large put and get), so that each HA
 * figure stands beside the single NameNode measured in the same minutes
 * rather than earlier in the run; the medians are compared. Then, on the HA
 * cluster alone, the etcd database after `churnFiles` files created and
 * deleted, and the failover time (kill -9 of the active NameNode → the first
 * put through the same client that succeeds).
 */
export async function haFigures(o: HaBenchOptions): Promise<{ rows: Row[]; bytesMoved: number }> {
  o.log("HA cluster (two NameNodes, a 3-member etcd, four DataNodes) and a single-NameNode one beside it…");
  const single = await MiniCluster.start(clusterOptions(join(o.dir, "single-cluster"), o));
  const cluster = await MiniCluster.start({ ...clusterOptions(join(o.dir, "ha-cluster"), o), ha: { nameNodes: 2, etcdMembers: 3, leaseTtlSeconds: LEASE_TTL_SECONDS } }).catch(async (err: unknown) => {
    await single.shutdown();
    throw err;
  });
  const sides = { single: single.client(), ha: cluster.client() };
  // Stopped once its figures are taken: the churn and the failover run on the HA cluster alone.
  let singleUp = true;
  const stopSingle = async () => {
    if (!singleUp) return;
    singleUp = false;
    sides.single.close();
    await single.shutdown();
  };
  const rows: Row[] = [];
  let bytesMoved = 0;
  try {
    // Which side goes first alternates too (single, HA, HA, single, …), so that neither gains from its place.
    const inTurn = (rep: number) => {
      const both = Object.entries(sides) as Array<[keyof typeof sides, (typeof sides)["ha"]]>;
      return rep % 2 === 0 ? both : both.reverse();
    };
    o.log("HA: metadata (alternated with the single NameNode)…");
    const mkdirs = { single: [] as number[], ha: [] as number[] };
    const stats = { single: [] as number[], ha: [] as number[] };
    for (const fs of Object.values(sides)) await warmMetadata(fs);
    for (let rep = 0; rep < o.reps; rep++) {
      for (const [side, fs] of inTurn(rep)) {
        mkdirs[side].push(await rate(2000, 16, (i) => fs.mkdir(`/meta/r${rep}/d${i}`, { parents: true })));
        stats[side].push(await rate(5000, 16, (i) => fs.stat(`/meta/r${rep}/d${i % 2000}`)));
      }
    }
    const alternated = "single NameNode, alternated";
    rows.push(
      { figure: "HA: mkdir, 16 in flight", value: median(mkdirs.ha), unit: "ops/s", baseline: alternated, baselineValue: median(mkdirs.single), target: { atLeast: 0.5 } },
      { figure: "HA: stat, 16 in flight", value: median(stats.ha), unit: "ops/s", baseline: alternated, baselineValue: median(stats.single), target: { atLeast: 0.5 } },
    );

    // Each large transfer starts from a dropped page cache, and after a pause:
    // back to back, this VM's puts alternated between two speeds (150 and 230
    // MiB/s, whichever cluster ran), which the pause evens out (round 12).
    const settledColdCache = async () => {
      await o.dropPageCache();
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    };
    o.log(`HA: put and get of ${formatSize(o.size)} (alternated with the single NameNode)…`);
    const local = join(o.dir, "ha-in");
    await randomFile(local, o.size);
    const puts = { single: [] as number[], ha: [] as number[] };
    const gets = { single: [] as number[], ha: [] as number[] };
    for (let rep = 0; rep < o.reps; rep++) {
      for (const [side, fs] of inTurn(rep)) {
        await settledColdCache();
        puts[side].push(o.size / MiB / (await seconds(() => fs.put(local, `/big/${rep}`))));
      }
    }
    for (let rep = 0; rep < o.reps; rep++) {
      for (const [side, fs] of inTurn(rep)) {
        await settledColdCache();
        const out = join(o.dir, `ha-out-${side}-${rep}`);
        gets[side].push(o.size / MiB / (await seconds(() => fs.get(`/big/${rep}`, out))));
        await rm(out);
      }
    }
    bytesMoved += 4 * o.size * o.reps;
    await rm(local);
    for (const fs of Object.values(sides)) await fs.rm("/big", { recursive: true });
    rows.push(
      { figure: `HA: put ${formatSize(o.size)}, 3 replicas`, value: median(puts.ha), unit: "MiB/s", baseline: alternated, baselineValue: median(puts.single), target: { atLeast: 0.9 } },
      { figure: `HA: get ${formatSize(o.size)}`, value: median(gets.ha), unit: "MiB/s", baseline: alternated, baselineValue: median(gets.single), target: { atLeast: 0.9 } },
    );
    await stopSingle();

    o.log(`HA: etcd after ${o.churnFiles} files created and deleted…`);
    rows.push(...(await etcdChurn(cluster, sides.ha, o)));

    o.log("HA: failover (kill -9 of the active NameNode)…");
    const failover = await failoverSeconds(cluster, sides.ha);
    rows.push({
      figure: `HA: failover, kill -9 of the active → first put (lease TTL ${LEASE_TTL_SECONDS} s)`,
      value: failover,
      unit: "s",
      target: { atMostValue: LEASE_TTL_SECONDS + 5 },
    });
    return { rows, bytesMoved };
  } finally {
    await stopSingle();
    sides.ha.close();
    await cluster.shutdown();
  }
}

/**
 * etcd's database before and after `churnFiles` 4 KiB files are created and
 * deleted (16 in flight): the space in use once the NameNodes have trimmed
 * their applied log and etcd has compacted its history must not grow with
 * the number of files ever changed. Waits (up to 3 minutes) for the size in
 * use to settle, since both happen in the background.
 */
async function etcdChurn(cluster: MiniCluster, fs: ReturnType<MiniCluster["client"]>, o: HaBenchOptions): Promise<Row[]> {
  const before = await cluster.etcd.dbSize();
  const small = randomBytes(4096);
  const created = await rate(o.churnFiles, 16, (i) => fs.writeFile(`/churn/${Math.floor(i / 1000)}/f${i}`, small));
  const deleted = await rate(o.churnFiles, 16, (i) => fs.rm(`/churn/${Math.floor(i / 1000)}/f${i}`));
  await fs.rm("/churn", { recursive: true });
  const peak = await cluster.etcd.dbSize();
  let settled = peak.dbSizeInUse;
  const deadline = Date.now() + 3 * 60_000;
  for (let stable = 0; stable < 3 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 10_000));
    const now = (await cluster.etcd.dbSize()).dbSizeInUse;
    stable = now >= settled ? stable + 1 : 0;
    settled = Math.min(settled, now);
  }
  await cluster.etcd.defragment();
  const after = await cluster.etcd.dbSize();
  const mib = (n: number) => n / MiB;
  return [
    { figure: `HA: ${o.churnFiles} × 4 KiB put, 16 in flight (then deleted)`, value: created, unit: "files/s" },
    { figure: `HA: ${o.churnFiles} deletes, 16 in flight`, value: deleted, unit: "files/s" },
    { figure: "HA: etcd db before the files", value: mib(before.dbSizeInUse), unit: "MiB" },
    { figure: "HA: etcd db in use right after", value: mib(peak.dbSizeInUse), unit: "MiB" },
    // Bounded: back near where it started, whatever the number of files churned.
    {
      figure: "HA: etcd db in use once settled",
      value: mib(settled),
      unit: "MiB",
      baseline: "before the files",
      baselineValue: mib(before.dbSizeInUse),
      target: { atMostValue: Math.ceil(mib(before.dbSizeInUse) + 16) },
    },
    { figure: "HA: etcd db file after defragmenting", value: mib(after.dbSize), unit: "MiB" },
  ];
}

/**
 * Seconds from kill -9 of the active NameNode to the first put that
 * succeeds through the same client (which follows the failover itself);
 * a put that fails meanwhile is retried at once.
 */
async function failoverSeconds(cluster: MiniCluster, fs: ReturnType<MiniCluster["client"]>): Promise<number> {
  const small = randomBytes(4096);
  const active = await cluster.waitForActiveNameNode();
  await fs.writeFile("/failover/warm", small);
  const start = Date.now();
  await cluster.killNameNode(active, "SIGKILL");
  for (let i = 0; ; i++) {
    try {
      await fs.writeFile(`/failover/f${i}`, small);
      break;
    } catch (err) {
      if (Date.now() - start > 120_000) throw new Error(`no put succeeded within 120 s of killing the active NameNode: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return (Date.now() - start) / 1000;
}
