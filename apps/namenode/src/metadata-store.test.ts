import type { RootDatabase } from "lmdb";
import { describe, expect, it } from "vitest";
import { openTestStore } from "../test/test-store.js";

describe("MetadataStore", () => {
  it("opens LMDB with classic commits, each flushed before it resolves (not lmdb-js's overlapping sync)", async () => {
    const { store } = await openTestStore();
    // Overlapping sync can roll back the last acknowledged commit after a
    // power loss (see durable-lmdb.ts); lmdb-js reports the mode it opened in.
    const root = (store as unknown as { root: RootDatabase & { overlappingSync: boolean } }).root;
    expect(root.overlappingSync).toBe(false);
    const inodeId = await store.write(() => store.nextInodeId());
    expect(await store.write(() => store.nextInodeId())).toBe(inodeId + 1);
  });
});
