#!/usr/bin/env node
import { execFile, fork } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Command } from "commander";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { ClientService } from "@trainfs/proto";
import { RpcClients, formatSize, parseSize } from "@trainfs/common";
import { MiniCluster, randomFile, startS3Gateway, type S3GatewayHandle } from "@trainfs/testkit";
import { nameNodeDefaults } from "@trainfs/namenode";
import { dataNodeDefaults } from "@trainfs/datanode";
import { chunkInstallFloor, rawDurableSmallFiles, rawLoopbackTcp, rawSequentialWrite } from "./baselines.js";
import { dropPageCache, medianOf, MiB, processUsage, rate, seconds, warmMetadata } from "./measure.js";
import { printTable, type Row } from "./report.js";
import { haFigures, haUnavailable } from "./ha.js";

const opts = new Command("trainfs-bench")
  .description("TrainFS against this machine's own limits, measured in the same run (median of --reps).")
  .option("--reps <n>", "repetitions of each figure", "3")
  .option("--sizes <list>", "file sizes for put and get", "256MiB,1GiB")
  .option("--small-files <n>", "files in the small-file figures", "1000")
  .option("--tree-files <n>", "files in the directory put and get through the CLI", "10000")
  .option("--heartbeat-timeout-ms <ms>", "the NameNode's heartbeat timeout (recovery figure)", String(nameNodeDefaults.heartbeatTimeoutMs))
  .option("--dir <dir>", "where the cluster and the baselines write (the real disk)", ".trainfs/bench")
  .option("--out <file>", "where to write the figures as JSON", "bench-results/bench.json")
  .option("--ha", "also NameNode HA (two NameNodes on a 3-member etcd), each figure beside this run's single NameNode: mkdir, stat, put and get, etcd's size after --ha-files files, failover time")
  .option("--ha-files <n>", "with --ha: files created and deleted before etcd's size is read", "100000")
  .parse()
  .opts<{ reps: string; sizes: string; smallFiles: string; treeFiles: string; heartbeatTimeoutMs: string; dir: string; out: string; ha?: boolean; haFiles: string }>();

const reps = Number(opts.reps);
const sizes = opts.sizes.split(",").map(parseSize);
const smallCount = Number(opts.smallFiles);
const treeFiles = Number(opts.treeFiles);
const timeoutMs = Number(opts.heartbeatTimeoutMs);
const dir = resolve(opts.dir);
if (opts.ha) {
  // Said before minutes of single-NameNode figures, not after.
  const why = await haUnavailable();
  if (why) {
    console.error(`trainfs-bench: --ha cannot run: ${why}`);
    process.exit(1);
  }
}
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const rows: Row[] = [];
const execFileAsync = promisify(execFile);
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---- Baselines, on the same disk and loopback, in this run.
log("baselines…");
const rawWrite = new Map<number, number>();
// Every large write, raw or TrainFS, starts from a dropped page cache (where
// permitted): on this VM, writing into page-cache memory not used since boot
// costs far more than reusing freed pages, so whichever write came later in
// the run would otherwise pay for the earlier ones' cached bytes
// (docs/performance.md, "How the large writes are measured").
let dropped = true;
const fromDroppedCache = async <T>(f: () => Promise<T>): Promise<T> => {
  dropped = (await dropPageCache()) && dropped;
  return f();
};
for (const size of sizes) rawWrite.set(size, await medianOf(reps, () => fromDroppedCache(() => rawSequentialWrite(dir, size))));
const rawTcp = await medianOf(reps, () => rawLoopbackTcp(Math.max(...sizes)));
const rawSmall = await medianOf(reps, () => rawDurableSmallFiles(dir, smallCount, 1));
const noop = await noopUnary();
// Not a baseline but a ceiling: the chunk stores' own durable work for a small put (docs/performance.md).
const floor = {
  sequential: await medianOf(reps, () => chunkInstallFloor(dir, smallCount, 1)),
  parallel: await medianOf(reps, () => chunkInstallFloor(dir, smallCount, 16)),
};

