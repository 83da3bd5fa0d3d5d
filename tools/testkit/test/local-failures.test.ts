import { describe, expect, it, vi } from "vitest";
import type { Logger } from "@trainfs/common";
import type { DataNode } from "@trainfs/datanode";
import type { MiniCluster } from "../src/index.js";
import { chunkLocations, cluster, eventually } from "./helpers.js";

const CHUNK = 64 * 1024;

/** Every log call of an in-process DataNode, as [level, message, fields]. */
function logsOf(node: DataNode): Array<[string, string, Record<string, unknown>]> {
  const logger = (node as unknown as { logger: Logger }).logger;
  const seen: Array<[string, string, Record<string, unknown>]> = [];
  for (const level of ["info", "warn", "error"] as const) {
    vi.spyOn(logger, level).mockImplementation(((fields: unknown, msg?: string) => {
      seen.push(typeof fields === "string" ? [level, fields, {}] : [level, msg ?? "", fields as Record<string, unknown>]);
    }) as never);
  }
  return seen;
}

function holderIndexes(c: MiniCluster, replicas: string[]): number[] {
  return replicas.map((a) => c.dataNodeAddresses().indexOf(a));
}

describe("local failures are reported as local", () => {
  it("a replica copy to a DataNode with no room fails saying so, and the heartbeat's failure report carries the reason", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100 });
    // DataNode 3 offers 1,000 bytes: a 64 KiB chunk cannot go there.
    await c.stopDataNode(2);
    await c.startDataNode(2, { capacity: 1000 });
    await c.client({ chunkSize: CHUNK }).writeFile("/f", Buffer.alloc(CHUNK, 3), { replication: 2 });
    const [chunk] = await chunkLocations(c, "/f");
    const source = c.dataNode(holderIndexes(c, chunk!.replicas)[0]!);
    const logs = logsOf(source);
    // The task the NameNode would send, straight to the source (no NameNode would pick a full target).
    await source.replicator.accept([{ chunkId: chunk!.chunkId, targets: [{ datanodeId: c.dataNode(2).id, address: c.dataNodeAddress(2) }], accessToken: "" }]);
    await eventually(() => {
      const reported = logs.find(([, msg]) => msg === "failed replica copies reported to the NameNode");
      expect(reported, "the next heartbeat reports the failed copy").toBeDefined();
      expect(reported![2].failures).toEqual([{ chunkId: chunk!.chunkId, reason: expect.stringContaining(`datanode ${c.dataNodeAddress(2)}: no room for chunk ${chunk!.chunkId} on this DataNode`) }]);
    });
    expect(logs.some(([, msg]) => msg === "cannot reach the NameNode")).toBe(false);
    expect(await c.chunkFiles(2)).toEqual([]);
  });

  it("a task store that cannot commit (a full disk) is this DataNode's failure: never logged as the NameNode unreachable, and the copy is reported failed", async () => {
    const c = await cluster({ heartbeatIntervalMs: 100 });
    const client = c.client({ chunkSize: CHUNK });
    await client.writeFile("/f", Buffer.alloc(CHUNK, 5), { replication: 2 });
    const [chunk] = await chunkLocations(c, "/f");
    const holders = holderIndexes(c, chunk!.replicas).map((i) => c.dataNode(i));
    const logs = holders.map(logsOf);
    // The replicator's task store fails its commits as LMDB does on a full disk; everything else works.
    const restore = holders.map((node) => {
      const replicator = node.replicator as unknown as { tasks: object };
      const real = replicator.tasks;
      replicator.tasks = Object.create(real, { write: { value: () => Promise.reject(new Error("Commit failed (see commitError for details)")) } });
      return () => (replicator.tasks = real);
    });
    // A third replica: the NameNode hands one holder a replication task.
    await client.setReplication("/f", 3);
    await eventually(() => {
      const local = logs.flat().find(([, msg]) => msg === "cannot record replication tasks on this DataNode");
      expect(local, "the task store's failure is logged as this node's").toBeDefined();
      expect(local![0]).toBe("error");
      expect(String(local![2].err)).toMatch(/Commit failed/);
    });
    expect(logs.flat().filter(([, msg]) => msg === "cannot reach the NameNode")).toEqual([]);
    // The failure is reported in the heartbeat (from memory), with what happened.
    await eventually(() => {
      const reported = logs.flat().find(([, msg]) => msg === "failed replica copies reported to the NameNode");
      expect(reported).toBeDefined();
      expect(reported![2].failures).toEqual([{ chunkId: chunk!.chunkId, reason: expect.stringMatching(/cannot record the task in its task store .*Commit failed/) }]);
    });
    for (const undo of restore) undo();
    // Once the disk works again the NameNode's next plan succeeds.
    await eventually(async () => expect((await chunkLocations(c, "/f"))[0]!.replicas).toHaveLength(3), 20_000);
  });
});
