import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { ChunkPlanSchema, FileInfoSchema, type ChunkPlan, type ClientService, type DataNodeService, type WriteChunkPartRequest } from "@trainfs/proto";
import { crc32Update } from "@trainfs/core";
import { webWriteFile } from "./web-writer.js";

function plan(chain: string[]): ChunkPlan {
  return create(ChunkPlanSchema, { chunkId: "c0", index: 0, offset: 0n, length: 5n, chain: chain.map((address) => ({ datanodeId: `id-${address}`, address })), accessToken: "t" });
}

describe("the browser SDK's write path", () => {
  it("asks for a new chain when the first DataNode is down, as the Node SDK does, and makes no stat after ConfirmFile", async () => {
    const calls: string[] = [];
    const replaced: unknown[] = [];
    const namenode = {
      putFile: async () => (calls.push("putFile"), { uploadId: "u1", leaseMs: 60_000, chunkSize: 5n, chunks: [plan(["http://dn-a", "http://dn-b"])] }),
      renewLease: async () => ({}),
      replaceChain: async (req: unknown) => (calls.push("replaceChain"), replaced.push(req), { chunk: plan(["http://dn-b", "http://dn-c"]) }),
      confirmFile: async () => (calls.push("confirmFile"), { file: create(FileInfoSchema, { path: "/f", size: 5n }) }),
      abandonFile: async () => (calls.push("abandonFile"), {}),
      stat: async () => (calls.push("stat"), {}),
    } as unknown as Client<typeof ClientService>;
    const datanodeAt = (address: string) =>
      ({
        async writeChunkPart(req: WriteChunkPartRequest) {
          calls.push(`writeChunkPart ${address}`);
          // What fetch to a stopped DataNode gives: no answer, so no trainfs-failed-datanode header.
          if (address === "http://dn-a") throw new ConnectError("fetch failed", Code.Unavailable);
          return { chunk: { chunkId: req.chunkId, length: req.length, checksum: crc32Update(req.data) } };
        },
      }) as unknown as Client<typeof DataNodeService>;

    const file = await webWriteFile({ namenode, datanodeAt, partSize: 1024, concurrency: 1, headers: {} }, new TextEncoder().encode("hello"), "/f", {});
    expect(file.path).toBe("/f");
    expect(calls).toEqual(["putFile", "writeChunkPart http://dn-a", "replaceChain", "writeChunkPart http://dn-b", "confirmFile"]);
    expect(replaced).toEqual([expect.objectContaining({ chunkId: "c0", failedDatanodeIds: ["id-http://dn-a"] })]);
  });
});
