import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";

/** Writes `size` random bytes to `path` in 1 MiB pieces (never all in memory). */
export async function randomFile(path: string, size: number): Promise<void> {
  const out = await open(path, "w");
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(1024 * 1024, size - done);
      await out.write(randomBytes(n));
      done += n;
    }
  } finally {
    await out.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const part of createReadStream(path)) hash.update(part as Buffer);
  return hash.digest("hex");
}
