import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open, rm, mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MiB, rate, seconds } from "./measure.js";

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
