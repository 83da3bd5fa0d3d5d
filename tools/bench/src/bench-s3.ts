#!/usr/bin/env node
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { request } from "node:http";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Command } from "commander";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { formatSize, parseSize } from "@trainfs/common";
import { MiniCluster, randomFile, startS3Gateway } from "@trainfs/testkit";
import { MiB, median, processUsage, rate, seconds } from "./measure.js";

/**
 * `pnpm bench:s3`: the S3 gateway's rows of `pnpm bench` alone (each beside
 * the Node SDK doing the same, alternated), with the gateway's CPU seconds
 * per MiB of each transfer: short runs for a busy machine. With `--soak`,
 * instead one streamed PutObject and GetObject of that size (5GiB for the
 * issue's target) and the gateway's peak RSS over both.
 */
const opts = new Command("trainfs-bench-s3")
  .option("--reps <n>", "repetitions of each figure (alternated with the SDK's)", "3")
  .option("--size <size>", "object size of the PUT and GET figures", "256MiB")
  .option("--small-files <n>", "4 KiB objects in the small-PUT and list figures", "1000")
  .option("--only <list>", "figures to run: put,get,small,list,lean", "put,get,small,list,lean")
  .option("--soak <size>", "instead: one streamed PutObject and GetObject of this size, and the gateway's peak RSS")
  .option("--dir <dir>", "where the cluster writes", ".trainfs/bench-s3")
  .parse()
  .opts<{ reps: string; size: string; smallFiles: string; only: string; soak?: string; dir: string }>();

const reps = Number(opts.reps);
const size = parseSize(opts.size);
const smallCount = Number(opts.smallFiles);
const only = new Set(opts.only.split(","));
const dir = resolve(opts.dir);
const log = (s: string) => process.stderr.write(`${s}\n`);
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

const cluster = await MiniCluster.start({ mode: "process", baseDir: join(dir, "cluster"), dataNodes: 3, logLevel: "warn" });
const fs = cluster.client();
const gateway = await startS3Gateway(cluster, { mode: "process" });
const gwPid = gateway.process!.pid;
const s3 = new S3Client({
  endpoint: gateway.address,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: gateway.credentials[0]!.accessKeyId, secretAccessKey: gateway.credentials[0]!.secretAccessKey },
});
/** Seconds of `fn`, with the gateway's and this process's CPU seconds over it. */
const timed = async (fn: () => Promise<unknown>) => {
  const gw0 = processUsage(gwPid).cpuSeconds;
  const me0 = process.cpuUsage();
  const s = await seconds(fn);
  const me = process.cpuUsage(me0);
  return { s, gwCpu: processUsage(gwPid).cpuSeconds - gw0, clientCpu: (me.user + me.system) / 1e6 };
};
const fmt = (n: number) => n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);
try {
  await s3.send(new CreateBucketCommand({ Bucket: "s3bench" }));
  if (opts.soak) await soak(parseSize(opts.soak));
  else await figures();
} finally {
  s3.destroy();
  fs.close();
  await gateway.stop();
  await cluster.shutdown();
  await rm(dir, { recursive: true, force: true });
}

