import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ChunkPlanSchema, FileInfoSchema, type ChunkPlan } from "@trainfs/proto";
import { ChunkWriteError } from "./chain-failure.js";
import { writeFile, type ChunkSender, type WriteCalls } from "./file-writer.js";

function plan(chunkId: string, chain: string[], index = 0): ChunkPlan {
  return create(ChunkPlanSchema, {
    chunkId,
    index,
    offset: BigInt(index * 5),
    length: 5n,
    chain: chain.map((address) => ({ datanodeId: `id-${address}`, address })),
    accessToken: "t",
  });
}

/** A NameNode that plans `chunks` and records every call; ReplaceChain gives the chain `next()` returns. */
function nameNode(chunks: ChunkPlan[], next: (failed: string[]) => string[]) {
  const log: Array<{ call: string; req?: unknown }> = [];
  const calls: WriteCalls = {
    putFile: async (req) => (log.push({ call: "putFile", req }), { uploadId: "u", leaseMs: 60_000, chunkSize: 5n, chunks } as never),
    addChunk: async (req) => (log.push({ call: "addChunk", req }), { chunk: plan("c-added", ["a"]) } as never),
    replaceChain: async (req) => {
      log.push({ call: "replaceChain", req });
      return { chunk: plan(req.chunkId!, next([...(req.failedDatanodeIds ?? [])])) } as never;
    },
    renewLease: async () => ({}),
    confirmFile: async (req) => (log.push({ call: "confirmFile", req }), { file: create(FileInfoSchema, { path: req.path, size: 5n }) } as never),
    abandonFile: async (req) => (log.push({ call: "abandonFile", req }), {}),
  };
  return { calls, log, names: () => log.map((l) => l.call) };
}

/** A sender that fails when the chain's head is in `down` (as unreachable), or as `fail` says. */
function sender(opts: { down?: string[]; fail?: (plan: ChunkPlan) => ChunkWriteError | undefined } = {}): ChunkSender & { heads: string[] } {
  const heads: string[] = [];
  return {
    heads,
    async send(p, { onBytes }) {
      const head = p.chain[0]!.address;
      heads.push(head);
      if (opts.down?.includes(head)) throw new ChunkWriteError("unavailable", `datanode ${head} unreachable`, head);
      const failure = opts.fail?.(p);
      if (failure) throw failure;
      onBytes(5);
      return { chunkId: p.chunkId, length: 5, checksum: 7, receipts: [] };
    },
  };
}

describe("the write driver", () => {
  it("asks for a chain without a head DataNode that is down, and confirms", async () => {
    const nn = nameNode([plan("c0", ["a", "b"])], () => ["b", "c"]);
    const s = sender({ down: ["a"] });
    const progress: number[] = [];
    const file = await writeFile(nn.calls, { size: 5, sender: s, concurrency: 1 }, "/f", { onProgress: (done) => progress.push(done) });
    expect(file.path).toBe("/f");
    expect(s.heads).toEqual(["a", "b"]);
    expect(nn.names()).toEqual(["putFile", "replaceChain", "confirmFile"]);
    expect(nn.log[1]!.req).toMatchObject({ chunkId: "c0", failedDatanodeIds: ["id-a"], suspectDatanodeIds: [] });
    expect(progress.at(-1)).toBe(5);
  });

  it("leaves out a node that refuses with already_exists (it holds the chunk finalized)", async () => {
    const nn = nameNode([plan("c0", ["a", "b"])], () => ["c", "d"]);
    const s = sender({ fail: (p) => (p.chain[0]!.address === "a" ? new ChunkWriteError("already_exists", "chunk exists on b", "b", { named: true }) : undefined) });
    await writeFile(nn.calls, { size: 5, sender: s, concurrency: 1 }, "/f", {});
    expect(nn.log[1]!.req).toMatchObject({ failedDatanodeIds: ["id-b"] });
  });

  it("names the whole chain suspect when no node is to blame (a stall)", async () => {
    let first = true;
    const nn = nameNode([plan("c0", ["a", "b"])], () => ["c"]);
    const s = sender({ fail: () => (first ? ((first = false), new ChunkWriteError("unavailable", "stalled", undefined)) : undefined) });
    await writeFile(nn.calls, { size: 5, sender: s, concurrency: 1 }, "/f", {});
    expect(nn.log[1]!.req).toMatchObject({ failedDatanodeIds: [], suspectDatanodeIds: ["id-a", "id-b"] });
  });

  it("gives up after three new chains and abandons the write", async () => {
    const nn = nameNode([plan("c0", ["a"])], () => ["a"]);
    const err = await writeFile(nn.calls, { size: 5, sender: sender({ down: ["a"] }), concurrency: 1 }, "/f", {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "unavailable" });
    expect(nn.names()).toEqual(["putFile", "replaceChain", "replaceChain", "replaceChain", "abandonFile"]);
  });

  it("abandons at once on a failure no new chain can help (the source changed)", async () => {
    const nn = nameNode([plan("c0", ["a"])], () => ["b"]);
    const s = sender({ fail: () => new ChunkWriteError("aborted", "the source changed", undefined) });
    await expect(writeFile(nn.calls, { size: 5, sender: s, concurrency: 1 }, "/f", {})).rejects.toMatchObject({ code: "aborted" });
    expect(nn.names()).toEqual(["putFile", "abandonFile"]);
  });

  it("plans chunks of unknown-size bodies with AddChunk as they come, and confirms them with their receipts", async () => {
    const nn = nameNode([], () => []);
    const s = sender();
    await writeFile(
      nn.calls,
      {
        size: undefined,
        chunks: async function* () {
          yield { length: 5, sender: s };
          yield { length: 3, sender: s };
        },
      },
      "/f",
      {},
    );
    expect(nn.names()).toEqual(["putFile", "addChunk", "addChunk", "confirmFile"]);
    expect(nn.log[0]!.req).toMatchObject({ unknownSize: true });
    expect(nn.log[2]!.req).toMatchObject({ length: 3n });
  });
});
