import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomFile, sha256File } from "../src/index.js";
import { cluster, workDir } from "./helpers.js";

/** The real binaries as separate processes, killed the hard way. */
describe("a cluster of processes", () => {
  it("serves a file after two DataNodes are killed with SIGKILL, and after a NameNode restart", async () => {
    const c = await cluster({ mode: "process", heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1500 });
    const dir = await workDir();
    await randomFile(join(dir, "in"), 5 * 1024 * 1024 + 17);
    await c.client({ chunkSize: 1024 * 1024 }).put(join(dir, "in"), "/p/f");

    await c.killDataNode(0);
    await c.killDataNode(2);
    await c.client().get("/p/f", join(dir, "out-1"));
    expect(await sha256File(join(dir, "out-1"))).toBe(await sha256File(join(dir, "in")));

    await c.restartNameNode();
    await c.startDataNode(0);
    await c.startDataNode(2);
    await c.client().get("/p/f", join(dir, "out-2"));
    expect(await sha256File(join(dir, "out-2"))).toBe(await sha256File(join(dir, "in")));
  });

  it("refuses a bad configuration at start, naming the key", async () => {
    const { startNodeProcess } = await import("../src/index.js");
    const err = await startNodeProcess("@trainfs/namenode", ["--port", "99999", "--heartbeat-timeout-ms", "soon"]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited \(2\)/);
    expect((err as Error).message).toMatch(/port: .*flag --port/);
    expect((err as Error).message).toMatch(/heartbeatTimeoutMs: .*flag --heartbeat-timeout-ms/);
  });
});

describe("data directories", () => {
  it("refuses a second DataNode on a directory in use, and reports a server that dies", async () => {
    const deaths: string[] = [];
    const c = await cluster({ mode: "process", dataNodes: 1, onUnexpectedExit: (name) => deaths.push(name) });
    const { startNodeProcess } = await import("../src/index.js");
    const err = await startNodeProcess("@trainfs/datanode", ["--port", "0", "--data-dir", c.dataNodeDir(0), "--namenode", c.nameNodeAddress]).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(/DataNode data directory .* is in use by process \d+/);
    expect(deaths).toEqual([]);
    await c.startDataNode(1);
    await c.stopDataNode(1); // stopped through the kit: not a death
    expect(deaths).toEqual([]);
    process.kill(c.dataNodePid(0), "SIGKILL"); // a death the kit did not cause
    await expect.poll(() => deaths).toEqual(["DataNode 1"]);
    expect(c.isRunning(0)).toBe(false);
  });
});
