import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open, rm, mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MiB, processUsage, rate, seconds } from "./measure.js";

/** Sequential write of `bytes` in 1 MiB writes, then fsync: MiB/s. */
export async function rawSequentialWrite(dir: string, bytes: number): Promise<number> {
  const path = join(dir, "raw-write.bin");
  const block = randomBytes(MiB);
  const s = await seconds(async () => {
    const f = await open(path, "w");
    for (let done = 0; done < bytes; done += MiB) await f.write(block, 0, Math.min(MiB, bytes - done));
    await f.sync();
    await f.close();
  });
  await rm(path, { force: true });
  return bytes / MiB / s;
}

/** Create, write 4 KiB, fsync, close, `count` times: files/s. */
export async function rawDurableSmallFiles(dir: string, count: number, inFlight = 1): Promise<number> {
  const sub = join(dir, `raw-small-${inFlight}`);
  await mkdir(sub, { recursive: true });
  const data = randomBytes(4096);
  const r = await rate(count, inFlight, async (i) => {
    const f = await open(join(sub, `f${i}`), "w");
    await f.write(data);
    await f.sync();
    await f.close();
  });
  await rm(sub, { recursive: true, force: true });
  return r;
}

/**
 * The storage floor of a small put: three chunk stores (three processes, as
 * three DataNodes on this disk) each install `count` 4 KiB chunks with
 * `inFlight` at a time, started together: files/s, each file being one chunk
 * durable on all three. No network, no NameNode, no client: whatever a put
 * adds can only lower it.
 */
export async function chunkInstallFloor(dir: string, count: number, inFlight: number, packedChunkMaxBytes?: number): Promise<number> {
  return (await chunkInstallFloorWithCpu(dir, count, inFlight, packedChunkMaxBytes)).perSecond;
}

/**
 * chunkInstallFloor, with the CPU the three stores spent per file (user +
 * system, summed over the three processes): on a shared machine the rate
 * depends on the neighbours, the CPU per file much less.
 * `packedChunkMaxBytes` overrides the DataNode's default (0: plain files).
 */
export async function chunkInstallFloorWithCpu(dir: string, count: number, inFlight: number, packedChunkMaxBytes?: number): Promise<{ perSecond: number; cpuMsPerFile: number }> {
  const extra = packedChunkMaxBytes === undefined ? [] : [String(packedChunkMaxBytes)];
  const children = [1, 2, 3].map((i) =>
    fork(fileURLToPath(new URL("./chunk-installer.js", import.meta.url)), [join(dir, `floor-${inFlight}-${i}`), ...extra], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  const next = (child: ChildProcess) =>
    new Promise<{ perSecond?: number; error?: string }>((resolve, reject) => {
      child.once("message", (m) => resolve(m as { perSecond?: number; error?: string }));
      child.once("exit", (code) => reject(new Error(`a chunk installer exited (${code}) before answering`)));
    });
  try {
    await Promise.all(children.map(next));
    const answers = children.map(next);
    const cpu = () => children.reduce((sum, child) => sum + processUsage(child.pid!).cpuSeconds, 0);
    const cpuBefore = cpu();
    const s = await seconds(async () => {
      for (const child of children) child.send({ count, inFlight });
      for (const a of await Promise.all(answers)) if (a.error) throw new Error(`chunk installer: ${a.error}`);
    });
    return { perSecond: count / s, cpuMsPerFile: ((cpu() - cpuBefore) * 1000) / count };
  } finally {
    for (const child of children) child.kill();
    await Promise.all([1, 2, 3].map((i) => rm(join(dir, `floor-${inFlight}-${i}`), { recursive: true, force: true })));
  }
}

/** `bytes` over loopback TCP from this process to a child Node process that discards them: MiB/s. */
export async function rawLoopbackTcp(bytes: number): Promise<number> {
  const child = fork(fileURLToPath(new URL("./tcp-sink.js", import.meta.url)), [String(bytes)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve((m as { port: number }).port)));
  const block = randomBytes(MiB);
  const s = await seconds(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1");
        socket.on("error", reject);
        child.once("message", () => resolve()); // the sink got every byte
        let sent = 0;
        const pump = () => {
          while (sent < bytes) {
            sent += MiB;
            if (!socket.write(block)) return void socket.once("drain", pump);
          }
          socket.end();
        };
        socket.on("connect", pump);
      }),
  );
  child.kill();
  return bytes / MiB / s;
}