// ---- A fresh cluster: a NameNode and four DataNodes as processes (four, so a killed one can be replaced).
log("cluster…");
const cluster = await MiniCluster.start({
  mode: "process",
  baseDir: join(dir, "cluster"),
  dataNodes: 4,
  // The servers' defaults, as an operator would run them (the test kit's are faster).
  heartbeatIntervalMs: dataNodeDefaults.heartbeatIntervalMs,
  heartbeatTimeoutMs: timeoutMs,
  nameNode: { monitorIntervalMs: nameNodeDefaults.monitorIntervalMs },
  logLevel: "warn",
});
const fs = cluster.client();
let bytesMoved = 0;
const usageExtra: Array<{ name: string; peakRssBytes: number; cpuSeconds: number }> = [];
try {
  for (const size of sizes) {
    log(`put and get of ${formatSize(size)}…`);
    const local = join(dir, `in-${size}`);
    await randomFile(local, size);
    let coldNote = "";
    const put = await medianOf(reps, (rep) => fromDroppedCache(async () => size / MiB / (await seconds(() => fs.put(local, `/big/${size}-${rep}`)))));
    const get = await medianOf(reps, async (rep) => {
      coldNote = (await dropPageCache()) ? "cold" : "warm (page cache could not be dropped)";
      const s = await seconds(() => fs.get(`/big/${size}-${rep}`, join(dir, `out-${size}-${rep}`)));
      await rm(join(dir, `out-${size}-${rep}`));
      return size / MiB / s;
    });
    bytesMoved += 2 * size * reps;
    await fs.rm("/big", { recursive: true });
    await rm(local);
    rows.push(
      { figure: `put ${formatSize(size)}, 3 replicas${dropped ? "" : " (page cache not dropped)"}`, value: put, unit: "MiB/s", baseline: "raw fsync write ÷ 3", baselineValue: rawWrite.get(size)! / 3, target: { atLeast: 0.8 } },
      { figure: `get ${formatSize(size)} (${coldNote})`, value: get, unit: "MiB/s", baseline: "raw loopback TCP", baselineValue: rawTcp, target: { atLeast: 0.2 } },
    );
  }

  log("small files…");
  const small = randomBytes(4096);
  for (const inFlight of [1, 16]) {
    const d = `/small-${inFlight}`;
    const label = inFlight === 1 ? "sequential" : "16 in flight";
    const cpuBefore = clusterCpuSeconds(cluster);
    const put = await rate(smallCount, inFlight, (i) => fs.writeFile(`${d}/f${i}`, small));
    const cpuPerPut = ((clusterCpuSeconds(cluster) - cpuBefore) / smallCount) * 1000;
    const list = await medianOf(reps, async () => (await seconds(() => fs.list(d))) * 1000);
    const get = await rate(smallCount, inFlight, (i) => fs.readFile(`${d}/f${i}`));
    const del = await rate(smallCount, inFlight, (i) => fs.rm(`${d}/f${i}`));
    bytesMoved += 2 * 4096 * smallCount;
    rows.push(
      { figure: `${smallCount} × 4 KiB put, ${label}`, value: put, unit: "files/s", baseline: "raw durable small files", baselineValue: rawSmall, target: { atLeast: inFlight === 1 ? 0.2 : 0.8 } },
      { figure: `  its CPU per put, every process summed`, value: cpuPerPut, unit: "ms", target: { atMostValue: 1 } },
      {
        figure: `  its storage floor: 3 chunk installs, no network, ${label}`,
        value: inFlight === 1 ? floor.sequential : floor.parallel,
        unit: "files/s",
        baseline: "raw durable small files",
        baselineValue: rawSmall,
      },
      { figure: `list ${smallCount} entries with stat`, value: list, unit: "ms", target: { atMostValue: inFlight === 1 ? 50 : undefined } },
      { figure: `${smallCount} × 4 KiB get, ${label}`, value: get, unit: "files/s", baseline: "raw durable small files", baselineValue: rawSmall, target: { atLeastValue: inFlight === 1 ? undefined : 5000 } },
      { figure: `${smallCount} × 4 KiB delete, ${label}`, value: del, unit: "files/s", baseline: "raw durable small files", baselineValue: rawSmall, target: { atLeastValue: inFlight === 1 ? undefined : 5000 } },
    );
  }

  log(`a directory of ${treeFiles} files through the CLI…`);
  const tree = await directoryFigures(cluster, treeFiles);
  bytesMoved += 2 * tree.bytes;
  rows.push(
    { figure: `trainfs put DIR: ${treeFiles} files of 1–64 KiB`, value: tree.put, unit: "files/s", target: { atLeastValue: 1500 } },
    { figure: `trainfs get DIR: the same ${treeFiles} files`, value: tree.get, unit: "files/s", target: { atLeastValue: 3000 } },
  );

  log("S3 gateway…");
  const gateway = await startS3Gateway(cluster, { mode: "process" });
  try {
    rows.push(...(await s3Figures(gateway)));
    usageExtra.push({ name: "s3-gateway", ...processUsage(gateway.process!.pid) });
  } finally {
    await gateway.stop();
  }

  log("metadata…");
  await warmMetadata(fs);
  const mkdirs = await rate(2000, 16, (i) => fs.mkdir(`/meta/d${i}`, { parents: true }));
  const stats = await rate(5000, 16, (i) => fs.stat(`/meta/d${i % 2000}`));
  await rate(8000, 16, (i) => fs.mkdir(`/meta/d${2000 + i}`));
  const list10k = await medianOf(reps, async () => (await seconds(() => fs.list("/meta"))) * 1000);
  rows.push(
    { figure: "mkdir, 16 in flight", value: mkdirs, unit: "ops/s", baseline: "no-op unary, 16 in flight", baselineValue: noop.parallel },
    { figure: "stat, 16 in flight", value: stats, unit: "ops/s", baseline: "no-op unary, 16 in flight", baselineValue: noop.parallel, target: { atLeast: 0.5 } },
    { figure: "list of 10,000 entries", value: list10k, unit: "ms" },
  );

  const usage = [
    { name: "namenode", ...processUsage(cluster.nameNodePid) },
    ...[0, 1, 2, 3].map((i) => ({ name: `datanode-${i + 1}`, ...processUsage(cluster.dataNodePid(i)) })),
    ...usageExtra,
    { name: "client (this process)", ...processUsage(process.pid) },
  ];

  log("recovery after kill -9…");
  const recovery = await measureRecovery(cluster, join(dir, "recover"), 256 * MiB);
  rows.push({
    figure: `recovery of a 256 MiB file after kill -9 (heartbeat timeout ${timeoutMs / 1000} s)`,
    value: recovery, unit: "s", target: { atMostValue: timeoutMs / 1000 + 10 },
  });

  if (opts.ha) {
    // One cluster at a time: the single-NameNode one stops before the HA one starts.
    fs.close();
    await cluster.shutdown();
    // The HA figures' large put and get: 256 MiB (or the smallest size asked for).
    const size = sizes.includes(256 * MiB) ? 256 * MiB : Math.min(...sizes);
    const ha = await haFigures({ dir, reps, size, churnFiles: Number(opts.haFiles), heartbeatTimeoutMs: timeoutMs, log, dropPageCache });
    rows.push(...ha.rows);
    bytesMoved += ha.bytesMoved;
  }

  printTable(rows, usage, bytesMoved, { rawWrite: Object.fromEntries(rawWrite), rawTcp, rawSmall, noop, floor });
  console.log(dropped ? "\nthe page cache was dropped before each raw write and each put, and before each get" : "\nthe page cache could not be dropped (not root): writes and gets ran on a warm cache");
  await mkdir(resolve(opts.out, ".."), { recursive: true });
  await writeFile(resolve(opts.out), JSON.stringify({ date: new Date().toISOString(), reps, rows, usage, bytesMoved, baselines: { rawWrite: Object.fromEntries(rawWrite), rawTcp, rawSmall, noop }, storageFloor: floor }, null, 2));
  log(`figures written to ${resolve(opts.out)}`);
} finally {
  fs.close();
  await cluster.shutdown();
}

