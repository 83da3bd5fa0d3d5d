import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect } from "vitest";
import { ClientService } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { MiniCluster, type MiniClusterOptions } from "../src/index.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A MiniCluster shut down after the test, whatever happens. */
export async function cluster(options: MiniClusterOptions = {}): Promise<MiniCluster> {
  const c = await MiniCluster.start(options);
  cleanups.push(() => c.shutdown());
  return c;
}

/** A local temporary directory removed after the test. */
export async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "trainfs-work-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Waits until a NameNode other than `was` is the active one (HA), and returns its index. */
export async function newActiveNameNode(c: MiniCluster, was: number, timeoutMs = 20_000): Promise<number> {
  return eventually(async () => {
    const now = await c.activeNameNode(1000);
    if (now === undefined || now === was) throw new Error(`NameNode ${was} is still the active one (or none is)`);
    return now;
  }, timeoutMs, 100);
}

/** Polls `check` until it stops throwing, or fails with its last error after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 30_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/** A file's chunks with their live replica addresses, as GetFile reports them. */
export async function chunkLocations(c: MiniCluster, path: string): Promise<Array<{ chunkId: string; replicas: string[] }>> {
  const rpc = new RpcClients();
  try {
    const res = await rpc.client(ClientService, c.nameNodeAddress).getFile({ path });
    return res.chunks.map((chunk) => ({ chunkId: chunk.chunkId, replicas: chunk.replicas.map((r) => r.address) }));
  } finally {
    rpc.close();
  }
}

/** Which running DataNodes (by index) have the chunk's file on disk. */
export async function holdersOnDisk(c: MiniCluster, chunkId: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < c.dataNodeCount; i++) if ((await c.chunkFiles(i)).includes(chunkId)) out.push(i);
  return out;
}

/** Flips byte `at` of DataNode i's copy of a chunk on disk, whatever its format (plain file or packed record). */
export async function flipReplicaByte(c: MiniCluster, node: number, chunkId: string, at: number): Promise<void> {
  const where = await c.replicaOnDisk(node, chunkId);
  if (!where) throw new Error(`DataNode ${node} holds no copy of chunk ${chunkId}`);
  if (at >= where.length) throw new Error(`chunk ${chunkId} has ${where.length} bytes: no byte ${at}`);
  await flipByte(where.path, where.start + at);
}

/** The bytes of DataNode i's copy of a chunk, read straight from its disk. */
export async function replicaBytes(c: MiniCluster, node: number, chunkId: string): Promise<Buffer> {
  const where = await c.replicaOnDisk(node, chunkId);
  if (!where) throw new Error(`DataNode ${node} holds no copy of chunk ${chunkId}`);
  const handle = await open(where.path, "r");
  try {
    const b = Buffer.alloc(where.length);
    await handle.read(b, 0, where.length, where.start);
    return b;
  } finally {
    await handle.close();
  }
}

/** Flips one byte of a file in place (damage on disk, for the integrity tests). */
export async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    const b = Buffer.alloc(1);
    await handle.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await handle.write(b, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/** A server's /metrics (Prometheus text) as { "name{labels}": value }. */
export async function scrapeMetrics(address: string): Promise<Map<string, number>> {
  const res = await fetch(`${address}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const out = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** The sum of the metrics whose name starts with `prefix` and whose labels hold every one of `parts`. */
export function metricSum(m: Map<string, number>, prefix: string, ...parts: string[]): number {
  return [...m].filter(([k]) => k.startsWith(prefix) && parts.every((p) => k.includes(p))).reduce((sum, [, v]) => sum + v, 0);
}
