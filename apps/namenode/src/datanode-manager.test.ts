import { describe, expect, it } from "vitest";
import { DataNodeManager, clusterSpace } from "./datanode-manager.js";
import { openTestStore } from "../test/test-store.js";

describe("DataNodeManager", () => {
  it("counts a node live until its heartbeat is older than the timeout", async () => {
    const { store } = await openTestStore();
    let now = 1000;
    const dns = new DataNodeManager(store, 500, () => now);
    await dns.register("dn-1", "http://127.0.0.1:1", 1000, 800);
    expect(dns.isLive("dn-1")).toBe(true);
    now += 500;
    expect(dns.isLive("dn-1")).toBe(true);
    now += 1;
    expect(dns.isLive("dn-1")).toBe(false);
    expect(dns.heartbeat("dn-1", { capacityBytes: 1000, freeBytes: 700, usedBytes: 300, chunkCount: 3 })).toBe(true);
    expect(dns.isLive("dn-1")).toBe(true);
    expect(dns.liveNodes().map((n) => n.freeBytes)).toEqual([700]);
  });

  it("asks unknown nodes to register", async () => {
    const { store } = await openTestStore();
    const dns = new DataNodeManager(store, 500);
    expect(dns.heartbeat("dn-x", { capacityBytes: 1, freeBytes: 1, usedBytes: 0, chunkCount: 0 })).toBe(false);
    expect(dns.isLive("dn-x")).toBe(false);
  });

  it("subtracts promised space from placement candidates until released", async () => {
    const { store } = await openTestStore();
    const dns = new DataNodeManager(store, 500);
    await dns.register("dn-1", "http://127.0.0.1:1", 1000, 800);
    dns.promise("upload-1", "dn-1", 300);
    dns.promise("upload-2", "dn-1", 100);
    expect(dns.placementNodes()).toEqual([{ id: "dn-1", zone: "", available: 400, capacityBytes: 1000, usedBytes: 0 }]);
    dns.releasePromises("upload-1");
    expect(dns.placementNodes()).toEqual([{ id: "dn-1", zone: "", available: 700, capacityBytes: 1000, usedBytes: 0 }]);
  });

  it("persists the DataNode table, and a new id at an old address replaces the old node", async () => {
    const { store } = await openTestStore();
    const dns = new DataNodeManager(store, 500);
    await dns.register("dn-old", "http://127.0.0.1:7", 10, 10);
    await dns.register("dn-new", "http://127.0.0.1:7", 10, 10);
    expect(dns.isLive("dn-old")).toBe(false);
    expect(dns.isLive("dn-new")).toBe(true);
    expect(new DataNodeManager(store, 500).all().map((n) => n.id).sort()).toEqual(["dn-new", "dn-old"]);
  });

  it("counts a disk shared by several DataNodes of one host once, and what else fills it as non-DFS used", async () => {
    const GiB = 2 ** 30;
    const node = (id: string, address: string, diskId: string, usedBytes: number, live = true) => ({
      id, address, live, diskId, capacityBytes: 252 * GiB, freeBytes: 74 * GiB, usedBytes,
    });
    // Three DataNodes on one disk of one host (the 756 GiB capacity for a 252 GiB disk).
    const shared = clusterSpace([
      node("a", "http://127.0.0.1:9866", "2049", GiB / 2),
      node("b", "http://127.0.0.1:9867", "2049", GiB / 2),
      node("c", "http://127.0.0.1:9868", "2049", GiB / 2),
    ]);
    expect(shared).toEqual({ capacityBytes: 252 * GiB, freeBytes: 74 * GiB, dfsUsedBytes: 1.5 * GiB, nonDfsUsedBytes: 176.5 * GiB });
    // The same disk id on two hosts is two disks; no id, one disk per node; dead nodes do not count.
    const apart = clusterSpace([
      node("a", "http://10.0.0.1:9866", "2049", 0),
      node("b", "http://10.0.0.2:9866", "2049", 0),
      node("c", "http://10.0.0.3:9866", "", 0),
      node("d", "http://10.0.0.4:9866", "", 0, false),
    ]);
    expect(apart.capacityBytes).toBe(3 * 252 * GiB);
    // Nodes capped by their capacity setting report no disk id (their cap is their own share): the caps add up.
    const capped = clusterSpace([
      { ...node("a", "http://h:1", "", 0), capacityBytes: 10 * GiB, freeBytes: 10 * GiB },
      { ...node("b", "http://h:2", "", 0), capacityBytes: 20 * GiB, freeBytes: 20 * GiB },
    ]);
    expect(capped).toMatchObject({ capacityBytes: 30 * GiB, freeBytes: 30 * GiB, nonDfsUsedBytes: 0 });
  });

  it("keeps each node's disk id and traffic totals from its heartbeats", async () => {
    const { store } = await openTestStore();
    const dns = new DataNodeManager(store, 500, () => 1000);
    await dns.register("dn-1", "http://127.0.0.1:1", 1000, 800);
    dns.heartbeat("dn-1", { capacityBytes: 1000, freeBytes: 700, usedBytes: 300, chunkCount: 3, diskId: "42", bytesReadTotal: 5, bytesWrittenTotal: 7, volumeDeadBytes: 11, compactionReclaimedBytesTotal: 13 });
    expect(dns.find("dn-1")).toMatchObject({ diskId: "42", bytesReadTotal: 5, bytesWrittenTotal: 7, volumeDeadBytes: 11, compactionReclaimedBytesTotal: 13 });
  });
});