/**
 * The S3 gateway (a process of its own) with the AWS SDK at its defaults
 * (CRC32 trailers), each figure beside the Node SDK's doing the same in this
 * run: a 256 MiB PUT (lib-storage's multipart Upload) and GET, 4 KiB PUTs with
 * 16 in flight, and a ListObjectsV2 of 1,000 keys.
 */
async function s3Figures(gateway: S3GatewayHandle): Promise<Row[]> {
  const s3 = new S3Client({
    endpoint: gateway.address,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: gateway.credentials[0]!.accessKeyId, secretAccessKey: gateway.credentials[0]!.secretAccessKey },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "s3bench" }));
    const size = 256 * MiB;
    const local = join(dir, "s3-in");
    await randomFile(local, size);
    // Alternated, each from a dropped page cache, so neither side gets the quieter moments.
    const sdkPut: number[] = [];
    const s3Put: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      sdkPut.push(await fromDroppedCache(async () => size / MiB / (await seconds(() => fs.put(local, `/s3bench-sdk/put-${rep}`)))));
      s3Put.push(
        await fromDroppedCache(async () => {
          const upload = new Upload({ client: s3, params: { Bucket: "s3bench", Key: `big/put-${rep}`, Body: createReadStream(local) } });
          return size / MiB / (await seconds(() => upload.done()));
        }),
      );
    }
    const sdkGet: number[] = [];
    const s3Get: number[] = [];
    const out = join(dir, "s3-out");
    for (let rep = 0; rep < reps; rep++) {
      await dropPageCache();
      sdkGet.push(size / MiB / (await seconds(() => fs.get(`/s3bench-sdk/put-${rep}`, out))));
      await rm(out);
      await dropPageCache();
      s3Get.push(
        size / MiB /
          (await seconds(async () => {
            const res = await s3.send(new GetObjectCommand({ Bucket: "s3bench", Key: `big/put-${rep}` }));
            await pipeline(res.Body as Readable, createWriteStream(out));
          })),
      );
      await rm(out);
    }
    bytesMoved += 4 * size * reps;
    await rm(local);
    await fs.rm("/s3bench-sdk", { recursive: true });

    const small = randomBytes(4096);
    const sdkSmall = await rate(smallCount, 16, (i) => fs.writeFile(`/s3bench-small/f${i}`, small));
    const s3Small = await rate(smallCount, 16, (i) => s3.send(new PutObjectCommand({ Bucket: "s3bench", Key: `small/f${String(i).padStart(5, "0")}`, Body: small })));
    bytesMoved += 2 * 4096 * smallCount;
    const list = await medianOf(reps, async () => {
      let keys = 0;
      const ms = (await seconds(async () => {
        keys = (await s3.send(new ListObjectsV2Command({ Bucket: "s3bench", Prefix: "small/", MaxKeys: 1000 }))).KeyCount ?? 0;
      })) * 1000;
      if (keys !== Math.min(1000, smallCount)) throw new Error(`ListObjectsV2 returned ${keys} keys, expected ${Math.min(1000, smallCount)}`);
      return ms;
    });
    await fs.rm("/s3bench-small", { recursive: true });
    await fs.rm("/s3bench", { recursive: true });
    const m = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    return [
      { figure: "S3 PUT 256 MiB (lib-storage multipart)", value: m(s3Put), unit: "MiB/s", baseline: "SDK put, same run", baselineValue: m(sdkPut), target: { atLeast: 0.8 } },
      { figure: "S3 GET 256 MiB (cold)", value: m(s3Get), unit: "MiB/s", baseline: "SDK get, same run", baselineValue: m(sdkGet), target: { atLeast: 0.8 } },
      { figure: `${smallCount} × 4 KiB S3 PUT, 16 in flight`, value: s3Small, unit: "files/s", baseline: "SDK 4 KiB put, 16 in flight", baselineValue: sdkSmall, target: { atLeast: 0.7 } },
      { figure: `S3 ListObjectsV2 of ${Math.min(1000, smallCount)} keys`, value: list, unit: "ms", target: { atMostValue: 50 } },
    ];
  } finally {
    s3.destroy();
  }
}

