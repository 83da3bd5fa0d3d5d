import { readlinkSync, realpathSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { cluster } from "./helpers.js";

/**
 * The durability contract, observed: every fsync the DataNodes (in this
 * process) make is recorded with the path it covered, and when a put is
 * acknowledged each replica's chunk file, its metadata file and the directory
 * entry of its final name must be among them.
 */
describe("durability of an acknowledged put", () => {
  it("is acknowledged only once every replica's data, metadata and directory entry are fsynced", async () => {
    const c = await cluster({ dataNodes: 3 });
    const synced: string[] = [];
    const probe = await open(process.execPath, "r");
    const handleProto = Object.getPrototypeOf(probe) as { sync: (this: FileHandle) => Promise<void> };
    await probe.close();
    const sync = handleProto.sync;
    handleProto.sync = async function (this: FileHandle) {
      const path = readlinkSync(`/proc/self/fd/${this.fd}`);
      await sync.call(this);
      synced.push(path);
    };
    let acknowledged: string[];
    try {
      await c.client({ chunkSize: 1024 * 1024 }).writeFile("/durable", randomBytes(3 * 1024 * 1024 + 5));
      acknowledged = [...synced];
    } finally {
      handleProto.sync = sync;
    }
    const chunkIds = c.nameNode.namespace.lookup("/durable").chunkIds;
    expect(chunkIds).toHaveLength(4);
    for (let i = 0; i < 3; i++) {
      const tmp = join(realpathSync(c.dataNodeDir(i)), "tmp");
      for (const chunkId of chunkIds) {
        const written = acknowledged.filter((p) => p.startsWith(join(tmp, `${chunkId}.`)));
        expect(written.filter((p) => !p.endsWith(".meta")), `chunk ${chunkId} data on DataNode ${i}`).toHaveLength(1);
        expect(written.filter((p) => p.endsWith(".meta")), `chunk ${chunkId} metadata on DataNode ${i}`).toHaveLength(1);
        expect(acknowledged, `directory of chunk ${chunkId} on DataNode ${i}`).toContain(realpathSync(dirname(c.dataNode(i).store.chunkPath(chunkId))));
      }
    }
  });
});
