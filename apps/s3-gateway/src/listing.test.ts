import { describe, expect, it } from "vitest";
import type { FileStatus } from "@trainfs/client";
import { listObjects, seekName, type DirectoryLister } from "./listing.js";
import { compareKeys } from "./names.js";
import { parseXml, xmlDocument } from "./xml.js";

/**
 * An in-memory tree listed as the NameNode lists it: one directory, in name
 * order, after `startAfter`. A key ending in '/' is a folder marker: a
 * directory with attributes.
 */
function tree(keys: string[], emptyDirs: string[] = [], pageSize?: number): DirectoryLister & { calls: number; pageSize?: number } {
  const entries = new Map<string, Map<string, "file" | "directory">>();
  const markers = new Set<string>();
  const add = (path: string, type: "file" | "directory") => {
    const parent = path.slice(0, path.lastIndexOf("/")) || "/";
    if (!entries.has(parent)) entries.set(parent, new Map());
    entries.get(parent)!.set(path.slice(path.lastIndexOf("/") + 1), type);
    if (parent !== "/b" && parent !== "/") add(parent, "directory");
  };
  for (const k of keys) {
    if (k.endsWith("/")) markers.add(`/b/${k.slice(0, -1)}`);
    add(`/b/${k.replace(/\/$/, "")}`, k.endsWith("/") ? "directory" : "file");
  }
  for (const d of emptyDirs) add(`/b/${d}`, "directory");
  const lister = {
    calls: 0,
    pageSize,
    async listPage(path: string, o: { startAfter?: string; pageSize?: number }) {
      lister.calls++;
      const names = [...(entries.get(path)?.keys() ?? [])].sort(compareKeys).filter((n) => !o.startAfter || compareKeys(n, o.startAfter) > 0);
      const page = names.slice(0, lister.pageSize ?? o.pageSize ?? 1000);
      return {
        entries: page.map((n) => {
          const type = entries.get(path)!.get(n)!;
          const attributes = markers.has(`${path}/${n}`) ? { etag: "e" } : {};
          return { path: `${path}/${n}`, type, size: type === "file" ? 1 : 0, modificationTime: new Date(0), attributes } as unknown as FileStatus;
        }),
        hasMore: page.length < names.length,
      };
    },
  };
  return lister;
}

async function collect(fs: DirectoryLister, prefix = "", after = "", delimiter = "") {
  const out: string[] = [];
  for await (const batch of listObjects(fs, "/b", { prefix, after, delimiter })) for (const i of batch) out.push(i.kind === "object" ? i.key : `[${i.prefix}]`);
  return out;
}

const KEYS = ["a", "a-b", "a/b", "a/c/d", "a.txt", "ab", "b/x", "b/y/z", "c!", "c/d", "é", "z"];

