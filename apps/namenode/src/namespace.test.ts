import { describe, expect, it } from "vitest";
import { MetadataStore } from "./metadata-store.js";
import { Namespace } from "./namespace.js";
import { openTestStore } from "../test/test-store.js";

const file = { mtimeMs: 1, size: 10, replication: 3, chunkSize: 1024, chunkIds: ["c1"] };

describe("Namespace", () => {
  it("creates parents, files, and lists children sorted by name", async () => {
    const { store } = await openTestStore();
    const ns = new Namespace(store);
    await store.write(() => {
      ns.addFile(["a", "b", "z.txt"], file);
      ns.addFile(["a", "b", "m.txt"], file);
      ns.mkdirs(["a", "b", "c"], 2);
    });
    const b = ns.lookup("/a/b");
    expect(b.type).toBe("dir");
    expect(ns.list(b).map((n) => [n.name, n.type])).toEqual([["c", "dir"], ["m.txt", "file"], ["z.txt", "file"]]);
    expect(ns.lookup("/a/b/z.txt")).toMatchObject({ type: "file", size: 10, chunkIds: ["c1"] });
    expect(ns.resolve(["a", "nope"])).toBeUndefined();
    expect(() => ns.lookup("/a/nope")).toThrow(/no such file or directory/);
  });

  it("refuses to create a directory through a file", async () => {
    const { store } = await openTestStore();
    const ns = new Namespace(store);
    await store.write(() => ns.addFile(["f"], file));
    await expect(store.write(() => ns.mkdirs(["f", "g"], 1))).rejects.toMatchObject({
      code: "failed_precondition",
      message: "/f is a file, not a directory",
    });
  });

  it("rolls back every change of a failed transaction", async () => {
    const { store } = await openTestStore();
    const ns = new Namespace(store);
    await expect(
      store.write(() => {
        ns.mkdirs(["x", "y"], 1);
        throw new Error("crash in the middle");
      }),
    ).rejects.toThrow("crash in the middle");
    expect(ns.resolve(["x"])).toBeUndefined();
    expect(ns.list(ns.root())).toEqual([]);
  });

  it("survives a restart: everything committed is there after reopening", async () => {
    const { store, dir } = await openTestStore();
    await store.write(() => new Namespace(store).addFile(["keep", "me"], file));
    await store.close();
    const reopened = await MetadataStore.open(dir);
    try {
      expect(new Namespace(reopened).lookup("/keep/me")).toMatchObject({ size: 10 });
      // Inode ids keep counting from where they were.
      const id = await reopened.write(() => reopened.nextInodeId());
      expect(id).toBeGreaterThan(new Namespace(reopened).lookup("/keep/me").id);
    } finally {
      await reopened.close();
    }
  });

  it("counts files and directories in the same transactions as the inodes, and counts older metadata once at open", async () => {
    const { store, dir } = await openTestStore();
    const ns = new Namespace(store);
    expect([store.fileCount(), store.directoryCount()]).toEqual([0, 1]);
    await store.write(() => {
      ns.addFile(["a", "b", "f1"], file);
      ns.addFile(["a", "f2"], file);
    });
    expect([store.fileCount(), store.directoryCount()]).toEqual([2, 3]);
    await store.write(() => ns.move(ns.lookup("/a/f2"), ns.lookup("/a/b"), "f3", 2));
    expect([store.fileCount(), store.directoryCount()]).toEqual([2, 3]);
    await expect(store.write(() => {
      ns.addFile(["x", "g"], file);
      throw new Error("rolled back");
    })).rejects.toThrow("rolled back");
    expect([store.fileCount(), store.directoryCount()]).toEqual([2, 3]);
    await store.write(() => ns.unlink(ns.lookup("/a/b/f1"), 3));
    expect([store.fileCount(), store.directoryCount()]).toEqual([1, 3]);
    // Metadata from before the counters: the keys are gone, so open counts once.
    await store.write(() => {
      const meta = (store as unknown as { meta: { remove(k: string): void } }).meta;
      meta.remove("fileCount");
      meta.remove("directoryCount");
    });
    await store.close();
    const reopened = await MetadataStore.open(dir);
    try {
      expect([reopened.fileCount(), reopened.directoryCount()]).toEqual([1, 3]);
    } finally {
      await reopened.close();
    }
  });
});
