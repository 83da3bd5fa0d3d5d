import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
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
