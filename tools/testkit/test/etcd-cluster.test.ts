import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { EtcdCluster, freePorts } from "../src/index.js";
import { eventually, workDir } from "./helpers.js";

const run = promisify(execFile);

/** etcdctl (Debian's etcd-client, installed by scripts/ensure-etcd.sh) against the given endpoints. */
async function etcdctl(endpoints: string, ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run("/usr/bin/etcdctl", ["--endpoints", endpoints, "--command-timeout=5s", ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
  });
  // `endpoint health` reports on stderr.
  return stdout + stderr;
}

async function started(members: 1 | 3, dir: string, onUnexpectedExit?: (i: number) => void): Promise<EtcdCluster> {
  const cluster = await EtcdCluster.start({ members, dir, ...(onUnexpectedExit ? { onUnexpectedExit } : {}) });
  // Stopped even when an assertion fails (workDir's cleanup runs after this one).
  cleanup.push(() => cluster.stop());
  return cluster;
}
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

describe("EtcdCluster", () => {
  it("brings up three healthy members that agree on one leader, and serves a put and a get", async () => {
    const dir = await workDir();
    const unexpected: number[] = [];
    const etcd = await started(3, dir, (i) => unexpected.push(i));
    expect(etcd.clientUrls).toHaveLength(3);
    expect(new Set(etcd.clientUrls).size).toBe(3);
    for (const url of etcd.clientUrls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const leader = await etcd.waitForLeader();
    const statuses = await Promise.all([0, 1, 2].map((i) => etcd.status(i)));
    // Every member names the same leader, and exactly one of them is it.
    expect(new Set(statuses.map((s) => s?.leaderId)).size).toBe(1);
    expect(statuses.filter((s) => s?.memberId === s?.leaderId)).toHaveLength(1);
    expect(statuses[leader]?.memberId).toBe(statuses[leader]?.leaderId);

    // Written through one member, read through another: replicated.
    await etcdctl(etcd.clientUrls[0]!, "put", "/trainfs/test/greeting", "hello");
    expect((await etcdctl(etcd.clientUrls[2]!, "get", "--print-value-only", "/trainfs/test/greeting")).trim()).toBe("hello");
    const health = await etcdctl(etcd.endpoints, "endpoint", "health");
    expect(health.match(/is healthy/g)).toHaveLength(3);

    const size = await etcd.dbSize();
    expect(size.dbSize).toBeGreaterThan(0);
    expect(size.dbSizeInUse).toBeGreaterThan(0);
    expect(size.dbSizeInUse).toBeLessThanOrEqual(size.dbSize);
    expect(unexpected).toEqual([]);
  });

  it("elects another leader when the leader is killed with SIGKILL; the data survives, and the member rejoins on restart", async () => {
    const dir = await workDir();
    const etcd = await started(3, dir);
    await etcdctl(etcd.endpoints, "put", "/trainfs/test/before", "kept");
    const first = await etcd.waitForLeader();
    const pid = etcd.pid(first)!;

    await etcd.kill(first, "SIGKILL");
    expect(etcd.isRunning(first)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(); // the process is gone
    const second = await eventually(async () => {
      const l = await etcd.leader();
      if (l === undefined) throw new Error("no leader yet");
      return l;
    });
    expect(second).not.toBe(first);

    // The two survivors still have a quorum: the old value reads, a new one writes.
    const survivors = etcd.clientUrls.filter((_, i) => i !== first).join(",");
    expect((await etcdctl(survivors, "get", "--print-value-only", "/trainfs/test/before")).trim()).toBe("kept");
    await etcdctl(survivors, "put", "/trainfs/test/after", "written with one member down");

    // The killed member comes back with its data directory and catches up.
    await etcd.restart(first);
    expect(etcd.isRunning(first)).toBe(true);
    expect((await etcdctl(etcd.clientUrls[first]!, "get", "--print-value-only", "/trainfs/test/after")).trim()).toBe("written with one member down");
    expect((await etcdctl(etcd.clientUrls[first]!, "get", "--print-value-only", "/trainfs/test/before")).trim()).toBe("kept");
  });

  it("serves on the ports it is given; pauses a member with SIGSTOP and resumes it with SIGCONT; stop ends only its own processes", async () => {
    const dir = await workDir();
    const [clientPort, peerPort] = await freePorts(2);
    const etcd = await EtcdCluster.start({ members: 1, dir, clientPorts: [clientPort!], peerPorts: [peerPort!] });
    cleanup.push(() => etcd.stop());
    expect(etcd.clientUrls).toEqual([`http://127.0.0.1:${clientPort}`]);
    await etcdctl(etcd.endpoints, "put", "k", "v");
    const pid = etcd.pid(0)!;
    await etcd.kill(0, "SIGSTOP");
    expect(await etcd.status(0, 500)).toBeUndefined(); // a paused member answers nothing
    await etcd.kill(0, "SIGCONT");
    await eventually(async () => expect(await etcd.status(0)).toBeDefined());
    expect((await etcdctl(etcd.endpoints, "get", "--print-value-only", "k")).trim()).toBe("v");

    await etcd.stop();
    expect(etcd.isRunning(0)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it("refuses a member count other than 1 or 3, and says what is missing when etcd is not installed", async () => {
    const dir = await workDir();
    await expect(EtcdCluster.start({ members: 2 as 3, dir })).rejects.toThrow(/1 or 3 members/);
    await expect(EtcdCluster.start({ members: 1, dir, bin: "/nonexistent/etcd" })).rejects.toThrow(/etcd is not installed \(\/nonexistent\/etcd is missing\).*ensure-etcd\.sh/);
  });
});
