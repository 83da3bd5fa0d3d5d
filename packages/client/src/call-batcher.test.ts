import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { currentRequestId, withRequestId } from "@trainfs/node";
import { CallBatcher, type BatchOutcome } from "./call-batcher.js";

/** A fake NameNode whose calls finish when the test says so. */
function fake() {
  const log: string[] = [];
  const pending: Array<() => void> = [];
  const wait = () => new Promise<void>((r) => pending.push(r));
  const batcher = new CallBatcher<string, string>({
    single: async (req) => {
      log.push(`single ${req} as ${currentRequestId() ?? "-"}`);
      await wait();
      if (req === "bad") throw new ConnectError("refused", Code.InvalidArgument);
      return `ok ${req}`;
    },
    batch: async (reqs, ids): Promise<Array<BatchOutcome<string>>> => {
      log.push(`batch ${reqs.join(",")} as ${ids.join(",")}`);
      await wait();
      if (reqs.includes("down")) throw new ConnectError("NameNode down", Code.Unavailable);
      return reqs.map((r) => (r === "bad" ? { code: Code.AlreadyExists, message: `${r} exists` } : { code: 0, message: "", answer: `ok ${r}` }));
    },
  });
  const release = async () => {
    await new Promise((r) => setImmediate(r));
    pending.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { log, batcher, release };
}

describe("CallBatcher", () => {
  it("sends the calls of one turn together, those queued while it is in flight in the next, a lone call as itself; each with its own outcome and request id", async () => {
    const { log, batcher, release } = fake();
    const firstTurn = ["a", "b"].map((req, i) => withRequestId(`r${i + 1}`, () => batcher.call(req)));
    await new Promise((r) => setImmediate(r));
    const queued = ["c", "bad", "d"].map((req, i) => withRequestId(`r${i + 3}`, () => batcher.call(req)));
    const outcomes = Promise.allSettled(queued);
    await release();
    await expect(Promise.all(firstTurn)).resolves.toEqual(["ok a", "ok b"]);
    await release();
    const [c, bad, d] = await outcomes;
    expect(c).toEqual({ status: "fulfilled", value: "ok c" });
    expect(d).toEqual({ status: "fulfilled", value: "ok d" });
    expect(bad).toMatchObject({ status: "rejected", reason: { code: Code.AlreadyExists } });
    expect(log).toEqual(["batch a,b as r1,r2", "batch c,bad,d as r3,r4,r5"]);
    // The line is free again: a call alone in its turn goes as itself, under its own id.
    const next = withRequestId("r9", () => batcher.call("e"));
    await release();
    await expect(next).resolves.toBe("ok e");
    expect(log.at(-1)).toBe("single e as r9");
  });

  it("sends a single queued call as itself under its request id, fails every call of a failed batch, and lets an aborted caller go", async () => {
    const { log, batcher, release } = fake();
    const first = batcher.call("a");
    await new Promise((r) => setImmediate(r));
    const alone = withRequestId("r2", () => batcher.call("b"));
    await release();
    await first;
    await release();
    await expect(alone).resolves.toBe("ok b");
    expect(log).toEqual(["single a as -", "single b as r2"]);

    const head = batcher.call("x");
    await new Promise((r) => setImmediate(r));
    const abort = new AbortController();
    const aborted = batcher.call("y", abort.signal);
    const failing = [batcher.call("down"), batcher.call("z")].map((p) => p.catch((err: ConnectError) => err.code));
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: Code.Canceled });
    await release();
    await head;
    await release();
    expect(await Promise.all(failing)).toEqual([Code.Unavailable, Code.Unavailable]);
    // The aborted call was taken out of the queue before it was sent.
    expect(log.at(-1)).toBe("batch down,z as ,");
    await expect(batcher.call("w", AbortSignal.abort())).rejects.toMatchObject({ code: Code.Canceled });
  });
});
