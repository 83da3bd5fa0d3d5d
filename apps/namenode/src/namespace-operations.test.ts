import { describe, expect, it } from "vitest";
import { deletePath } from "./delete-operation.js";
import { contentSummary, mkdir, rename, setReplication } from "./namespace-operations.js";
import { testNameNode } from "../test/test-namenode.js";

async function parts() {
  const nn = await testNameNode({ nodes: 0, config: { trashRedeliveryMs: 1000, replicationTimeoutMs: 1000 } });
  return { ...nn, trash: nn.chunks.trash, queue: nn.chunks.queue, pending: nn.chunks.pending, chunkMap: nn.chunks.map };
}

const file = (chunkIds: string[] = []) => ({ mtimeMs: 1, size: 100, replication: 3, chunkSize: 64, chunkIds });

describe("namespace operations", () => {
  it("makes directories, with or without parents", async () => {
    const p = await parts();
    await p.store.write(() => mkdir(p, "/a/b", true, 1));
    await expect(p.store.write(() => mkdir(p, "/a/b", false, 1))).rejects.toMatchObject({ code: "already_exists" });
    await expect(p.store.write(() => mkdir(p, "/x/y", false, 1))).rejects.toMatchObject({ code: "not_found" });
    await p.store.write(() => p.namespace.addFile(["a", "f"], file()));
    await expect(p.store.write(() => mkdir(p, "/a/f", true, 1))).rejects.toMatchObject({ code: "already_exists", message: "/a/f already exists (a file)" });
  });

  it("renames files and trees in one step, refusing cycles and silent replacement", async () => {
    const p = await parts();
    await p.store.write(() => {
      p.namespace.addFile(["d", "e", "f1"], file());
      p.namespace.addFile(["d", "f2"], file(["c2"]));
      p.store.chunks.put("c2", { chunkId: "c2", inodeId: 0, index: 0, offset: 0, length: 1 });
      p.namespace.mkdirs(["other"], 1);
    });
    await p.store.write(() => rename(p, "/d", "/other/d2", false, 2));
    expect(p.namespace.resolve(["other", "d2", "e", "f1"])?.type).toBe("file");
    expect(p.namespace.resolve(["d"])).toBeUndefined();
    await expect(p.store.write(() => rename(p, "/other", "/other/d2/e/x", false, 3))).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(p.store.write(() => rename(p, "/other/d2/e/f1", "/other/d2/f2", false, 3))).rejects.toMatchObject({ code: "already_exists" });
    await expect(p.store.write(() => rename(p, "/other/d2/e", "/other/d2/f2", true, 3))).rejects.toMatchObject({ code: "already_exists" });
    await expect(p.store.write(() => rename(p, "/other/d2/e/f1", "/nowhere/f", false, 3))).rejects.toMatchObject({ code: "not_found" });
    await p.store.write(() => rename(p, "/other/d2/e/f1", "/other/d2/f2", true, 3));
    expect(p.namespace.lookup("/other/d2/f2").chunkIds).toEqual([]);
    expect(p.store.chunks.get("c2")).toBeUndefined(); // the replaced file's chunk is gone
  });

  it("deletes trees recursively only when asked, and sums content", async () => {
    const p = await parts();
    await p.store.write(() => {
      p.namespace.addFile(["t", "a"], file());
      p.namespace.addFile(["t", "s", "b"], { ...file(), size: 50, replication: 2 });
    });
    expect(contentSummary(p, "/t")).toEqual({ files: 2, directories: 2, bytes: 150, spaceConsumed: 400 });
    await expect(p.store.write(() => deletePath(p, "/t", false, 1))).rejects.toMatchObject({ code: "failed_precondition" });
    await p.store.write(() => deletePath(p, "/t", true, 1));
    expect(p.namespace.list(p.namespace.root())).toEqual([]);
    expect([...p.store.inodes.getKeys()]).toEqual([1]);
  });

  it("sets replication on files only, within bounds", async () => {
    const p = await parts();
    await p.store.write(() => p.namespace.addFile(["f"], file()));
    expect((await p.store.write(() => setReplication(p, "/f", 5, 16, 2))).replication).toBe(5);
    await expect(p.store.write(() => setReplication(p, "/f", 17, 16, 2))).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(p.store.write(() => setReplication(p, "/", 2, 16, 2))).rejects.toMatchObject({ code: "invalid_argument" });
  });
});
