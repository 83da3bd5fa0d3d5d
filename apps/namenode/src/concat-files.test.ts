import { describe, expect, it } from "vitest";
import { testNameNode } from "../test/test-namenode.js";

async function setup() {
  const nn = await testNameNode({
    nodes: 3,
    startMs: 10_000,
    free: () => 1e6,
    config: { defaultReplication: 3, maxReplication: 16, defaultChunkSize: 100, minChunkSize: 10, maxChunkSize: 1000, maxChunksPerFile: 50, heartbeatTimeoutMs: 60_000 },
  });
  const { store, clock, chunks, writes, files, namespace } = nn;
  /** A complete file of `size` bytes in chunks of `chunkSize`, committed on every node of each chain. */
  const put = async (path: string, size: number, chunkSize = 100, attributes?: Record<string, string>) => {
    const planned = await writes.start(path, size, 3, chunkSize, attributes ? { attributes } : {});
    for (const c of planned.chunks) {
      for (const dn of c.chain) await store.write(() => chunks.map.commit(dn, { chunkId: c.chunkId, length: c.length, checksum: 7 }, clock.now));
    }
    return writes.confirm(path, planned.uploadId, planned.chunks.map((c) => ({ chunkId: c.chunkId, length: c.length, checksum: 7 })));
  };
  return { ...nn, put, files, namespace, chunks, store };
}

describe("ConcatFiles", () => {
  it("links the sources' chunks, in order, into one file with chunks of different lengths; the sources go", async () => {
    const { put, files, namespace, chunks } = await setup();
    const a = await put("/mp/u1/1", 250);
    const b = await put("/mp/u1/2", 30, 20);
    const file = await files.concat(["/mp/u1/1", "/mp/u1/2"], "/bucket/dir/key", { attributes: { etag: "abc-2" } });
    expect(file).toMatchObject({ type: "file", size: 280, replication: 3, chunkIds: [...a.chunkIds, ...b.chunkIds], attributes: { etag: "abc-2" } });
    expect(namespace.lookup("/bucket/dir/key").id).toBe(file.id);
    expect(namespace.resolve(["mp", "u1", "1"])).toBeUndefined();
    expect(namespace.resolve(["mp", "u1", "2"])).toBeUndefined();
    const records = file.chunkIds.map((id) => chunks.get(id)!);
    expect(records.map((c) => [c.inodeId, c.index, c.offset, c.length])).toEqual([
      [file.id, 0, 0, 100],
      [file.id, 1, 100, 100],
      [file.id, 2, 200, 50],
      [file.id, 3, 250, 20],
      [file.id, 4, 270, 10],
    ]);
    // Readers get each chunk's own offset and length.
    expect(files.getFile("/bucket/dir/key").chunks.map((c) => c.chunk.offset)).toEqual([0, 100, 200, 250, 270]);
  });

  it("sends no chunk to trash and keeps every chunk's replicas", async () => {
    const { put, files, chunks } = await setup();
    const a = await put("/s/a", 100);
    await files.concat(["/s/a"], "/d/x", {});
    expect(chunks.map.replicas(a.chunkIds[0]!)).toHaveLength(3);
    for (const dn of ["dn-1", "dn-2", "dn-3"]) expect(chunks.trash.has(dn, a.chunkIds[0]!)).toBe(false);
  });

  it("replaces an existing destination only with overwrite, trashing its chunks", async () => {
    const { put, files, chunks, namespace } = await setup();
    await put("/s/a", 50);
    const old = await put("/d/x", 40);
    await expect(files.concat(["/s/a"], "/d/x", {})).rejects.toMatchObject({ code: "already_exists" });
    // Refused: nothing changed.
    expect(namespace.resolve(["s", "a"])).toBeDefined();
    const file = await files.concat(["/s/a"], "/d/x", { overwrite: true });
    expect(file.size).toBe(50);
    expect(chunks.get(old.chunkIds[0]!)).toBeUndefined();
    expect(["dn-1", "dn-2", "dn-3"].some((dn) => chunks.trash.has(dn, old.chunkIds[0]!))).toBe(true);
  });

  it("replaces conditionally: only the file replace_only names, nothing changed otherwise", async () => {
    const { put, files, namespace } = await setup();
    await put("/s/a", 50);
    await expect(files.concat(["/s/a"], "/d/y", { overwrite: true, replaceOnly: { attributes: {} } })).rejects.toMatchObject({ code: "not_found" });
    await put("/d/y", 40, 100, { etag: "old" });
    await expect(files.concat(["/s/a"], "/d/y", { overwrite: true, replaceOnly: { attributes: { etag: "other" } } })).rejects.toMatchObject({ code: "failed_precondition" });
    await expect(files.concat(["/s/a"], "/d/y", { replaceOnly: { attributes: { etag: "old" } } })).rejects.toMatchObject({ code: "invalid_argument" });
    expect(namespace.resolve(["s", "a"])).toBeDefined();
    const file = await files.concat(["/s/a"], "/d/y", { overwrite: true, replaceOnly: { attributes: { etag: "old" }, size: 40 }, attributes: { etag: "new" } });
    expect(file).toMatchObject({ size: 50, attributes: { etag: "new" } });
  });

  it("may write onto one of its sources", async () => {
    const { put, files } = await setup();
    await put("/d/x", 40);
    await put("/d/y", 60);
    const file = await files.concat(["/d/x", "/d/y"], "/d/x", {});
    expect(file.size).toBe(100);
  });

  it("refuses bad sources with clear errors and changes nothing", async () => {
    const { put, files, namespace } = await setup();
    await put("/s/a", 50);
    await expect(files.concat([], "/d", {})).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("at least one source") });
    await expect(files.concat(["/s/a", "/s/a"], "/d", {})).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("named twice") });
    await expect(files.concat(["/s"], "/d", {})).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("directory") });
    await expect(files.concat(["/s/a", "/s/none"], "/d", {})).rejects.toMatchObject({ code: "not_found" });
    await expect(files.concat(["/s/a"], "/s", {})).rejects.toMatchObject({ code: "already_exists", message: expect.stringContaining("a directory") });
    await expect(files.concat(["/s/a"], "/d", { attributes: { "Bad Key": "v" } })).rejects.toMatchObject({ code: "invalid_argument" });
    expect(namespace.resolve(["s", "a"])?.type).toBe("file");
    expect(namespace.resolve(["d"])).toBeUndefined();
  });
});

