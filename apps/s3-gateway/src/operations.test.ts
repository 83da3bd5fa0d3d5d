import type { FileStatus, TrainfsClient } from "@trainfs/client";
import { TrainfsError } from "@trainfs/common";
import { describe, expect, it } from "vitest";
import { Operations } from "./operations.js";
import type { GatewayParts } from "./s3-context.js";

/** A TrainFS client whose Stat calls wait until the test answers them. */
function fakeFs() {
  const calls: Array<{ path: string; answer: (exists: boolean) => void }> = [];
  const fs = {
    stat: (path: string) =>
      new Promise<FileStatus>((resolve, reject) => {
        calls.push({
          path,
          answer: (exists) =>
            exists
              ? resolve({ path, type: "directory", size: 0, replication: 0, chunkSize: 0, chunkCount: 0, modificationTime: new Date(0), attributes: {} })
              : reject(new TrainfsError("not_found", `${path} does not exist`)),
        });
      }),
  };
  return { calls, ops: new Operations({ fs: fs as unknown as TrainfsClient } as GatewayParts) };
}

const tick = () => new Promise((r) => setImmediate(r));
const outcome = (p: Promise<unknown>) => p.then(() => "exists", (e: { code?: string }) => e.code);

describe("bucketDir", () => {
  it("requests in flight together share one Stat per bucket: the one running, then one for all that came meanwhile", async () => {
    const { calls, ops } = fakeFs();
    const first = outcome(ops.bucketDir("data"));
    const later = [1, 2, 3, 4].map(() => outcome(ops.bucketDir("data")));
    const other = outcome(ops.bucketDir("other"));
    await tick();
    expect(calls.map((c) => c.path)).toEqual(["/data", "/other"]);
    calls[0]!.answer(true);
    calls[1]!.answer(false);
    expect([await first, await other]).toEqual(["exists", "NoSuchBucket"]);
    await tick();
    // The four that arrived while the first Stat was out share the next one.
    expect(calls.map((c) => c.path)).toEqual(["/data", "/other", "/data"]);
    calls[2]!.answer(true);
    expect(await Promise.all(later)).toEqual(["exists", "exists", "exists", "exists"]);
  });

  it("a request never gets the answer of a Stat sent before it arrived: a bucket created meanwhile is seen", async () => {
    const { calls, ops } = fakeFs();
    const before = outcome(ops.bucketDir("fresh"));
    await tick();
    // The bucket is created now (elsewhere); a request arriving after must see it.
    const after = outcome(ops.bucketDir("fresh"));
    calls[0]!.answer(false);
    expect(await before).toBe("NoSuchBucket");
    await tick();
    expect(calls).toHaveLength(2);
    calls[1]!.answer(true);
    expect(await after).toBe("exists");
    // Nothing is kept once answered: the next request asks again.
    const next = outcome(ops.bucketDir("fresh"));
    await tick();
    expect(calls).toHaveLength(3);
    calls[2]!.answer(false);
    expect(await next).toBe("NoSuchBucket");
  });
});
