import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
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

  describe("reports (not awaited)", () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const recorded = (chunks: Array<{ chunkId: string }>) => chunks.map(() => ({ code: 0, message: "" }));

    it("wait for company, then share one call; a commit sends at once and takes them along", async () => {
      vi.useFakeTimers();
      const calls: string[][] = [];
      const b = new CommitBatcher(async (chunks) => (calls.push(chunks.map((c) => c.chunkId)), recorded(chunks)), { reportDelayMs: 100 });
      b.report(chunk(1));
      b.report(chunk(2));
      await vi.advanceTimersByTimeAsync(99);
      expect(calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls).toEqual([["c1", "c2"]]);
      b.report(chunk(3));
      await b.commit(chunk(4));
      expect(calls).toEqual([["c1", "c2"], ["c3", "c4"]]);
      expect(b.pendingReports).toBe(0);
    });

    it("hand refusals to onRefused, send again after a failed call with a growing pause, and drop chunks no longer held", async () => {
      vi.useFakeTimers();
      const calls: string[][] = [];
      const refused: Array<[string, Code]> = [];
      const held = new Set(["c1", "c2", "c3"]);
      let down = true;
      const b = new CommitBatcher(
        async (chunks) => {
          calls.push(chunks.map((c) => c.chunkId));
          if (down) throw new ConnectError("NameNode down", Code.Unavailable);
          return chunks.map((c) => (c.chunkId === "c2" ? { code: Code.NotFound, message: "no file owns c2" } : { code: 0, message: "" }));
        },
        { reportDelayMs: 10, retryDelayMs: 100, onRefused: (c, err) => refused.push([c.chunkId, err.code]), isHeld: (id) => held.has(id) },
      );
      for (const n of [1, 2, 3]) b.report(chunk(n));
      await vi.advanceTimersByTimeAsync(10);
      expect(calls).toEqual([["c1", "c2", "c3"]]);
      expect(b.pendingReports).toBe(3);
      await vi.advanceTimersByTimeAsync(100); // first retry, still down; the next pause is 200 ms
      expect(calls).toHaveLength(2);
      held.delete("c3"); // deleted or quarantined meanwhile: its report would bring a gone replica back
      down = false;
      await vi.advanceTimersByTimeAsync(199);
      expect(calls).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(calls[2]).toEqual(["c1", "c2"]);
      expect(refused).toEqual([["c2", Code.NotFound]]);
      expect(b.pendingReports).toBe(0);
    });

    it("are dropped at close, and not taken after it", async () => {
      vi.useFakeTimers();
      let sent = 0;
      const b = new CommitBatcher(async (chunks) => ((sent += chunks.length), recorded(chunks)), { reportDelayMs: 10 });
      b.report(chunk(1));
      b.close();
      b.report(chunk(2));
      await vi.advanceTimersByTimeAsync(50);
      expect(sent).toBe(0);
      expect(b.pendingReports).toBe(0);
    });
  });
});
