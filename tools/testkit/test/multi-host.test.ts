import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NetLab, randomFile, sha256File, startNodeProcess, type NodeProcess } from "../src/index.js";
import { eventually, workDir } from "./helpers.js";

const require = createRequire(import.meta.url);
const cliPath = join(require.resolve("@trainfs/cli/package.json"), "..", "dist", "main.js");
const unavailable = await NetLab.available();

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A NameNode, four DataNodes and a client, each on its own test host (a
 * network namespace with its own address): put and get across them, a
 * partition of one DataNode, its detection and re-replication, then the
 * healed link, the rejoin and the trimming of surplus replicas.
 */
describe.skipIf(unavailable !== undefined)(`across hosts${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("survives a partitioned DataNode and takes it back", async () => {
    const dir = await workDir();
    const lab = await NetLab.create(["nn", "dn1", "dn2", "dn3", "dn4", "client"]);
    cleanups.push(() => lab.destroy());
    const namenode = `http://${lab.address("nn")}:9870`;
    const procs: NodeProcess[] = [];
    cleanups.push(() => Promise.all(procs.map((p) => p.kill())));

    procs.push(
      await startNodeProcess(
        "@trainfs/namenode",
        ["--host", lab.address("nn"), "--port", "9870", "--data-dir", join(dir, "nn"), "--heartbeat-timeout-ms", "2000", "--monitor-interval-ms", "200", "--log-level", "warn"],
        { wrap: lab.wrap("nn") },
      ),
    );
    for (const dn of ["dn1", "dn2", "dn3", "dn4"]) {
      const p = await startNodeProcess(
        "@trainfs/datanode",
        ["--host", lab.address(dn), "--port", "9866", "--data-dir", join(dir, dn), "--namenode", namenode, "--heartbeat-interval-ms", "200"],
        { wrap: lab.wrap(dn) },
      );
      procs.push(p);
      await p.waitForLine("registered with");
    }

    const trainfs = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("ip", ["netns", "exec", lab.wrap("client")[3]!, process.execPath, cliPath, "--namenode", namenode, ...args]);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
    const report = async () => JSON.parse((await trainfs("admin", "report", "--json")).stdout);
    const fsck = async () => JSON.parse((await trainfs("fsck", "--json", "/")).stdout);

    await randomFile(join(dir, "in"), 3 * 1024 * 1024);
    expect(await trainfs("put", "-q", "-c", "256KiB", join(dir, "in"), "/across")).toMatchObject({ code: 0, stderr: "" });
    expect((await trainfs("get", "-q", "/across", join(dir, "out-1"))).code).toBe(0);
    expect(await sha256File(join(dir, "out-1"))).toBe(await sha256File(join(dir, "in")));

    await lab.cut("dn1");
    const dn1 = `http://${lab.address("dn1")}:9866`;
    await eventually(async () => {
      const r = await report();
      expect(r.datanodes.find((d: { address: string }) => d.address === dn1).state).toBe("dead");
      expect(r.underReplicatedChunks).toBe(0);
      const f = await fsck();
      for (const ch of f.files[0].chunks) expect(ch.liveReplicas).toHaveLength(3);
    }, 60_000, 200);
    expect((await trainfs("get", "-q", "/across", join(dir, "out-2"))).code).toBe(0);
    expect(await sha256File(join(dir, "out-2"))).toBe(await sha256File(join(dir, "in")));

    await lab.heal("dn1");
    await eventually(async () => {
      const r = await report();
      expect(r.datanodes.every((d: { state: string }) => d.state === "alive")).toBe(true);
      expect(r.pendingTrashTasks).toBe(0);
      const f = await fsck();
      expect(f.healthy).toBe(true);
      // Back with its old copies, then trimmed: exactly 3 replicas of every chunk again.
      for (const ch of f.files[0].chunks) expect(ch.liveReplicas).toHaveLength(3);
    }, 90_000, 250);
  });
});