async function figures(): Promise<void> {
  const lines: string[] = [];
  const row = (figure: string, s3Values: number[], sdkValues: number[], unit: string, extra = "") =>
    lines.push(`${figure.padEnd(40)} S3 ${fmt(median(s3Values))} ${unit}  SDK ${fmt(median(sdkValues))} ${unit}  ratio ${(median(s3Values) / median(sdkValues)).toFixed(2)}×  ${extra}`);
  if (only.has("put") || only.has("get") || only.has("lean")) {
    const local = join(dir, "in");
    await randomFile(local, size);
    const sdkPut: number[] = [];
    const s3Put: number[] = [];
    const gwCpu: number[] = [];
    const clientCpu: number[] = [];
    for (let rep = 0; rep < reps && (only.has("put") || only.has("get")); rep++) {
      sdkPut.push(size / MiB / (await timed(() => fs.put(local, `/s3bench-sdk/put-${rep}`))).s);
      const t = await timed(() => new Upload({ client: s3, params: { Bucket: "s3bench", Key: `big/put-${rep}`, Body: createReadStream(local) } }).done());
      s3Put.push(size / MiB / t.s);
      gwCpu.push((t.gwCpu / size) * MiB * 1000);
      clientCpu.push((t.clientCpu / size) * MiB * 1000);
    }
    if (only.has("put")) row(`PUT ${formatSize(size)} (lib-storage)`, s3Put, sdkPut, "MiB/s", `gateway ${fmt(median(gwCpu))} ms CPU/MiB, client ${fmt(median(clientCpu))} ms CPU/MiB`);
    if (only.has("get")) {
      const sdkGet: number[] = [];
      const s3Get: number[] = [];
      const gwCpuGet: number[] = [];
      const out = join(dir, "out");
      for (let rep = 0; rep < reps; rep++) {
        sdkGet.push(size / MiB / (await timed(() => fs.get(`/s3bench-sdk/put-${rep}`, out))).s);
        await rm(out);
        const t = await timed(async () => {
          const res = await s3.send(new GetObjectCommand({ Bucket: "s3bench", Key: `big/put-${rep}` }));
          await pipeline(res.Body as Readable, createWriteStream(out));
        });
        await rm(out);
        s3Get.push(size / MiB / t.s);
        gwCpuGet.push((t.gwCpu / size) * MiB * 1000);
      }
      row(`GET ${formatSize(size)}`, s3Get, sdkGet, "MiB/s", `gateway ${fmt(median(gwCpuGet))} ms CPU/MiB`);
    }
    if (only.has("lean")) {
      // The same object through the gateway from a lean client: presigned URLs
      // (UNSIGNED-PAYLOAD) and node:http, no SDK doing per-byte work of its own,
      // so the figure is the gateway's, not the AWS SDK's.
      const leanPut: number[] = [];
      const leanGet: number[] = [];
      const sdkPut: number[] = [];
      const sdkGet: number[] = [];
      const gwPut: number[] = [];
      const gwGet: number[] = [];
      const out = join(dir, "out");
      for (let rep = 0; rep < reps; rep++) {
        sdkPut.push(size / MiB / (await timed(() => fs.put(local, `/s3bench-sdk/lean-${rep}`))).s);
        const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: "s3bench", Key: `lean/${rep}` }), { expiresIn: 600 });
        const p = await timed(() => httpTransfer("PUT", putUrl, local, undefined));
        leanPut.push(size / MiB / p.s);
        gwPut.push((p.gwCpu / size) * MiB * 1000);
        sdkGet.push(size / MiB / (await timed(() => fs.get(`/s3bench-sdk/lean-${rep}`, out))).s);
        await rm(out);
        const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "s3bench", Key: `lean/${rep}` }), { expiresIn: 600 });
        const g = await timed(() => httpTransfer("GET", getUrl, undefined, out));
        await rm(out);
        leanGet.push(size / MiB / g.s);
        gwGet.push((g.gwCpu / size) * MiB * 1000);
      }
      row(`PUT ${formatSize(size)} (lean client, one PUT)`, leanPut, sdkPut, "MiB/s", `gateway ${fmt(median(gwPut))} ms CPU/MiB`);
      row(`GET ${formatSize(size)} (lean client)`, leanGet, sdkGet, "MiB/s", `gateway ${fmt(median(gwGet))} ms CPU/MiB`);
    }
    await rm(local);
    await fs.rm("/s3bench-sdk", { recursive: true });
  }
  if (only.has("small") || only.has("list")) {
    const small = randomBytes(4096);
    const sdkSmall = await rate(smallCount, 16, (i) => fs.writeFile(`/s3bench-small/f${i}`, small));
    const t = await timed(async () => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < smallCount) {
          const i = next++;
          await s3.send(new PutObjectCommand({ Bucket: "s3bench", Key: `small/f${String(i).padStart(5, "0")}`, Body: small }));
        }
      }));
    });
    if (only.has("small")) row(`${smallCount} × 4 KiB PUT, 16 in flight`, [smallCount / t.s], [sdkSmall], "files/s", `gateway ${fmt((t.gwCpu / smallCount) * 1000)} ms CPU/PUT`);
    if (only.has("list")) {
      const ms: number[] = [];
      const sdkMs: number[] = [];
      const gw: number[] = [];
      for (let rep = 0; rep < Math.max(reps, 5); rep++) {
        sdkMs.push((await seconds(() => fs.list("/s3bench-small"))) * 1000);
        let keys = 0;
        const l = await timed(async () => {
          keys = (await s3.send(new ListObjectsV2Command({ Bucket: "s3bench", Prefix: "small/", MaxKeys: 1000 }))).KeyCount ?? 0;
        });
        if (keys !== Math.min(1000, smallCount)) throw new Error(`ListObjectsV2 returned ${keys} keys`);
        ms.push(l.s * 1000);
        gw.push(l.gwCpu * 1000);
      }
      row(`ListObjectsV2 of ${Math.min(1000, smallCount)} keys`, ms, sdkMs, "ms", `(SDK: list of the same count) gateway ${fmt(median(gw))} ms CPU`);
    }
    await fs.rm("/s3bench-small", { recursive: true });
  }
  console.log(lines.join("\n"));
  const u = processUsage(gwPid);
  console.log(`s3-gateway: peak RSS ${formatSize(u.peakRssBytes)}, ${fmt(u.cpuSeconds)} s CPU in all; load average ${(await import("node:os")).loadavg().map((l) => l.toFixed(1)).join(" ")}`);
}