/** CPU seconds so far of the NameNode, the DataNodes and this process (the client). */
function clusterCpuSeconds(c: MiniCluster): number {
  const pids = [c.nameNodePid, ...Array.from({ length: c.dataNodeCount }, (_, i) => c.dataNodePid(i)), process.pid];
  return pids.reduce((sum, pid) => sum + processUsage(pid).cpuSeconds, 0);
}

/**
 * A local directory of `count` files of 1–64 KiB (ten subdirectories, as a
 * dataset's shards) put and got back by the CLI as a user runs it, at its
 * defaults; every file got back is compared with its original.
 */
async function directoryFigures(c: MiniCluster, count: number): Promise<{ put: number; get: number; bytes: number }> {
  const local = join(dir, "tree-in");
  const back = join(dir, "tree-out");
  const originals = new Map<string, string>();
  let bytes = 0;
  for (let s = 0; s < 10; s++) await mkdir(join(local, `shard-${s}`), { recursive: true });
  for (let i = 0; i < count; i++) {
    const name = join(`shard-${i % 10}`, `sample-${String(i).padStart(6, "0")}.bin`);
    const data = randomBytes(1024 + Math.floor(Math.random() * 63 * 1024));
    await writeFile(join(local, name), data);
    originals.set(name, createHash("sha256").update(data).digest("hex"));
    bytes += data.length;
  }
  const cli = createRequire(import.meta.url).resolve("@trainfs/cli/package.json").replace(/package\.json$/, "dist/main.js");
  const trainfs = (...args: string[]) =>
    execFileAsync(process.execPath, [cli, "--namenode", c.nameNodeAddress, "-q", ...args], { maxBuffer: 16 * MiB });
  const put = count / (await seconds(() => trainfs("put", local, "/tree")));
  const get = count / (await seconds(() => trainfs("get", "/tree", back)));
  for (const [name, sum] of originals) {
    const got = createHash("sha256").update(await readFile(join(back, name))).digest("hex");
    if (got !== sum) throw new Error(`trainfs get DIR: ${name} came back different`);
  }
  await fs.rm("/tree", { recursive: true });
  await rm(local, { recursive: true });
  await rm(back, { recursive: true });
  return { put, get, bytes };
}