describe("listing in S3's key order", () => {
  it("orders keys by the UTF-8 bytes of whole keys, not directory by directory", async () => {
    expect(await collect(tree(KEYS.filter((k) => k !== "a")))).toEqual([...KEYS.filter((k) => k !== "a")].sort(compareKeys));
    const sorted = ["a-b", "a.txt", "a/b", "a/c/d", "ab", "b/x", "b/y/z", "c!", "c/d", "z", "é"];
    expect(await collect(tree(sorted))).toEqual(sorted);
  });

  it("honours prefix and start-after at any depth", async () => {
    const fs = tree(["a-b", "a.txt", "a/b", "a/c/d", "ab", "b/x", "b/y/z", "c!", "c/d", "z"]);
    expect(await collect(fs, "a/")).toEqual(["a/b", "a/c/d"]);
    expect(await collect(fs, "", "a/b")).toEqual(["a/c/d", "ab", "b/x", "b/y/z", "c!", "c/d", "z"]);
    expect(await collect(fs, "b", "b/x")).toEqual(["b/y/z"]);
    expect(await collect(fs, "", "a-b")).toEqual(["a.txt", "a/b", "a/c/d", "ab", "b/x", "b/y/z", "c!", "c/d", "z"]);
    expect(await collect(fs, "c")).toEqual(["c!", "c/d"]);
  });

  it("rolls keys up into common prefixes, and empty directories give none", async () => {
    const fs = tree(["a-b", "a/b", "a/c/d", "ab", "b/y/z", "top"], ["empty", "b/hollow/deeper"]);
    expect(await collect(fs, "", "", "/")).toEqual(["a-b", "[a/]", "ab", "[b/]", "top"]);
    expect(await collect(fs, "a/", "", "/")).toEqual(["a/b", "[a/c/]"]);
    expect(await collect(fs, "b/", "", "/")).toEqual(["[b/y/]"]);
    expect(await collect(fs, "", "a/", "/")).toEqual(["ab", "[b/]", "top"]);
    expect(await collect(fs, "", "", "-")).toEqual(["[a-]", "a/b", "a/c/d", "ab", "b/y/z", "top"]);
  });

  it("gives the same keys, prefixes and order when directories span several pages", async () => {
    const keys = ["a-b", "a.txt", "a/b", "a/c/d", "a/c/e", "a/f", "ab", "b/x", "b/y/z", "c!", "c/d", "top", "z"];
    for (const [prefix, after, delimiter] of [["", "", ""], ["a/", "", ""], ["", "a/b", ""], ["", "", "/"], ["a/", "", "/"], ["", "", "-"]] as const) {
      expect(await collect(tree(keys, ["empty"], 2), prefix, after, delimiter), `${prefix}|${after}|${delimiter}`).toEqual(await collect(tree(keys, ["empty"]), prefix, after, delimiter));
    }
  });

  it("lists folder markers (keys ending in '/') where S3 would, as keys and as common prefixes", async () => {
    const keys = ["a-b", "a/", "a/b", "a/c/", "a/c/d", "ab", "b/x", "e/", "e/f/", "g/h/i/", "top"];
    // S3's listing of a flat set of keys, to compare with.
    const reference = (prefix: string, after: string, delimiter: string) => {
      const out: string[] = [];
      for (const k of [...keys].sort(compareKeys)) {
        if (!k.startsWith(prefix)) continue;
        const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
        const item = cut >= 0 ? `[${k.slice(0, cut + delimiter.length)}]` : k;
        const bare = item.startsWith("[") ? item.slice(1, -1) : item;
        if (compareKeys(bare, after) > 0 && out.at(-1) !== item) out.push(item);
      }
      return out;
    };
    expect(await collect(tree(keys))).toEqual([...keys].sort(compareKeys));
    for (const prefix of ["", "a", "a/", "a/c/", "e/", "e/f/", "g/", "g/h/i/"]) {
      for (const after of ["", "a/", "a/b", "a/c/", "e/", "e/f/"]) {
        for (const delimiter of ["", "/", "-"]) {
          for (const pageSize of [undefined, 1, 2]) {
            expect(await collect(tree(keys, ["empty"], pageSize), prefix, after, delimiter), `${prefix}|${after}|${delimiter}|${pageSize}`).toEqual(reference(prefix, after, delimiter));
          }
        }
      }
    }
  });

  it("seeks into a directory rather than listing it from the start", () => {
    expect(seekName("", "photos/2024")).toBe("photo");
    expect(seekName("photos/", "photos/2024-01.jpg")).toBe("202");
    expect(seekName("x/", "a")).toBe("");
  });
});

describe("XML", () => {
  it("builds S3 documents and parses request documents", () => {
    expect(xmlDocument("ListAllMyBucketsResult", { Buckets: { Bucket: [{ Name: "a&b" }] } })).toContain("<Name>a&amp;b</Name>");
    const doc = parseXml("<Delete><Quiet>true</Quiet><Object><Key> spaced </Key></Object></Delete>", "Delete");
    expect(doc.Quiet).toBe("true");
    expect((doc.Object as Array<{ Key: string }>)[0]!.Key).toBe(" spaced ");
    expect(() => parseXml("<Delete><Object>", "Delete")).toThrow(expect.objectContaining({ code: "MalformedXML" }));
    expect(() => parseXml("<Other/>", "Delete")).toThrow(expect.objectContaining({ code: "MalformedXML" }));
  });
});
