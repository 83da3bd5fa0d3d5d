import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { SafeMode } from "./safe-mode.js";
import { openTestStore } from "../test/test-store.js";

const silent = pino({ level: "silent" });

async function storeWithChunks(n: number) {
  const { store } = await openTestStore();
  await store.write(() => {
    for (let i = 0; i < n; i++) store.chunks.put(`c${i}`, { chunkId: `c${i}`, inodeId: 5, index: i, offset: 0, length: 1 });
    store.chunks.put("in-flight", { chunkId: "in-flight", uploadId: "u", index: 0, offset: 0, length: 1 });
  });
  return store;
}

describe("SafeMode", () => {
  it("stays on until reports cover the threshold of complete files' chunks", async () => {
    const store = await storeWithChunks(10);
    const safe = new SafeMode(store, 0.8, 60_000, silent, () => 0);
    let exited = 0;
    safe.onExit(() => void exited++);
    expect(safe.status()).toEqual({ on: true, reportedChunks: 0, totalChunks: 10, threshold: 0.8 });
    for (let i = 0; i < 7; i++) safe.chunkReported(`c${i}`);
    safe.chunkReported("c0");
    expect(await safe.check()).toBe(false);
    safe.chunkReported("c7");
    expect(await safe.check()).toBe(true);
    expect(safe.isOn).toBe(false);
    expect(exited).toBe(1);
    expect(await safe.check()).toBe(false);
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
});
