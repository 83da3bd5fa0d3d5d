import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RootDatabase } from "lmdb";
import { describe, expect, it } from "vitest";
import { TaskStore } from "./task-store.js";

describe("TaskStore", () => {
  it("opens LMDB with classic commits, each flushed before it resolves (not lmdb-js's overlapping sync)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "trainfs-dn-tasks-"));
    const tasks = TaskStore.open(dir);
    try {
      const root = (tasks as unknown as { root: RootDatabase & { overlappingSync: boolean } }).root;
      expect(root.overlappingSync).toBe(false);
      await tasks.write(() => tasks.trash.put("a".repeat(32), 1));
      expect(tasks.keys(tasks.trash)).toEqual(["a".repeat(32)]);
    } finally {
      await tasks.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
