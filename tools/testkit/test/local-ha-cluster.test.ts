import { execFileSync, spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { TrainfsClient } from "@trainfs/client";
import { MiniCluster } from "../src/index.js";
import { eventually, workDir } from "./helpers.js";

const require = createRequire(import.meta.url);
const localCluster = join(require.resolve("@trainfs/testkit/package.json"), "..", "dist", "local-cluster.js");

/** `local-cluster.js --ha` on free ports; its lines as they come, its exit, and a stop by its PID. */
function runHa(dataDir: string) {
  const child = spawn(process.execPath, [localCluster, "--ha", "--data-dir", dataDir, "--namenode-port", "0", "--datanode-port", "0", "--s3-port", "0", "--etcd-port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: Array<{ match: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of [...waiters]) {
      const m = w.match.exec(line);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    lines,
    exited,
    waitFor: (match: RegExp, timeoutMs: number) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const seen = lines.map((l) => match.exec(l)).find((m) => m);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no line matching ${match} within ${timeoutMs} ms:\n${lines.join("\n")}`)), timeoutMs);
        waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
        void exited.then((code) => reject(new Error(`the local cluster exited (${code}):\n${lines.join("\n")}`)));
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

describe("the HA local cluster (scripts/cluster.sh --ha)", () => {
  it("refuses, saying what to do, a data directory whose etcd was made without TLS", async () => {
    const data = join(await workDir(), "ha");
    await mkdir(join(data, "etcd", "etcd-1"), { recursive: true });
    const run = runHa(data);
    expect(await run.exited).toBe(1);
    // Its last output may be read just after the exit is seen.
    await eventually(() => expect(run.lines.join("\n")).toMatch(/the etcd in .*\/ha was made by a version without etcd TLS.*remove .*\/ha/), 5000);
  });

  it("prints who is active and the kill -9 line; killing the active makes the other take over, and the files stay", async () => {
    const dir = await workDir();
    const data = join(dir, "ha");
    const run = runHa(data);
    try {
      await run.waitFor(/^Press Ctrl-C to stop\./, 120_000);
      const banner = run.lines.join("\n");
      const etcdUrls = [...banner.matchAll(/^ {2}etcd \d +(https:\S+) +pid \d+$/gm)].map((m) => m[1]!);
      expect(etcdUrls).toHaveLength(3);
      // etcd lets in only certificates from the cluster's CA: the banner's etcdctl line works, a client without one does not.
      const etcdctl = /^ {2}(etcdctl .*)\\\n {4}(.*)$/m.exec(banner)!;
      const args = `${etcdctl[1]!} ${etcdctl[2]!}`.split(/\s+/).slice(1).map((a) => (a.startsWith(".") ? join(process.cwd(), a) : a));
      expect(execFileSync("etcdctl", args, { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } })).toContain("/trainfs/default/leader");
      expect(() => execFileSync("etcdctl", ["--endpoints", etcdUrls[0]!, "--cacert", args[args.indexOf("--cacert") + 1]!, "--command-timeout", "3s", "get", "--prefix", "/trainfs/"], { stdio: "pipe", env: { ...process.env, ETCDCTL_API: "3" } })).toThrow();
      const nameNodes = [...banner.matchAll(/^ {2}NameNode (\d) (http:\S+) +pid (\d+) +(active|standby)$/gm)].map((m) => ({ n: Number(m[1]), url: m[2]!, pid: Number(m[3]), role: m[4]! }));
      expect(nameNodes.map((x) => x.role).sort()).toEqual(["active", "standby"]);
      const active = nameNodes.find((x) => x.role === "active")!;
      const standby = nameNodes.find((x) => x.role === "standby")!;
      const list = /export TRAINFS_NAMENODE=(\S+)/.exec(banner)![1]!;
      expect(list.split(",").sort()).toEqual(nameNodes.map((x) => x.url).sort());
      expect(banner).toContain(`kill -9 ${active.pid}`);

      const token = (await readFile(join(data, "token"), "utf8")).trim();
      const client = new TrainfsClient({ namenode: list, token });
      try {
        await client.writeFile("/demo/before", "kept across the failover");
        process.kill(active.pid, "SIGKILL"); // what the banner says to do
        await run.waitFor(new RegExp(`NameNode ${standby.n} \\(${standby.url.replace(/[.]/g, "\\.")}, pid ${standby.pid}\\) is now active`), 20_000);
        expect((await client.readFile("/demo/before")).toString()).toBe("kept across the failover");
        await client.writeFile("/demo/after", "written on the new active");
      } finally {
        client.close();
      }
    } finally {
      await run.stop();
    }
  });
});
