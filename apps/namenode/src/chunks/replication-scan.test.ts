import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ReplicationMonitor } from "./replication-monitor.js";
import { ReplicationScan } from "./replication-scan.js";
import { testNameNode } from "../../test/test-namenode.js";
import { openTestStore } from "../../test/test-store.js";

const silent = pino({ level: "silent" });

describe("ReplicationScan", () => {
  it("checks every complete file's chunk, batch after batch, and queues those short of replicas", async () => {
    const { store, chunks } = await testNameNode({ nodes: 3 });
    const { map: chunkMap, queue, replication: monitor } = chunks;
    // 250 chunks (more than two batches of 100): every 10th has two copies of
    // three, every 25th none at all; the chunk of a write in progress is no concern.
    await store.write(() => {
      store.inodes.put(100, { id: 100, parentId: 1, name: "f", type: "file", mtimeMs: 0, size: 250, replication: 3, chunkSize: 1, chunkIds: [] });
      for (let i = 0; i < 250; i++) {
        const chunkId = `chunk-${String(i).padStart(3, "0")}`;
        store.chunks.put(chunkId, { chunkId, inodeId: 100, index: i, offset: i, length: 1, checksum: 7 });
        const holders = i % 25 === 0 ? [] : i % 10 === 0 ? ["dn-1", "dn-2"] : ["dn-1", "dn-2", "dn-3"];
        for (const dn of holders) chunkMap.commit(dn, { chunkId, length: 1, checksum: 7 }, 0);
      }
      store.chunks.put("upload-chunk", { chunkId: "upload-chunk", uploadId: "u", index: 0, offset: 0, length: 1 });
    });
    expect(queue.counts()).toEqual({ missing: 0, underReplicated: 0, misplaced: 0, surplus: 0 });
    const scan = new ReplicationScan(store, monitor, silent, 100);
    scan.start();
    await scan.whenDone();
    expect(scan.progress).toEqual({ scanned: 251, done: true });
    expect(queue.counts()).toEqual({ missing: 10, underReplicated: 20, misplaced: 0, surplus: 0 });
    expect(queue.ordered(1000)).not.toContain("upload-chunk");
  });

  it("stops between batches when asked", async () => {
    const { store } = await openTestStore();
    await store.write(() => {
      for (let i = 0; i < 50; i++) store.chunks.put(`c${i}`, { chunkId: `c${i}`, uploadId: "u", index: i, offset: i, length: 1 });
    });
    const seen: string[] = [];
    const monitor = { recheck: (id: string) => seen.push(id) } as unknown as ReplicationMonitor;
    const scan = new ReplicationScan(store, monitor, silent, 10);
    scan.start();
    await scan.stop();
    expect(scan.progress.done).toBe(false);
    expect(scan.progress.scanned).toBeLessThan(50);
  });
});
