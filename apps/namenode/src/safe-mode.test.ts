import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { SafeMode } from "./safe-mode.js";
import { openTestStore } from "../test/test-store.js";

const silent = pino({ level: "silent" });

/** `n` chunks of complete files, and one of a write in progress. */
async function storeWithChunks(n: number) {
  const { store } = await openTestStore();
  await store.write(() => {
    for (let i = 0; i < n; i++) store.chunks.put(`c${i}`, { chunkId: `c${i}`, inodeId: 5, index: i, offset: 0, length: 1 });
    store.chunks.put("in-flight", { chunkId: "in-flight", uploadId: "u", index: 0, offset: 0, length: 1 });
    store.uploads.put("u", {
      uploadId: "u", path: "/w", size: 1, replication: 3, chunkSize: 1024, chunkIds: ["in-flight"], createdMs: 0, lastActiveMs: 0,
    });
  });
  return store;
}

/** What the chunk-report handler does: count, then record the node's replicas. */
function report(store: Awaited<ReturnType<typeof storeWithChunks>>, safe: SafeMode, datanodeId: string, chunkIds: string[]) {
  return store.write(() => {
    safe.reportArrived(datanodeId, chunkIds);
    for (const id of chunkIds) store.replicas.put([id, datanodeId], { length: 1, checksum: 0, committedMs: 0 });
  });
}

describe("SafeMode", () => {
  it("stays on until reports cover the threshold of complete files' chunks, each chunk counted once", async () => {
    const store = await storeWithChunks(10);
    const safe = new SafeMode(store, 0.8, 60_000, silent, () => 0);
    let exited = 0;
    safe.onExit(() => void exited++);
    expect(safe.status()).toEqual({ on: true, manual: false, reportedChunks: 0, totalChunks: 10, threshold: 0.8 });
    await report(store, safe, "dn-1", ["c0", "c1", "c2", "c3", "c0", "in-flight", "unknown"]);
    // Replicas of the same chunks on other nodes, and a node reporting again, add nothing.
    await report(store, safe, "dn-2", ["c0", "c1", "c4", "c5", "c6"]);
    await report(store, safe, "dn-1", ["c0", "c1", "c2", "c3"]);
    expect(safe.status().reportedChunks).toBe(7);
    expect(await safe.check()).toBe(false);
    await report(store, safe, "dn-3", ["c6", "c7"]);
    expect(safe.status().reportedChunks).toBe(8);
    expect(await safe.check()).toBe(true);
    expect(safe.isOn).toBe(false);
    expect(exited).toBe(1);
    expect(await safe.check()).toBe(false);
  });

  it("counts a commit from a node that has reported, not one from a node whose report is still to come", async () => {
    const store = await storeWithChunks(4);
    const safe = new SafeMode(store, 1, 60_000, silent, () => 0);
    await report(store, safe, "dn-1", ["c0"]);
    const commit = (dn: string, chunkId: string) =>
      store.write(() => safe.chunkCommitted(dn, chunkId, () => store.replicas.put([chunkId, dn], { length: 1, checksum: 0, committedMs: 0 })));
    await commit("dn-1", "c1");
    await commit("dn-1", "c1");
    await commit("dn-2", "c2");
    expect(safe.status().reportedChunks).toBe(2);
    // dn-2's report lists what it committed: counted then, once.
    await report(store, safe, "dn-2", ["c2", "c3"]);
    expect(safe.status().reportedChunks).toBe(4);
    expect(await safe.check()).toBe(true);
  });

  it("takes its total from LMDB's entry count, without the chunks of writes in progress", async () => {
    const store = await storeWithChunks(25);
    expect(store.chunkCount()).toBe(26);
    expect(store.completeFileChunkCount()).toBe(25);
    expect(new SafeMode(store, 0.5, 60_000, silent).status().totalChunks).toBe(25);
  });

  it("ends after the timeout even if reports are missing, and hands over deferred unknown chunks", async () => {
    const store = await storeWithChunks(3);
    const clock = { now: 0 };
    const safe = new SafeMode(store, 0.999, 5000, silent, () => clock.now);
    safe.defer("dn-1", ["x", "y"]);
    clock.now = 4999;
    expect(await safe.check()).toBe(false);
    clock.now = 5000;
    expect(await safe.check()).toBe(true);
    expect(safe.takeDeferred()).toEqual(new Map([["dn-1", new Set(["x", "y"])]]));
  });

  it("is off from the start when there is nothing to wait for", async () => {
    const { store } = await openTestStore();
    expect(new SafeMode(store, 0.999, 5000, silent).isOn).toBe(false);
  });

  it("holds an operator's safe mode whatever the reports, until an operator leaves it; leaving also ends the startup one early", async () => {
    const store = await storeWithChunks(2);
    let now = 0;
    const safe = new SafeMode(store, 0.5, 1000, silent, () => now);
    let exited = 0;
    safe.onExit(() => void exited++);
    // Startup safe mode, left early by hand.
    expect(await safe.leave()).toBe(true);
    expect(exited).toBe(1);
    expect(safe.status()).toMatchObject({ on: false, manual: false });
    expect(await safe.leave()).toBe(false);
    // Entered by hand: reports and the timeout do not end it.
    await safe.enter();
    expect(safe.status()).toMatchObject({ on: true, manual: true, reportedChunks: 2, totalChunks: 2 });
    await report(store, safe, "dn-1", ["c0", "c1"]);
    now += 10_000;
    expect(await safe.check()).toBe(false);
    expect(safe.isOn && safe.isManual).toBe(true);
    expect(await safe.leave()).toBe(true);
    expect(exited).toBe(2);
    expect(safe.status()).toMatchObject({ on: false, manual: false });
  });

  it("keeps an operator's safe mode in the metadata: a restart finds it on, and an elected NameNode follows what the metadata says", async () => {
    const store = await storeWithChunks(2);
    const before = new SafeMode(store, 0.5, 1000, silent, () => 0);
    await before.enter();
    expect(store.operatorSafeMode).toBe(true);
    // A restart (a new SafeMode on the same metadata): on, by the operator, whatever the reports.
    const restarted = new SafeMode(store, 0.5, 1000, silent, () => 0);
    expect(restarted.status()).toMatchObject({ on: true, manual: true });
    await report(store, restarted, "dn-1", ["c0", "c1"]);
    expect(await restarted.check()).toBe(false);
    expect(await restarted.leave()).toBe(true);
    expect(store.operatorSafeMode).toBe(false);

    // A standby's SafeMode, while the active one's changes reach the metadata through the log.
    const standby = new SafeMode(store, 0, 1000, silent, () => 0);
    let exited = 0;
    standby.onExit(() => void exited++);
    expect(standby.isOn).toBe(false);
    await store.write(() => store.setOperatorSafeMode(true)); // entered on the active one
    await standby.followMetadata(); // elected
    expect(standby.status()).toMatchObject({ on: true, manual: true });
    await store.write(() => store.setOperatorSafeMode(false)); // left on another active one meanwhile
    await standby.followMetadata(); // elected again
    expect(standby.status()).toMatchObject({ on: false, manual: false });
    expect(exited).toBe(1);
  });
});
