import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ClientService } from "@trainfs/proto";
import { ChunkWriteError, RpcClients, TrainfsError, sendChunk, type SentChunk } from "@trainfs/common";
import type { ChunkPlan } from "@trainfs/proto";
import { generateSecurity } from "../src/index.js";
import { chunkLocations, cluster, rejection } from "./helpers.js";

const send = (rpc: RpcClients, plan: ChunkPlan, bytes: Buffer): Promise<SentChunk> =>
  sendChunk(rpc.dataNode(plan.chain[0]!.address), async function* (start, end) {
    yield bytes.subarray(start, end);
  }, plan, {});

describe("stored chunks are immutable, and write-pipeline recovery copes", () => {
  it("a chain that reaches a node already holding the chunk fails there, naming it; a new chain without it completes the write", async () => {
    const security = generateSecurity();
    const c = await cluster({ security, dataNodes: 4 });
    const rpc = new RpcClients({ token: security.clientToken });
    try {
      const nn = rpc.client(ClientService, c.nameNodeAddress);
      const bytes = randomBytes(50_000);
      const started = await nn.putFile({ path: "/f", size: BigInt(bytes.length), replication: 2, chunkSize: BigInt(bytes.length) });
      const plan = started.chunks[0]!;
      // The chain's second node installed the chunk in an earlier attempt (its upstream failed after it answered).
      await send(rpc, { ...plan, chain: [plan.chain[1]!] }, bytes);
      const err = await rejection(send(rpc, plan, bytes));
      expect(err).toBeInstanceOf(ChunkWriteError);
      expect((err as ChunkWriteError).code).toBe("already_exists");
      expect((err as ChunkWriteError).failedAddress).toBe(plan.chain[1]!.address);
      // The head forwarded the header, was refused below, and kept nothing.
      expect(await c.chunkFiles(c.dataNodeAddresses().indexOf(plan.chain[0]!.address))).toEqual([]);

      const replaced = (await nn.replaceChain({ path: "/f", uploadId: started.uploadId, chunkId: plan.chunkId, failedDatanodeIds: [plan.chain[1]!.datanodeId] })).chunk!;
      expect(replaced.chain.map((n) => n.datanodeId)).not.toContain(plan.chain[1]!.datanodeId);
      const sent = await send(rpc, replaced, bytes);
      await nn.confirmFile({ path: "/f", uploadId: started.uploadId, chunks: [{ chunkId: plan.chunkId, length: BigInt(bytes.length), checksum: sent.checksum }], receipts: sent.receipts });
      expect((await c.client().readFile("/f")).equals(bytes)).toBe(true);
    } finally {
      rpc.close();
    }
  });

  it("the SDK leaves a node that answers AlreadyExists out of the next chain, and the put succeeds", async () => {
    const c = await cluster({ dataNodes: 4 });
    // Whichever node a chain reaches first answers as one already holding the chunk would.
    let refusedBy: string | undefined;
    for (let i = 0; i < 4; i++) {
      const node = c.dataNode(i);
      const store = node.store as unknown as { refuseIfHeld(chunkId: string): void };
      const real = store.refuseIfHeld.bind(store);
      store.refuseIfHeld = (chunkId) => {
        if (refusedBy === undefined) {
          refusedBy = node.address;
          throw new TrainfsError("already_exists", `chunk ${chunkId} is already stored on this DataNode`);
        }
        real(chunkId);
      };
    }
    const bytes = randomBytes(30_000);
    await c.client().writeFile("/g", bytes, { replication: 3 });
    expect(refusedBy).toBeDefined();
    expect((await c.client().readFile("/g")).equals(bytes)).toBe(true);
    const [chunk] = await chunkLocations(c, "/g");
    expect(chunk!.replicas).toHaveLength(3);
    expect(chunk!.replicas).not.toContain(refusedBy);
  });
});