/** One streamed PutObject and GetObject of `bytes` (generated, never on disk), both checked by MD5; the gateway's peak RSS. */
async function soak(bytes: number): Promise<void> {
  const block = randomBytes(MiB);
  const blocks = Math.ceil(bytes / MiB);
  const sent = createHash("md5");
  const source = Readable.from((function* () {
    for (let i = 0; i < blocks; i++) {
      const b = i === blocks - 1 && bytes % MiB ? block.subarray(0, bytes % MiB) : block;
      sent.update(b);
      yield b;
    }
  })());
  log(`PUT of ${formatSize(bytes)}…`);
  let etag: string | undefined;
  const put = await timed(async () => {
    etag = (await s3.send(new PutObjectCommand({ Bucket: "s3bench", Key: "soak", Body: source, ContentLength: bytes }))).ETag;
  });
  if (etag !== `"${sent.digest("hex")}"`) throw new Error(`the PUT's ETag ${etag} is not the MD5 of what was sent`);
  const afterPut = processUsage(gwPid).peakRssBytes;
  log(`GET of ${formatSize(bytes)}…`);
  const received = createHash("md5");
  let length = 0;
  const get = await timed(async () => {
    const res = await s3.send(new GetObjectCommand({ Bucket: "s3bench", Key: "soak" }));
    for await (const piece of res.Body as AsyncIterable<Buffer>) {
      received.update(piece);
      length += piece.length;
    }
  });
  if (length !== bytes || `"${received.digest("hex")}"` !== etag) throw new Error(`the GET returned ${length} bytes or other bytes than were put`);
  const peak = processUsage(gwPid).peakRssBytes;
  const result = {
    size: bytes,
    putMiBs: bytes / MiB / put.s,
    getMiBs: bytes / MiB / get.s,
    peakRssAfterPut: afterPut,
    peakRss: peak,
    gatewayCpuMsPerMiB: ((put.gwCpu + get.gwCpu) / (2 * bytes)) * MiB * 1000,
  };
  console.log(
    `soak ${formatSize(bytes)}: PUT ${fmt(result.putMiBs)} MiB/s, GET ${fmt(result.getMiBs)} MiB/s, gateway peak RSS ${formatSize(afterPut)} after the PUT, ${formatSize(peak)} after the GET (target < 300 MiB: ${peak < 300 * MiB ? "met" : "NOT met"})`,
  );
  await writeFile(join(dir, "..", "bench-s3-soak.json"), JSON.stringify(result, null, 2));
}

/** A PUT of a local file, or a GET into one, with node:http alone. */
function httpTransfer(method: "PUT" | "GET", url: string, from: string | undefined, to: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, method, path: `${u.pathname}${u.search}`, headers: from ? { "content-length": String(size) } : {} }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${method} answered ${res.statusCode}`));
        return;
      }
      if (to) pipeline(res, createWriteStream(to)).then(resolve, reject);
      else {
        res.resume();
        res.on("end", resolve);
      }
    });
    req.on("error", reject);
    if (from) pipeline(createReadStream(from), req).catch(reject);
    else req.end();
  });
}
