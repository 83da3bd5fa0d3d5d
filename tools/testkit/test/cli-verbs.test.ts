import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crc32Update, formatChecksum } from "@trainfs/common";
import { randomFile, sha256File } from "../src/index.js";
import { trainfs } from "./cli-run.js";
import { cluster, workDir } from "./helpers.js";

/** Runs a verb that must succeed with nothing on stderr; returns stdout. */
function runner(env: Record<string, string>) {
  const run = (...args: string[]) => trainfs(args, env);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    expect(r.stderr, `trainfs ${args.join(" ")}`).toBe("");
    expect(r.code, `trainfs ${args.join(" ")}`).toBe(0);
    return r.stdout;
  };
  return { run, ok };
}

describe("trainfs verbs of hdfs dfs", () => {
  it("globs (*, ?, [...], {a,b}) expanded on the NameNode, names with special characters, several sources, trailing slash", async () => {
    const c = await cluster();
    const dir = await workDir();
    const { run, ok } = runner({ TRAINFS_NAMENODE: c.nameNodeAddress });
    const names = ["a1.jpg", "a2.jpg", "b1.jpg", "c.txt", "with space.jpg", "br[1].jpg", "cur{ly}.txt", "star*.bin", "é-ünï.jpg", ".hidden.jpg"];
    for (const n of names) await writeFile(join(dir, n), n);
    await ok("put", "-q", ...names.map((n) => join(dir, n)), "/g/"); // several sources into a directory made for the trailing slash
    expect((await ok("ls", "/g")).split("\n").filter(Boolean)).toHaveLength(names.length);
    expect(await ok("ls", "/g/a?.jpg")).toBe("/g/a1.jpg\n/g/a2.jpg\n");
    expect(await ok("ls", "/g/[ab]1.jpg")).toBe("/g/a1.jpg\n/g/b1.jpg\n");
    expect(await ok("ls", "/g/{a1,c}.*")).toBe("/g/a1.jpg\n/g/c.txt\n");
    expect(await ok("ls", "/g/*.jpg")).toBe(
      ["/g/.hidden.jpg", "/g/a1.jpg", "/g/a2.jpg", "/g/b1.jpg", "/g/br[1].jpg", "/g/with space.jpg", "/g/é-ünï.jpg"].map((p) => `${p}\n`).join(""),
    );
    // Special characters: escaped with a backslash, or named literally when the glob matches nothing.
    expect(await ok("cat", "/g/br\\[1\\].jpg")).toBe("br[1].jpg");
    expect(await ok("cat", "/g/br[1].jpg")).toBe("br[1].jpg");
    expect(await ok("cat", "/g/cur{ly}.txt")).toBe("cur{ly}.txt");
    expect(await ok("cat", "/g/star\\*.bin")).toBe("star*.bin");
    expect(await ok("cat", "/g/with space.jpg")).toBe("with space.jpg");
    expect(await ok("ls", "/*/é-*")).toBe("/g/é-ünï.jpg\n");
    // A glob that matches nothing is not_found (exit 3), one line.
    const none = await run("ls", "/g/*.png");
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^trainfs: \/g\/\*\.png: no such file or directory \(no match for the pattern\) \[not_found\] \(request [0-9a-f]{16}\)\n$/);
    // Globs in get, with several files into a local directory.
    await ok("get", "-q", "/g/a*.jpg", "/g/c.txt", join(dir, "out"));
    expect((await readdir(join(dir, "out"))).sort()).toEqual(["a1.jpg", "a2.jpg", "c.txt"]);
    // put f /dir/ when /dir exists: into it (not refused for its slash).
    await ok("put", "-q", join(dir, "c.txt"), "/h/");
    expect(await ok("ls", "/h")).toBe("/h/c.txt\n");
  });

  it("rm reports each failure and goes on, exiting non-zero at the end", async () => {
    const c = await cluster();
    const { run, ok } = runner({ TRAINFS_NAMENODE: c.nameNodeAddress });
    await ok("touchz", "/r/a", "/r/b", "/r/c");
    const r = await run("rm", "/r/a", "/r/missing", "/r/b", "/r/*.none", "/r/c");
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("deleted /r/a (0 chunk(s) sent to trash)\ndeleted /r/b (0 chunk(s) sent to trash)\ndeleted /r/c (0 chunk(s) sent to trash)\n");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^trainfs: \/r\/missing: no such file or directory \[not_found\]/);
    expect(lines[1]).toMatch(/^trainfs: \/r\/\*\.none: no such file or directory/);
    expect(await ok("ls", "/r")).toBe("");
    // -f: missing paths are not errors; -R is recursive as in hdfs dfs -rm -R.
    await ok("mkdir", "-p", "/r/d/e");
    expect((await run("rm", "/r/d")).stderr).toMatch(/use rm -r to delete it/);
    await ok("rm", "-f", "-q", "/r/nothing", "/r/other");
    await ok("rm", "-R", "-q", "/r/d");
    expect(await ok("ls", "/r")).toBe("");
    // Failures of different kinds: exit 1.
    await ok("mkdir", "/r/full", "/r/full/x");
    const mixed = await run("rm", "/r/missing", "/r/full");
    expect(mixed.code).toBe(1);
  });

  it("recursive put and get of a tree of 300 files in 3 levels, same sha256 both ways, with -f to redo it", async () => {
    const c = await cluster();
    const dir = await workDir();
    const { run, ok } = runner({ TRAINFS_NAMENODE: c.nameNodeAddress });
    const src = join(dir, "tree");
    const files: string[] = [];
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 10; b++) {
        for (let f = 0; f < 10; f++) {
          const rel = join(`l1-${a}`, `l2-${b}`, `f${f}.bin`);
          await mkdir(join(src, `l1-${a}`, `l2-${b}`), { recursive: true });
          await randomFile(join(src, rel), 100 + a * 1000 + b * 37 + f);
          files.push(rel);
        }
      }
    }
    await mkdir(join(src, "empty-dir"));
    expect(files).toHaveLength(300);
    const put = await ok("put", "-t", "16", src, "/data");
    expect(put).toMatch(/^put 300 file\(s\), /);
    expect(await ok("count", "/data")).toMatch(/^ +35 +300 +\d+ \/data\n$/);
    expect((await ok("ls", "-d", "/data/empty-dir"))).toBe("/data/empty-dir\n");
    // The same subtrees into /data again without -f: every file exists, each reported, exit 1 (already_exists).
    const subtrees = ["l1-0", "l1-1", "l1-2", "empty-dir"].map((d) => join(src, d));
    const again = await run("put", "-q", ...subtrees, "/data");
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split("\n")).toHaveLength(300);
    expect(again.stderr.split("\n")[0]).toMatch(/already exists \(use -f to replace a file\) \[already_exists\]/);
    await ok("put", "-q", "-f", ...subtrees, "/data");
    await ok("get", "-q", "/data", join(dir, "back"));
    for (const rel of files) expect(await sha256File(join(dir, "back", rel)), rel).toBe(await sha256File(join(src, rel)));
    expect((await stat(join(dir, "back", "empty-dir"))).isDirectory()).toBe(true);
    // put dir into an existing directory lands under its name, like cp -r.
    await ok("put", "-q", join(src, "l1-0"), "/data/l1-0");
    expect(await ok("ls", "/data/l1-0/l1-0/l2-0/f0.bin")).toBe("/data/l1-0/l1-0/l2-0/f0.bin\n");
  });

  it("cp, head, tail, test, touchz, count, getmerge, checksum, find, df, version, completion", async () => {
    const c = await cluster();
    const dir = await workDir();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress };
    const { run, ok } = runner(env);
    await randomFile(join(dir, "big.bin"), 300_000);
    await writeFile(join(dir, "log1.txt"), "first\n");
    await writeFile(join(dir, "log2.txt"), "second\n");
    await ok("put", "-q", "--chunk-size", "64KiB", join(dir, "big.bin"), "/d/big.bin");
    await ok("put", "-q", "--chunk-size", "100KiB", "-rep", "2", join(dir, "big.bin"), "/d/big-other-chunks.bin");
    expect(JSON.parse(await ok("stat", "--json", "/d/big-other-chunks.bin"))).toMatchObject({ replication: 2, chunkCount: 3 });
    await ok("put", "-q", join(dir, "log1.txt"), join(dir, "log2.txt"), "/logs");

    // checksum: independent of chunk size, equal to the CRC-32 of the whole content.
    const whole = formatChecksum(crc32Update(await readFile(join(dir, "big.bin"))));
    expect(await ok("checksum", "/d/*.bin")).toBe(`/d/big-other-chunks.bin\tCOMPOSITE-CRC32\t${whole}\n/d/big.bin\tCOMPOSITE-CRC32\t${whole}\n`);
    expect(await c.client().checksum("/d/big.bin")).toEqual({ path: "/d/big.bin", algorithm: "COMPOSITE-CRC32", checksum: whole, bytes: 300_000 });

    // cp: files and trees within TrainFS.
    await ok("cp", "-q", "/d/big.bin", "/copy.bin");
    expect((await ok("checksum", "/copy.bin")).split("\t")[2]).toBe(`${whole}\n`);
    await ok("cp", "-q", "/d", "/d2");
    expect(await ok("ls", "/d2")).toBe("/d2/big-other-chunks.bin\n/d2/big.bin\n");
    expect((await run("cp", "/d/big.bin", "/copy.bin")).code).toBe(1);
    await ok("cp", "-q", "-f", "/d/big.bin", "/copy.bin");

    // head and tail: bytes.
    const bytes = await readFile(join(dir, "big.bin"));
    const head = await trainfsBytes(["head", "-c", "100", "/d/big.bin"], env);
    expect(Buffer.compare(head, bytes.subarray(0, 100))).toBe(0);
    expect((await trainfsBytes(["head", "/d/big.bin"], env)).length).toBe(1024);
    const tail = await trainfsBytes(["tail", "-c", "70000", "/d/big.bin"], env);
    expect(Buffer.compare(tail, bytes.subarray(300_000 - 70_000))).toBe(0);
    const follow = await run("tail", "-f", "/d/big.bin");
    expect(follow.code).toBe(1);
    expect(follow.stderr).toMatch(/^trainfs: tail -f cannot follow a TrainFS file: a file is invisible until its writer confirms it.* \[unimplemented\]\n$/);

    // test: exit 0/1, nothing printed.
    for (const [flag, path, code] of [
      ["-e", "/d/big.bin", 0], ["-e", "/nope", 1], ["-f", "/d/big.bin", 0], ["-f", "/d", 1], ["-d", "/d", 0], ["-d", "/d/big.bin", 1],
      ["-z", "/d/big.bin", 1], ["-s", "/d/big.bin", 0],
    ] as const) {
      expect(await run("test", flag, path), `test ${flag} ${path}`).toEqual({ code, stdout: "", stderr: "" });
    }

    // touchz: empty files; refuses a non-empty one.
    await ok("touchz", "/t/empty");
    expect(await run("test", "-z", "/t/empty")).toMatchObject({ code: 0 });
    await ok("touchz", "/t/empty");
    expect((await run("touchz", "/d/big.bin")).stderr).toMatch(/exists and is not empty/);

    // count, with -q quotas (none in TrainFS), -v header, -h.
    expect(await ok("count", "/d", "/logs")).toBe(`           1            2       600000 /d\n           1            2           13 /logs\n`);
    expect(await ok("count", "-q", "-v", "/logs")).toMatch(/^ +QUOTA +REM_QUOTA +SPACE_QUOTA +REM_SPACE_QUOTA +DIR_COUNT +FILE_COUNT +CONTENT_SIZE PATHNAME\n +none +inf +none +inf +1 +2 +13 \/logs\n$/);
    expect(await ok("count", "-h", "/d")).toContain("585.9 KiB");

    // getmerge: a directory's files in name order, with --nl (also -nl).
    await ok("getmerge", "-q", "/logs", join(dir, "merged.txt"));
    expect(await readFile(join(dir, "merged.txt"), "utf8")).toBe("first\nsecond\n");
    await ok("getmerge", "-q", "-nl", "/logs/*.txt", join(dir, "merged2.txt"));
    expect(await readFile(join(dir, "merged2.txt"), "utf8")).toBe("first\n\nsecond\n\n");

    // find -name -type, as hdfs dfs -find.
    expect(await ok("find", "/", "-name", "*.bin", "-type", "f")).toBe("/copy.bin\n/d/big-other-chunks.bin\n/d/big.bin\n/d2/big-other-chunks.bin\n/d2/big.bin\n");
    expect(await ok("find", "/", "-type", "d", "-name", "d*")).toBe("/d\n/d2\n");
    expect(await ok("find", "/logs", "-iname", "LOG1.*")).toBe("/logs/log1.txt\n");

    // ls -l -h (no longer the help), -r reverse.
    expect(await ok("ls", "-l", "-h", "/d/big.bin")).toMatch(/^- {2}3 293\.0 KiB \d{4}-\d\d-\d\d \d\d:\d\d \/d\/big\.bin\n$/);
    expect(await ok("ls", "-r", "/logs")).toBe("/logs/log2.txt\n/logs/log1.txt\n");
    // mv with several sources into a directory; setrep on a directory.
    await ok("mkdir", "/moved");
    await ok("mv", "/logs/*.txt", "/moved");
    expect(await ok("ls", "/moved")).toBe("/moved/log1.txt\n/moved/log2.txt\n");
    expect(await ok("setrep", "2", "/moved")).toBe("/moved/log1.txt: replication 2\n/moved/log2.txt: replication 2\n");

    // df: capacity, used, non-DFS used = capacity - free - used, free.
    const df = JSON.parse(await ok("df", "--json"));
    const status = await c.client().clusterStatus();
    const capacity = status.datanodes.reduce((n, d) => n + d.capacityBytes, 0);
    const used = status.datanodes.reduce((n, d) => n + d.usedBytes, 0);
    expect(df.capacityBytes).toBe(capacity);
    expect(df.usedBytes).toBeGreaterThan(0);
    expect(df.nonDfsUsedBytes).toBe(Math.max(0, df.capacityBytes - df.freeBytes - df.usedBytes));
    expect(used).toBeGreaterThan(0);
    expect(await ok("df", "-h")).toMatch(/^Filesystem +Size +Used +NonDFSUsed +Available +Use%\nhttp:\/\/127\.0\.0\.1:\d+ +[\d.]+ \w+ +[\d.]+ \w+ +[\d.]+ \w+ +[\d.]+ \w+ +\d+%\n$/);

    // --version and version --json with the server's.
    const pkg = JSON.parse(await readFile(new URL("../../../apps/client/package.json", import.meta.url), "utf8"));
    const nnPkg = JSON.parse(await readFile(new URL("../../../apps/namenode/package.json", import.meta.url), "utf8"));
    expect(await ok("--version")).toBe(`${pkg.version}\n`);
    expect(JSON.parse(await ok("version", "--json"))).toEqual({ client: pkg.version, server: nnPkg.version, namenode: c.nameNodeAddress });

    // completion scripts list the verbs.
    const bash = await ok("completion", "bash");
    expect(bash).toContain("complete -o filenames -F _trainfs trainfs");
    expect(bash).toMatch(/getmerge/);
    expect(await ok("completion", "zsh")).toContain("#compdef trainfs");
    expect((await run("completion", "fish")).code).toBe(1);
    void createHash;
  });
});

/** The CLI's stdout as bytes. */
async function trainfsBytes(args: string[], env: Record<string, string>): Promise<Buffer> {
  const { spawn } = await import("node:child_process");
  const { cliPath } = await import("./cli-run.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env } });
    const parts: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => parts.push(d));
    child.on("error", reject);
    child.on("close", () => resolve(Buffer.concat(parts)));
  });
}
