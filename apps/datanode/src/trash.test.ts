import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { crc32Of } from "@trainfs/common";
import { ChunkStore } from "./chunk-store.js";
import { TaskStore } from "./task-store.js";
import { TrashWorker } from "./trash.js";

const silent = pino({ level: "silent" });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node() {
  const dir = await mkdtemp(join(tmpdir(), "trainfs-dn-trash-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const chunks = await ChunkStore.open(dir);
  const put = async (n: number) => {
    const id = n.toString(16).padStart(32, "0");
    const data = randomBytes(100);
    const w = await chunks.createWriter(id, 100);
    await w.write(data);
    await w.commit(crc32Of(data));
    return id;
  };
  return { dir, chunks, put };
}

describe("TrashWorker", () => {
  it("deletes what it is given, idempotently, and keeps confirmations until acknowledged", async () => {
    const { dir, chunks, put } = await node();
    const a = await put(1);
    const b = await put(2);
    const tasks = TaskStore.open(dir);
    cleanups.push(() => tasks.close());
    const trash = new TrashWorker(tasks, chunks, silent);
    const gone = "f".repeat(32); // never existed: deleting it succeeds
    await trash.accept([a, gone, "../../etc/passwd"]);
    await trash.idle();
    expect(await chunks.stat(a)).toBeUndefined();
    expect(await chunks.stat(b)).toBeDefined();
    expect(trash.confirmations().sort()).toEqual([a, gone].sort());
    await trash.confirmed([a]);
    expect(trash.confirmations()).toEqual([gone]);
    expect(chunks.chunkCount).toBe(1);
  });

  it("resumes deletions persisted before a crash", async () => {
    const { dir, put } = await node();
    const a = await put(3);
    const before = TaskStore.open(dir);
    await before.write(() => before.trash.put(a, Date.now()));
    await before.close();

    const chunks = await ChunkStore.open(dir);
    const tasks = TaskStore.open(dir);
    cleanups.push(() => tasks.close());
    const trash = new TrashWorker(tasks, chunks, silent);
    expect(await chunks.stat(a)).toBeDefined();
    trash.resume();
    await trash.idle();
    expect(await chunks.stat(a)).toBeUndefined();
    expect(trash.confirmations()).toEqual([a]);
  });
});
