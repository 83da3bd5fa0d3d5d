import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { MetadataStore } from "../src/metadata-store.js";

/** A MetadataStore in a temporary directory, closed and removed after each test. */
export async function openTestStore(): Promise<{ store: MetadataStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "trainfs-nn-"));
  const store = await MetadataStore.open(dir);
  afterEach(async () => {
    await store.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  return { store, dir };
}
