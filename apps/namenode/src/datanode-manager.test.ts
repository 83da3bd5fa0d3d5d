import { describe, expect, it } from "vitest";
import { DataNodeManager } from "./datanode-manager.js";
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
});
