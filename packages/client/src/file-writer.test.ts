import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { ChunkPlanSchema, type ChunkPlan, type DataNodeService, type ClientService, type WriteChunkRequest } from "@trainfs/proto";
import { FAILED_DATANODE_HEADER } from "@trainfs/core";
import { writeFile } from "./file-writer.js";

const CHUNK_ID = "ab".repeat(16);

function plan(token: string, chain: string[]): ChunkPlan {
  return create(ChunkPlanSchema, {
    chunkId: CHUNK_ID,
    index: 0,
    offset: 0n,
    length: 5n,
    chain: chain.map((address, i) => ({ datanodeId: `dn-${i}`, address })),
    accessToken: token,
  });
}

describe("the SDK's write path", () => {
  it("asks for a new chain, blaming no node, when a DataNode refuses an expired chunk token", async () => {
    const calls: string[] = [];
    const replaced: unknown[] = [];
    const namenode = {
      putFile: async () => ({ uploadId: "u1", leaseMs: 60_000, chunkSize: 5n, chunks: [plan("stale", ["http://dn-a", "http://dn-b"])] }),
      renewLease: async () => ({}),
      replaceChain: async (req: unknown) => {
        replaced.push(req);
        return { chunk: plan("fresh", ["http://dn-a", "http://dn-b"]) };
      },
      confirmFile: async () => ({ file: { path: "/f", type: 1, size: 5n, replication: 2, chunkSize: 5n, modifiedMs: 0n } }),
      abandonFile: async () => ({}),
    } as unknown as Client<typeof ClientService>;
    const datanodeAt = (address: string) =>
      ({
        async writeChunk(requests: AsyncIterable<WriteChunkRequest>) {
          let token = "";
          const data: Buffer[] = [];
          for await (const r of requests) {
            if (r.part.case === "header") token = r.part.value.accessToken;
            if (r.part.case === "data") data.push(Buffer.from(r.part.value));
          }
          calls.push(`${address} ${token}`);
          if (token !== "fresh") {
            const err = new ConnectError(`datanode ${address}: chunk access token expired`, Code.PermissionDenied);
            err.metadata.set(FAILED_DATANODE_HEADER, address);
            throw err;
          }
          const bytes = Buffer.concat(data);
          return { chunk: { chunkId: CHUNK_ID, length: BigInt(bytes.length), checksum: crc32(bytes) >>> 0 }, storedOn: ["dn-0", "dn-1"] };
        },
      }) as unknown as Client<typeof DataNodeService>;

    const file = await writeFile(
      { namenode, datanodeAt, putFile: (req) => namenode.putFile(req), confirmFile: (req) => namenode.confirmFile(req) },
      Buffer.from("hello"),
      "/f",
      {},
    );
    expect(file.size).toBe(5);
    expect(calls).toEqual(["http://dn-a stale", "http://dn-a fresh"]);
    // The refusal is about the token, not the nodes: none is named failed or suspect.
    expect(replaced).toEqual([expect.objectContaining({ chunkId: CHUNK_ID, failedDatanodeIds: [], suspectDatanodeIds: [] })]);
  });
});
