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

  it("keeps attributes on a directory when asked, and deletes only a plain empty directory when asked", async () => {
    const p = await parts();
    const marked = await p.store.write(() => mkdir(p, "/m/d", true, 1, { etag: "e1" }));
    expect(marked.attributes).toEqual({ etag: "e1" });
    expect(p.namespace.lookup("/m").attributes).toBeUndefined();
    // Set on an existing directory (parents), replaced, then cleared; without attributes, left as they are.
    await p.store.write(() => mkdir(p, "/m", true, 2, { etag: "e0" }));
    expect(p.namespace.lookup("/m").attributes).toEqual({ etag: "e0" });
    await p.store.write(() => mkdir(p, "/m/d", true, 2));
    expect(p.namespace.lookup("/m/d").attributes).toEqual({ etag: "e1" });
    await p.store.write(() => mkdir(p, "/m/d", true, 2, { etag: "e2", "content-type": "x/y" }));
    expect(p.namespace.lookup("/m/d").attributes).toEqual({ etag: "e2", "content-type": "x/y" });
    // A bad attribute changes nothing, not even the directories it would create.
    await expect(p.store.write(() => mkdir(p, "/n/e", true, 3, { "Bad Name": "v" }))).rejects.toMatchObject({ code: "invalid_argument" });
    expect(p.namespace.resolve(["n"])).toBeUndefined();
    await expect(p.store.write(() => mkdir(p, "/", true, 3, { etag: "e" }))).rejects.toMatchObject({ code: "invalid_argument" });

    await expect(p.store.write(() => deletePath(p, "/m/d", false, 4, { onlyEmptyPlainDirectory: true }))).rejects.toMatchObject({ code: "failed_precondition" });
    await p.store.write(() => mkdir(p, "/m/d", true, 4, {}));
    expect(p.namespace.lookup("/m/d").attributes).toBeUndefined();
    await p.store.write(() => p.namespace.addFile(["m", "d", "f"], file()));
    await expect(p.store.write(() => deletePath(p, "/m/d/f", false, 5, { onlyEmptyPlainDirectory: true }))).rejects.toMatchObject({ code: "failed_precondition" });
    await expect(p.store.write(() => deletePath(p, "/m/d", false, 5, { onlyEmptyPlainDirectory: true }))).rejects.toMatchObject({ code: "failed_precondition" });
    await p.store.write(() => deletePath(p, "/m/d/f", false, 5));
    await p.store.write(() => deletePath(p, "/m/d", false, 5, { onlyEmptyPlainDirectory: true }));
    expect(p.namespace.resolve(["m", "d"])).toBeUndefined();
  });

  it("deletes conditionally: only the file a condition names", async () => {
    const p = await parts();
    await p.store.write(() => p.namespace.addFile(["c"], { ...file(), attributes: { etag: "1" } }));
    await expect(p.store.write(() => deletePath(p, "/none", false, 1, { onlyIf: { attributes: {} } }))).rejects.toMatchObject({ code: "not_found" });
    await expect(p.store.write(() => deletePath(p, "/c", false, 1, { onlyIf: { attributes: { etag: "2" } } }))).rejects.toMatchObject({ code: "failed_precondition" });
    await expect(p.store.write(() => deletePath(p, "/c", false, 1, { onlyIf: { attributes: {}, size: 99 } }))).rejects.toMatchObject({ code: "failed_precondition" });
    expect(p.namespace.resolve(["c"])).toBeDefined();
    await p.store.write(() => deletePath(p, "/c", false, 1, { onlyIf: { attributes: { etag: "1" }, mtimeMs: 1, size: 100 } }));
    expect(p.namespace.resolve(["c"])).toBeUndefined();
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
