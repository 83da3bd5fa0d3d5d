import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSecurity, startS3Gateway } from "../src/index.js";
import { cluster, eventually, workDir } from "./helpers.js";
import { debianTool, rcloneEnv, skipReason, tool } from "./s3-tool-helpers.js";

// POSIX mounts through the gateway: `rclone mount` and `s3fs` (FUSE) of a
// bucket; what cp, ls -l, cat, mv, rm, mkdir, rmdir and chmod do on the mount
// is what TrainFS shows.

const rclone = debianTool("rclone");
const fusermount = debianTool("fusermount3") ?? debianTool("fusermount");
const isRoot = process.getuid?.() === 0;
const skip = skipReason("rclone mount test", [
  ["/dev/fuse", existsSync("/dev/fuse")],
  ["rclone", rclone !== undefined],
  ["fusermount3 or fusermount (fuse3)", fusermount !== undefined],
  ["root (to mount)", isRoot],
]);

const s3fs = debianTool("s3fs");
const skipS3fs = skipReason("s3fs mount test", [
  ["/dev/fuse", existsSync("/dev/fuse")],
  ["s3fs", s3fs !== undefined],
  ["fusermount3 or fusermount (fuse3)", fusermount !== undefined],
  ["root (to mount)", isRoot],
]);

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

async function mounted(dir: string): Promise<boolean> {
  return (await readFile("/proc/self/mounts", "utf8")).split("\n").some((line) => line.split(" ")[1] === dir);
}

/** Unmounts (lazily if busy) and waits for the FUSE client the test started to exit. */
async function unmount(mnt: string, client: ChildProcess | undefined): Promise<void> {
  if (await mounted(mnt)) await tool(fusermount!, ["-u", mnt], process.env).catch(() => tool(fusermount!, ["-uz", mnt], process.env));
  if (client && client.exitCode === null) {
    const exited = new Promise((resolve) => client.once("exit", resolve));
    client.kill("SIGTERM");
    await exited;
  }
}

/** A cluster with a gateway, and an empty mount point in a work directory. */
async function mountSetup() {
  const c = await cluster({ security: generateSecurity() });
  const gw = await startS3Gateway(c);
  const dir = await workDir();
  const mnt = join(dir, "mnt");
  await mkdir(mnt);
  return { gw, dir, mnt, sdk: c.client() };
}

describe("a POSIX mount through the S3 gateway", () => {
  it.skipIf(skip)("rclone mount: cp, ls -l, cat, mv, rm and mkdir on the mount agree with TrainFS", async () => {
    const { gw, dir, mnt, sdk } = await mountSetup();
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
      await unmount(mnt, rcloneProcess);
      await gw.stop();
    }
  });

  it.skipIf(skipS3fs)("s3fs: mkdir and rmdir (folder markers), cp, ls -l, cat, mv, chmod and rm on the mount agree with TrainFS", async () => {
    const { gw, dir, mnt, sdk } = await mountSetup();
    await sdk.mkdir("/fuse-b");
    const credential = gw.credentials[0]!;
    const passwd = join(dir, "passwd");
    await writeFile(passwd, `${credential.accessKeyId}:${credential.secretAccessKey}\n`, { mode: 0o600 });
    const env = { ...process.env, HOME: dir };
    const sh = (file: string, ...args: string[]) => tool(file, args, env, dir);
    let s3fsProcess: ChildProcess | undefined;
    try {
      // In the foreground, so that the test owns its process; metadata cached for a second only.
      const options = ["url=" + gw.address, "use_path_request_style", "passwd_file=" + passwd, "endpoint=us-east-1", "sigv4", "stat_cache_expire=1", "dbglevel=warn"];
      s3fsProcess = spawn(s3fs!, ["fuse-b", mnt, "-f", ...options.flatMap((o) => ["-o", o])], { env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      s3fsProcess.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      await eventually(async () => expect(await mounted(mnt), `s3fs: ${stderr}`).toBe(true), 30_000, 200);

      // mkdir makes a folder marker: a TrainFS directory that stays while empty, and an S3 key ending in '/'.
      await sh("mkdir", join(mnt, "sub"), join(mnt, "empty"));
      expect((await sdk.stat("/fuse-b/empty")).attributes).toHaveProperty("etag");
      const local = randomBytes(1024 * 1024 + 3);
      await writeFile(join(dir, "local.bin"), local);
      await sh("cp", join(dir, "local.bin"), join(mnt, "sub", "data.bin"));
      expect(sha256(await sdk.readFile("/fuse-b/sub/data.bin"))).toBe(sha256(local));
      expect(await sh("ls", "-l", join(mnt, "sub"))).toMatch(new RegExp(`\\s${local.length} .* data\\.bin\\n`));
      expect((await sh("sha256sum", join(mnt, "sub", "data.bin"))).slice(0, 64)).toBe(sha256(local));

      // mv and chmod go through CopyObject (the mode is object metadata); rmdir and rm delete.
      await sh("mv", join(mnt, "sub", "data.bin"), join(mnt, "moved.bin"));
      expect(await sdk.exists("/fuse-b/sub/data.bin")).toBe(false);
      expect(sha256(await sdk.readFile("/fuse-b/moved.bin"))).toBe(sha256(local));
      await sh("chmod", "600", join(mnt, "moved.bin"));
      await eventually(async () => expect(await sh("ls", "-l", join(mnt, "moved.bin"))).toMatch(/^-rw------- /), 10_000, 300);
      await sh("rmdir", join(mnt, "empty"));
      expect(await sdk.exists("/fuse-b/empty")).toBe(false);
      // sub is empty but marked: it stays, as a directory made on a disk would.
      expect((await sdk.stat("/fuse-b/sub")).type).toBe("directory");
      expect((await sh("ls", mnt)).split("\n").filter(Boolean).sort()).toEqual(["moved.bin", "sub"]);
      await sh("rm", join(mnt, "moved.bin"));
      await sh("rmdir", join(mnt, "sub"));
      expect(await sdk.list("/fuse-b")).toEqual([]);
    } finally {
      await unmount(mnt, s3fsProcess);
      await gw.stop();
    }
  });
});
