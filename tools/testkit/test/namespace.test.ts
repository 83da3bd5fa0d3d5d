import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { ClientService } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { randomFile, sha256File } from "../src/index.js";
import { chunkLocations, cluster, eventually, rejection, workDir } from "./helpers.js";

const CHUNK = 64 * 1024;

describe("the namespace through the SDK", () => {
  it("makes, stats, lists (in pages), renames and deletes trees; files stay readable after a directory moves", async () => {
    const c = await cluster();
    const fs = c.client({ chunkSize: CHUNK });
    await fs.mkdir("/a/b/c", { parents: true });
    await expect(fs.mkdir("/a/b/c")).rejects.toMatchObject({ code: "already_exists" });
    await fs.mkdir("/a/b/c", { parents: true }); // -p: fine if it exists
    await expect(fs.mkdir("/x/y")).rejects.toMatchObject({ code: "not_found", message: expect.stringContaining("parent of /x/y does not exist") });
    for (let i = 0; i < 25; i++) await fs.writeFile(`/a/b/f${String(i).padStart(2, "0")}`, `file ${i} `.repeat(i * 1000));
    const paged = [];
    for await (const e of fs.listPages("/a/b", { pageSize: 7 })) paged.push(e.path);
    expect(paged).toEqual(["/a/b/c", ...Array.from({ length: 25 }, (_, i) => `/a/b/f${String(i).padStart(2, "0")}`)]);
    expect((await fs.stat("/a/b/f03")).size).toBe("file 3 ".length * 3000);
    expect(await fs.exists("/a/b/nope")).toBe(false);

    await fs.rename("/a/b", "/moved");
    expect(await fs.exists("/a/b")).toBe(false);
    expect((await fs.readFile("/moved/f07")).toString()).toBe("file 7 ".repeat(7000));
    await expect(fs.rename("/moved", "/moved/c/inside")).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("own subtree") });
    await expect(fs.rename("/moved/f01", "/moved/f02")).rejects.toMatchObject({ code: "already_exists" });
    await fs.rename("/moved/f01", "/moved/f02", { overwrite: true });
    expect((await fs.readFile("/moved/f02")).toString()).toBe("file 1 ".repeat(1000));
    await expect(fs.rename("/moved/nope", "/z")).rejects.toMatchObject({ code: "not_found" });

    expect(await fs.du("/moved")).toMatchObject({ files: 24, directories: 2 });
    await expect(fs.rm("/moved")).rejects.toMatchObject({ code: "failed_precondition" });
    const { chunkCount } = await fs.rm("/moved", { recursive: true });
    expect(chunkCount).toBeGreaterThan(24);
    expect(await fs.list("/")).toMatchObject([{ path: "/a", type: "directory" }]);
    await eventually(async () => expect((await Promise.all([0, 1, 2].map((i) => c.chunkFiles(i)))).flat()).toEqual([]));
  });

  it("overwrites atomically: readers see the old or the new content, never a mix", async () => {
    const c = await cluster();
    const dir = await workDir();
    const fs = c.client({ chunkSize: CHUNK });
    await randomFile(join(dir, "old"), 10 * CHUNK);
    await randomFile(join(dir, "new"), 7 * CHUNK + 3);
    const [oldSha, newSha] = [await sha256File(join(dir, "old")), await sha256File(join(dir, "new"))];
    await fs.put(join(dir, "old"), "/f");
    await expect(fs.put(join(dir, "new"), "/f")).rejects.toMatchObject({ code: "already_exists" });
    let reading = true;
    const seen = new Set<string>();
    const reader = (async () => {
      for (let i = 0; reading; i++) {
        const out = join(dir, `read-${i}`);
        try {
          await fs.get("/f", out);
          seen.add(await sha256File(out));
        } catch (err) {
          // A reader holding the old chunk list may find them trashed: an error, never a mix.
          expect((err as { code: string }).code).toMatch(/not_found|unavailable|data_loss/);
        }
      }
    })();
    await fs.put(join(dir, "new"), "/f", { overwrite: true });
    await new Promise((r) => setTimeout(r, 200));
    reading = false;
    await reader;
    for (const sha of seen) expect([oldSha, newSha]).toContain(sha);
    await fs.get("/f", join(dir, "final"));
    expect(await sha256File(join(dir, "final"))).toBe(newSha);
    // The old file's chunks leave the disks.
    await eventually(async () => expect((await c.chunkFiles(0)).length).toBe(8));
  });

  it("lets exactly one of two concurrent puts to one path win", async () => {
    const c = await cluster();
    const dir = await workDir();
    await randomFile(join(dir, "a"), 5 * CHUNK);
    await randomFile(join(dir, "b"), 5 * CHUNK);
    const fs = c.client({ chunkSize: CHUNK });
    const results = await Promise.allSettled([fs.put(join(dir, "a"), "/race"), fs.put(join(dir, "b"), "/race")]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(loser.reason.code).toMatch(/aborted|already_exists/);
    await fs.get("/race", join(dir, "out"));
    expect([await sha256File(join(dir, "a")), await sha256File(join(dir, "b"))]).toContain(await sha256File(join(dir, "out")));
  });

  it("cleans up the write of a writer that died once its lease expires", async () => {
    const c = await cluster({ nameNode: { uploadLeaseMs: 500 } });
    const rpc = new RpcClients();
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    // A writer that starts, then vanishes without a word.
    const started = await nn.putFile({ path: "/orphan", size: 10n });
    expect(started.leaseMs).toBe(500);
    await expect(c.client().put(Buffer.from("x"), "/orphan")).rejects.toMatchObject({ code: "aborted" });
    await eventually(() => expect(c.nameNode.store.uploads.get(started.uploadId)).toBeUndefined());
    await expect(nn.confirmFile({ path: "/orphan", uploadId: started.uploadId, chunks: [] })).rejects.toThrow(/no write in progress/);
    await c.client().writeFile("/orphan", "mine now");
    expect((await c.client().readFile("/orphan")).toString()).toBe("mine now");
    rpc.close();
  });

  it("writes streams of unknown size, chunk by chunk", async () => {
    const c = await cluster();
    const dir = await workDir();
    await randomFile(join(dir, "in"), 3 * CHUNK + 777);
    const fs = c.client({ chunkSize: CHUNK });
    const fromReadable = await fs.put((await import("node:fs")).createReadStream(join(dir, "in"), { highWaterMark: 10_000 }), "/s1");
    expect(fromReadable).toMatchObject({ size: 3 * CHUNK + 777, chunkCount: 4 });
    await pipeline((await import("node:fs")).createReadStream(join(dir, "in")), fs.createWriteStream("/s2"));
    expect((await fs.readFile("/s2")).equals(await readFile(join(dir, "in")))).toBe(true);
    const empty = await fs.put(Readable.from([]), "/empty");
    expect(empty).toMatchObject({ size: 0, chunkCount: 0 });
    expect(await fs.readFile("/empty")).toEqual(Buffer.alloc(0));
  });

  it("leaves no visible file when a put is aborted midway", async () => {
    const c = await cluster();
    const dir = await workDir();
    await randomFile(join(dir, "in"), 40 * CHUNK);
    const fs = c.client({ chunkSize: CHUNK, concurrency: 1 });
    const abort = new AbortController();
    const put = fs.put(join(dir, "in"), "/aborted", {
      signal: abort.signal,
      onProgress: (done) => {
        if (done > 5 * CHUNK) abort.abort();
      },
    });
    expect((await rejection(put)).code).toBe("canceled");
    expect(await fs.exists("/aborted")).toBe(false);
    await eventually(async () => {
      expect([...c.nameNode.store.uploads.getKeys()]).toEqual([]);
      expect((await Promise.all([0, 1, 2].map((i) => c.chunkFiles(i)))).flat()).toEqual([]);
    });
  });

  it("changes replication in both directions", async () => {
    const c = await cluster({ dataNodes: 4, heartbeatIntervalMs: 100 });
    const fs = c.client({ chunkSize: CHUNK });
    await fs.writeFile("/r", Buffer.alloc(3 * CHUNK, 7));
    expect((await fs.setReplication("/r", 4)).replication).toBe(4);
    await eventually(async () => {
      for (const l of await chunkLocations(c, "/r")) expect(l.replicas).toHaveLength(4);
    });
    await fs.setReplication("/r", 2);
    await eventually(async () => {
      for (const l of await chunkLocations(c, "/r")) expect(l.replicas).toHaveLength(2);
      expect((await Promise.all([0, 1, 2, 3].map((i) => c.chunkFiles(i)))).flat()).toHaveLength(6);
    });
    await expect(fs.setReplication("/r", 0)).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(fs.setReplication("/", 2)).rejects.toMatchObject({ code: "invalid_argument" });
  });
});
