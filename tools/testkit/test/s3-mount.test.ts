import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSecurity, startS3Gateway } from "../src/index.js";
import { cluster, eventually, workDir } from "./helpers.js";
import { debianTool, rcloneEnv, skipReason, tool } from "./s3-tool-helpers.js";

// A POSIX mount through the gateway: `rclone mount` (FUSE) of a bucket; what
// cp, ls -l, cat, mv, rm and mkdir do on the mount is what TrainFS shows.

const rclone = debianTool("rclone");
const fusermount = debianTool("fusermount3") ?? debianTool("fusermount");
const isRoot = process.getuid?.() === 0;
const skip = skipReason("rclone mount test", [
  ["/dev/fuse", existsSync("/dev/fuse")],
  ["rclone", rclone !== undefined],
  ["fusermount3 or fusermount (fuse3)", fusermount !== undefined],
  ["root (to mount)", isRoot],
]);

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

async function mounted(dir: string): Promise<boolean> {
  return (await readFile("/proc/self/mounts", "utf8")).split("\n").some((line) => line.split(" ")[1] === dir);
}

describe("a POSIX mount through the S3 gateway", () => {
  it.skipIf(skip)("rclone mount: cp, ls -l, cat, mv, rm and mkdir on the mount agree with TrainFS", async () => {
    const c = await cluster({ security: generateSecurity() });
    const gw = await startS3Gateway(c);
    const dir = await workDir();
    const mnt = join(dir, "mnt");
    await mkdir(mnt);
    const sdk = c.client();
    // A file put with the SDK is an object, and a file on the mount.
    const seed = randomBytes(200_000);
    await sdk.writeFile("/mount-b/seed.bin", seed);
    const env = await rcloneEnv(join(dir, "home"), "tfs", gw.address, gw.credentials[0]!);
    let rcloneProcess: ChildProcess | undefined;
    try {
      // Written back as soon as a file is closed; listings cached for a second only.
      rcloneProcess = spawn(
        rclone!,
        ["mount", "tfs:mount-b", mnt, "--vfs-cache-mode", "writes", "--vfs-write-back", "0s", "--dir-cache-time", "1s", "--poll-interval", "0", "--cache-dir", join(dir, "cache")],
        { env, stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      rcloneProcess.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      await eventually(async () => expect(await mounted(mnt), `rclone mount: ${stderr}`).toBe(true), 30_000, 200);
      const sh = (file: string, ...args: string[]) => tool(file, args, env, dir);

      // ls -l and reading back what the SDK wrote.
      expect(await sh("ls", "-l", mnt)).toMatch(/\s200000 .* seed\.bin\n/);
      expect((await sh("sha256sum", join(mnt, "seed.bin"))).slice(0, 64)).toBe(sha256(seed));

      // cp onto the mount → a TrainFS file with the same bytes.
      const local = randomBytes(3 * 1024 * 1024 + 7);
      await writeFile(join(dir, "local.bin"), local);
      await sh("cp", join(dir, "local.bin"), join(mnt, "copied.bin"));
      await eventually(async () => expect(sha256(await sdk.readFile("/mount-b/copied.bin"))).toBe(sha256(local)), 30_000, 200);

      // mkdir, then a file in it: TrainFS has the directory and the file.
      await sh("mkdir", join(mnt, "sub"));
      await writeFile(join(dir, "note.txt"), "a note\n");
      await sh("cp", join(dir, "note.txt"), join(mnt, "sub", "note.txt"));
      await eventually(async () => expect((await sdk.readFile("/mount-b/sub/note.txt")).toString()).toBe("a note\n"), 30_000, 200);
      expect((await sdk.stat("/mount-b/sub")).type).toBe("directory");
      expect(await sh("cat", join(mnt, "sub", "note.txt"))).toBe("a note\n");

      // mv on the mount is a move in TrainFS.
      await sh("mv", join(mnt, "copied.bin"), join(mnt, "sub", "moved.bin"));
      await eventually(async () => {
        expect(await sdk.exists("/mount-b/copied.bin")).toBe(false);
        expect(sha256(await sdk.readFile("/mount-b/sub/moved.bin"))).toBe(sha256(local));
      }, 30_000, 200);

      // rm on the mount deletes the TrainFS file.
      await sh("rm", join(mnt, "seed.bin"));
      await eventually(async () => expect(await sdk.exists("/mount-b/seed.bin")).toBe(false), 30_000, 200);

      // A file the SDK writes shows on the mount (listings are cached for 1 s).
      await sdk.writeFile("/mount-b/sub/from-sdk.txt", "from the SDK\n");
      await eventually(async () => expect(await sh("ls", "-l", join(mnt, "sub"))).toMatch(/\s13 .* from-sdk\.txt\n/), 30_000, 300);
      expect(await sh("cat", join(mnt, "sub", "from-sdk.txt"))).toBe("from the SDK\n");

      // The mount's view and TrainFS's listing agree.
      const listed = (await sdk.list("/mount-b/sub")).map((s) => `${s.path.split("/").pop()} ${s.size}`).sort();
      expect(listed).toEqual([`from-sdk.txt 13`, `moved.bin ${local.length}`, "note.txt 7"]);
      const onMount = (await sh("ls", "-l", join(mnt, "sub")))
        .split("\n")
        .filter((l) => l.startsWith("-"))
        .map((l) => l.trim().split(/\s+/))
        .map((f) => `${f.at(-1)} ${f[4]}`)
        .sort();
      expect(onMount).toEqual(listed);
    } finally {
      if (await mounted(mnt)) await tool(fusermount!, ["-u", mnt], process.env).catch(() => tool(fusermount!, ["-uz", mnt], process.env));
      if (rcloneProcess && rcloneProcess.exitCode === null) {
        const exited = new Promise((resolve) => rcloneProcess!.once("exit", resolve));
        rcloneProcess.kill("SIGTERM");
        await exited;
      }
      await gw.stop();
    }
  });
});
