import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CommitBatcher, type SendCommits } from "./commit-batcher.js";

const chunk = (n: number) => ({ chunkId: `c${n}`, length: n, checksum: n });

describe("CommitBatcher", () => {
  it("sends a lone commit at once, and the commits that arrive meanwhile together in the next call", async () => {
    const calls: string[][] = [];
    let release!: () => void;
    const send: SendCommits = async (chunks) => {
      calls.push(chunks.map((c) => c.chunkId));
      if (calls.length === 1) await new Promise<void>((r) => (release = r));
      return chunks.map(() => ({ code: 0, message: "" }));
    };
    const b = new CommitBatcher(send);
    const first = b.commit(chunk(1));
    const rest = [2, 3, 4].map((n) => b.commit(chunk(n)));
    expect(calls).toEqual([["c1"]]);
    release();
    await Promise.all([first, ...rest]);
    expect(calls).toEqual([["c1"], ["c2", "c3", "c4"]]);
  });

  it("gives each caller its own chunk's outcome, and a failed call to every chunk in it", async () => {
    let fail = false;
    const b = new CommitBatcher(async (chunks) => {
      if (fail) throw new ConnectError("NameNode down", Code.Unavailable);
      return chunks.map((c) => (c.chunkId === "c2" ? { code: Code.NotFound, message: "chunk c2 belongs to no file" } : { code: 0, message: "" }));
    });
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => b.commit(chunk(n))));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const refused = (outcomes[1] as PromiseRejectedResult).reason as ConnectError;
    expect(refused.code).toBe(Code.NotFound);
    expect(refused.rawMessage).toBe("chunk c2 belongs to no file");
    fail = true;
    const down = await Promise.allSettled([4, 5].map((n) => b.commit(chunk(n))));
    expect(down.map((o) => o.status === "rejected" && ConnectError.from(o.reason).code)).toEqual([Code.Unavailable, Code.Unavailable]);
    fail = false;
    await expect(b.commit(chunk(6))).resolves.toBeUndefined();
  });
});