/** A no-op Connect unary call against a server process with the NameNode's stack: calls/s. */
async function noopUnary(): Promise<{ sequential: number; parallel: number }> {
  const child = fork(fileURLToPath(new URL("./noop-server.js", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const port = await new Promise<number>((r) => child.once("message", (m) => r((m as { port: number }).port)));
    const rpc = new RpcClients();
    const client = rpc.client(ClientService, `http://127.0.0.1:${port}`);
    await rate(200, 1, () => client.stat({})); // warm up
    const sequential = await medianOf(reps, () => rate(2000, 1, () => client.stat({})));
    const parallel = await medianOf(reps, () => rate(5000, 16, () => client.stat({})));
    rpc.close();
    return { sequential, parallel };
  } finally {
    child.kill();
  }
}

/** Seconds from kill -9 of a DataNode holding replicas until every chunk has 3 live replicas again. */
async function measureRecovery(c: MiniCluster, local: string, size: number): Promise<number> {
  await randomFile(local, size);
  await fs.put(local, "/recover");
  const rpc = new RpcClients();
  const nn = rpc.client(ClientService, c.nameNodeAddress);
  const victim = c.dataNodeAddress(0);
  const start = Date.now();
  await c.killDataNode(0);
  for (;;) {
    const res = await nn.getFile({ path: "/recover" });
    const healed = res.chunks.every((ch) => ch.replicas.length === 3 && !ch.replicas.some((r) => r.address === victim));
    if (healed) break;
    if (Date.now() - start > 10 * 60_000) throw new Error("no recovery within 10 minutes");
    await new Promise((r) => setTimeout(r, 100));
  }
  rpc.close();
  return (Date.now() - start) / 1000;
}
