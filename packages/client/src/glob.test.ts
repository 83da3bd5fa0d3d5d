import { describe, expect, it } from "vitest";
import { TrainfsError } from "@trainfs/core";
import type { FileStatus } from "./file-status.js";
import { expandGlob, hasGlob, unescapeGlob } from "./glob.js";

const entry = (path: string, type: "file" | "directory" = "file"): FileStatus => ({
  path, type, size: 0, replication: 3, chunkSize: 0, chunkCount: 0, modificationTime: new Date(0), attributes: {},
});
const tree: Record<string, FileStatus[]> = {
  "/": [entry("/a", "directory"), entry("/b", "directory"), entry("/top.txt")],
  "/a": [entry("/a/x.jpg"), entry("/a/y.png"), entry("/a/br[1].jpg"), entry("/a/.h.jpg")],
  "/b": [entry("/b/x.jpg"), entry("/b/sub", "directory")],
  "/b/sub": [entry("/b/sub/z.jpg")],
};
const all = Object.values(tree).flat();
const fs = {
  list: async (p: string) => {
    if (tree[p]) return tree[p]!;
    throw new TrainfsError("not_found", `${p}: no such file or directory`);
  },
  stat: async (p: string) => {
    const e = all.find((x) => x.path === p);
    if (!e) throw new TrainfsError("not_found", `${p}: no such file or directory`);
    return e;
  },
};
const paths = async (pattern: string) => (await expandGlob(fs, pattern)).map((e) => e.path);

describe("globs expanded by listing", () => {
  it("knows glob characters and their escapes", () => {
    expect(hasGlob("/a/*.jpg")).toBe(true);
    expect(hasGlob("/a/\\*.jpg")).toBe(false);
    expect(hasGlob("/a/b")).toBe(false);
    expect(unescapeGlob("/a/br\\[1\\].jpg")).toBe("/a/br[1].jpg");
  });

  it("matches *, ?, [...] and {a,b} part by part, dotfiles included, sorted", async () => {
    expect(await paths("/a/*.jpg")).toEqual(["/a/.h.jpg", "/a/br[1].jpg", "/a/x.jpg"]);
    expect(await paths("/*/x.jpg")).toEqual(["/a/x.jpg", "/b/x.jpg"]);
    expect(await paths("/a/?.{jpg,png}")).toEqual(["/a/x.jpg", "/a/y.png"]);
    expect(await paths("/[b]/*/z.jpg")).toEqual(["/b/sub/z.jpg"]);
    expect(await paths("/a/br\\[1\\].jpg")).toEqual(["/a/br[1].jpg"]);
  });

  it("falls back to the literal name, and says not_found when nothing matches", async () => {
    expect(await paths("/a/br[1].jpg")).toEqual(["/a/br[1].jpg"]);
    await expect(paths("/a/*.gif")).rejects.toMatchObject({ code: "not_found", message: "/a/*.gif: no such file or directory (no match for the pattern)" });
    await expect(paths("/none/*")).rejects.toMatchObject({ code: "not_found" });
  });
});