describe("file attributes", () => {
  it("are kept from PutFile to the file and returned by stat and list", async () => {
    const { put, files } = await setup();
    await put("/b/k", 10, 100, { etag: "d41d8cd98f00b204e9800998ecf8427e", "content-type": "text/plain" });
    expect(files.stat("/b/k").attributes).toEqual({ etag: "d41d8cd98f00b204e9800998ecf8427e", "content-type": "text/plain" });
    expect(files.list("/b", "", 0).entries[0]!.inode.attributes).toMatchObject({ "content-type": "text/plain" });
  });

  it("are bounded: count, total size and key characters", async () => {
    const { writes } = await setup();
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"]));
    await expect(writes.start("/f", 1, 3, 100, { attributes: many })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("at most 32") });
    await expect(writes.start("/f", 1, 3, 100, { attributes: { big: "x".repeat(8200) } })).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("8192 bytes"),
    });
    await expect(writes.start("/f", 1, 3, 100, { attributes: { "X-Upper": "v" } })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("a-z, 0-9 and -") });
    await expect(writes.start("/f", 1, 3, 100, { attributes: { "": "v" } })).rejects.toMatchObject({ code: "invalid_argument" });
  });
});

describe("attributes given at ConfirmFile", () => {
  it("replace those given at PutFile", async () => {
    const { writes, store, chunks, clock, files } = await setup();
    const planned = await writes.start("/b/late", 10, 3, 100, { attributes: { "content-type": "a/b" } });
    for (const c of planned.chunks) for (const dn of c.chain) await store.write(() => chunks.map.commit(dn, { chunkId: c.chunkId, length: c.length, checksum: 7 }, clock.now));
    const digests = planned.chunks.map((c) => ({ chunkId: c.chunkId, length: c.length, checksum: 7 }));
    await expect(writes.confirm("/b/late", planned.uploadId, digests, [], { "BAD": "x" })).rejects.toMatchObject({ code: "invalid_argument" });
    await writes.confirm("/b/late", planned.uploadId, digests, [], { etag: "0123", "content-type": "a/b" });
    expect(files.stat("/b/late").attributes).toEqual({ etag: "0123", "content-type": "a/b" });
  });
});
