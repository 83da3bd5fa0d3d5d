import { execFile, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { generateSecurity, randomFile, sha256File } from "../src/index.js";
import { cluster, workDir } from "./helpers.js";

const require = createRequire(import.meta.url);
const cliPath = join(require.resolve("@trainfs/cli/package.json"), "..", "dist", "main.js");

/** Runs the built `trainfs` CLI; resolves with its exit code and output. */
async function trainfs(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs the CLI with `input` on its stdin. */
function runWithStdin(args: string[], input: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.on("close", (code) => resolve({ code, stdout }));
    child.stdin.end(input);
  });
}

/** Runs the CLI with its stdout going to a file; resolves with the exit code. */
function trainfsToFile(args: string[], path: string, env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    const out = createWriteStream(path);
    out.on("open", () => {
      const child = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", out, "inherit"] });
      child.on("close", (code) => out.end(() => resolve(code)));
    });
  });
}

describe("the trainfs CLI", () => {
  it("puts, lists and gets a file, with the NameNode from a flag or TRAINFS_NAMENODE", async () => {
    const c = await cluster();
    const dir = await workDir();
    await randomFile(join(dir, "in.bin"), 300_000);

    const put = await trainfs(["--namenode", c.nameNodeAddress, "put", "--chunk-size", "64KiB", join(dir, "in.bin"), "/cli/in.bin"]);
    expect(put.stderr).toBe("");
    expect(put).toMatchObject({ code: 0, stdout: "/cli/in.bin: 293.0 KiB in 5 chunk(s), replication 3\n" });

    const ls = await trainfs(["ls", "-l", "/cli"], { TRAINFS_NAMENODE: c.nameNodeAddress });
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^- {2}3 300000 \d{4}-\d\d-\d\d \d\d:\d\d \/cli\/in\.bin\n$/);

    const get = await trainfs(["get", "--fsync", "/cli/in.bin", join(dir, "out.bin")], { TRAINFS_NAMENODE: c.nameNodeAddress });
    expect(get.code).toBe(0);
    expect(await sha256File(join(dir, "out.bin"))).toBe(await sha256File(join(dir, "in.bin")));

    const json = await trainfs(["ls", "--json", "/cli/in.bin"], { TRAINFS_NAMENODE: c.nameNodeAddress });
    expect(JSON.parse(json.stdout)).toMatchObject([{ path: "/cli/in.bin", size: 300000, chunkCount: 5 }]);
  });

  it("sends the API token from TRAINFS_TOKEN, --token-file or --token, and says when one is missing", async () => {
    const security = generateSecurity();
    const c = await cluster({ security });
    const dir = await workDir();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress, TRAINFS_TOKEN: "" };
    const missing = await trainfs(["ls", "/"], env);
    expect(missing.code).toBe(4); // permission: the token
    expect(missing.stderr).toMatch(/requires an API token: pass --token or set TRAINFS_TOKEN.*\[unauthenticated\]/);
    expect((await trainfs(["mkdir", "/a"], { ...env, TRAINFS_TOKEN: security.clientToken })).code).toBe(0);
    await writeFile(join(dir, "token"), `${security.clientToken}\n`);
    expect((await trainfs(["mkdir", "/b"], { ...env, TRAINFS_TOKEN_FILE: join(dir, "token") })).code).toBe(0);
    const ls = await trainfs(["--token", security.clientToken, "ls", "/"], env);
    expect(ls.stdout).toMatch(/\/a\n\/b\n/);
  });

  it("deletes files and reports on the cluster", async () => {
    const c = await cluster({ dataNodes: 4 });
    const dir = await workDir();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress };
    await randomFile(join(dir, "in.bin"), 1000);
    expect((await trainfs(["put", join(dir, "in.bin"), "/x/in.bin"], env)).code).toBe(0);
    expect(await trainfs(["rm", "/x/in.bin"], env)).toMatchObject({ code: 0, stdout: "deleted /x/in.bin (1 chunk(s) sent to trash)\n" });
    expect(await trainfs(["rm", "/x/in.bin"], env)).toMatchObject({ code: 3, stderr: expect.stringMatching(/^trainfs: \/x\/in\.bin: no such file or directory \[not_found\] \(request [0-9a-f]{16}\)\n$/) });

    const report = await trainfs(["admin", "report"], env);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain("Safe mode: off");
    expect(report.stdout).toContain("DataNodes: 4 alive, 0 dead");
    const json = JSON.parse((await trainfs(["admin", "report", "--json"], env)).stdout);
    expect(json.datanodes).toHaveLength(4);
    expect(json).toMatchObject({ underReplicatedChunks: 0, missingChunks: 0, safeMode: { on: false } });

    const node = json.datanodes[0].address;
    expect(await trainfs(["admin", "decommission", node], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/: decommission(ing|ed)\n$/) });
    expect(await trainfs(["admin", "recommission", node], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/: normal\n$/) });

    expect(await trainfs(["admin", "safemode", "enter"], env)).toMatchObject({ code: 0, stdout: "safe mode is ON (entered by an operator: the namespace is read-only)\n" });
    expect(await trainfs(["mkdir", "/refused"], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/safe mode, entered by an operator.*\[failed_precondition\] \(request [0-9a-f]{16}\)\n$/) });
    expect(await trainfs(["admin", "safemode", "get"], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^safe mode is ON/) });
    expect(await trainfs(["admin", "safemode", "leave"], env)).toMatchObject({ code: 0, stdout: "safe mode is OFF\n" });
    expect(await trainfs(["admin", "safemode", "sideways"], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/enter, leave or get/) });
    // A single NameNode has nobody to hand over to; its report has no NameNode roles.
    expect(await trainfs(["admin", "failover"], env)).toMatchObject({ code: 1, stderr: expect.stringMatching(/high availability is off .*\[failed_precondition\]/) });
    expect(report.stdout).not.toContain("NameNodes (high availability");
    expect(json.ha).toMatchObject({ haEnabled: false, role: "single" });
  });

  it("checks files with fsck, exiting 1 when a chunk is lost", async () => {
    const c = await cluster();
    const dir = await workDir();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress };
    await randomFile(join(dir, "in.bin"), 5000);
    expect((await trainfs(["put", join(dir, "in.bin"), "/ok/in.bin"], env)).code).toBe(0);
    const healthy = await trainfs(["fsck", "/"], env);
    expect(healthy).toMatchObject({ code: 0, stdout: "Files: 1\nChunks: 1 healthy, 0 under-replicated, 0 corrupt, 0 missing\nStatus: HEALTHY\n" });
    for (const i of [0, 1, 2]) await c.stopDataNode(i);
    await c.waitForLiveDataNodes(0);
    const lost = await trainfs(["fsck", "--json", "/ok"], env);
    expect(lost.code).toBe(1);
    expect(JSON.parse(lost.stdout)).toMatchObject({ missingChunks: 1, healthy: false, files: [{ path: "/ok/in.bin", chunks: [{ health: "missing" }] }] });
  });

  it("runs every namespace verb, with stdin and stdout as -", async () => {
    const c = await cluster();
    const dir = await workDir();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress };
    const run = (...args: string[]) => trainfs(args, env);
    const ok = async (...args: string[]) => {
      const r = await run(...args);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return r.stdout;
    };
    await randomFile(join(dir, "in.bin"), 200_000);
    await ok("mkdir", "-p", "/t/sub/deeper");
    await ok("put", "-q", join(dir, "in.bin"), "/t/sub"); // into the directory
    const piped = await runWithStdin(["put", "-", "/t/from-stdin.txt"], "hello from stdin\n", env);
    expect(piped.code).toBe(0);
    expect(await ok("cat", "/t/from-stdin.txt")).toBe("hello from stdin\n");
    expect(await ok("cat", "--start", "6", "--end", "9", "/t/from-stdin.txt")).toBe("from");
    expect(await ok("ls", "-R", "/t")).toBe("/t/from-stdin.txt\n/t/sub\n/t/sub/deeper\n/t/sub/in.bin\n");
    expect(JSON.parse(await ok("ls", "--json", "/t/sub"))).toMatchObject([{ path: "/t/sub/deeper" }, { path: "/t/sub/in.bin", size: 200000 }]);
    expect(await ok("stat", "/t/sub/in.bin")).toContain("size: 200000 (195.3 KiB)");
    expect(JSON.parse(await ok("stat", "--json", "/t/sub"))).toMatchObject({ type: "directory" });
    await ok("mv", "/t/sub/in.bin", "/t/sub/deeper"); // into the directory
    await ok("mv", "/t/sub", "/t/renamed");
    const got = await trainfsToFile(["get", "/t/renamed/deeper/in.bin", "-"], join(dir, "out.bin"), env);
    expect(got).toBe(0);
    expect(await sha256File(join(dir, "out.bin"))).toBe(await sha256File(join(dir, "in.bin")));
    expect(await ok("du", "-s", "/t")).toBe(`    200017      600051  /t\n`);
    expect(await ok("du", "-s", "-h", "/t")).toBe(` 195.3 KiB   586.0 KiB  /t\n`);
    expect(await ok("setrep", "2", "/t/from-stdin.txt")).toBe("/t/from-stdin.txt: replication 2\n");
    await ok("rm", "-r", "-q", "/t/renamed");
    expect(await ok("ls", "/t")).toBe("/t/from-stdin.txt\n");
    expect(await ok("put", "-f", "--json", join(dir, "in.bin"), "/t/from-stdin.txt")).toContain('"size": 200000');
  });

  it("says clearly what is wrong, with a non-zero exit", async () => {
    const c = await cluster();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress };
    // Exit 3 for not found; every failure's line ends with the request id to hand to an operator.
    expect(await trainfs(["ls", "/missing"], env)).toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/^trainfs: \/missing: no such file or directory \[not_found\] \(request [0-9a-f]{16}\)\n$/),
    });
    expect(await trainfs(["put", "/definitely/not/here", "/x"], env)).toMatchObject({
      code: 3,
      stderr: expect.stringMatching(/^trainfs: local file \/definitely\/not\/here does not exist \[not_found\] \(request [0-9a-f]{16}\)\n$/),
    });
    expect((await trainfs(["put", "--chunk-size", "lots", "/a", "/b"], env)).stderr).toContain("invalid size");
    await trainfs(["mkdir", "-p", "/full/x"], env);
    const oneLine = async (args: string[], expected: RegExp, code = 1) => {
      const r = await trainfs(args, env);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    };
    const id = " \\(request [0-9a-f]{16}\\)\\n$";
    await oneLine(["mkdir", "/full"], new RegExp(`^trainfs: /full already exists \\(mkdir -p accepts an existing directory\\) \\[already_exists\\]${id}`));
    await oneLine(["rm", "/full"], new RegExp(`^trainfs: /full is a directory that is not empty.*: use rm -r to delete it with its contents \\[failed_precondition\\]${id}`));
    await oneLine(["mv", "/nope", "/b"], new RegExp(`^trainfs: /nope: no such file or directory \\[not_found\\]${id}`), 3);
    await oneLine(["ls", "not/absolute"], new RegExp(`^trainfs: invalid path "not/absolute": it must be absolute .*\\[invalid_argument\\]${id}`));
    await oneLine(["stat", "/a/../b"], new RegExp(`\\[invalid_argument\\]${id}`));
    const down = await trainfs(["--namenode", "http://127.0.0.1:1", "ls", "/"]);
    expect(down.code).toBe(5); // unavailable
    expect(down.stderr).toContain("[unavailable]");
  });
});
