import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService, ClientService, DataNodeProtocolService, DataNodeService, WriteChunkRequestSchema, type ChunkPlan, type WriteChunkRequest } from "@trainfs/proto";
import { ChunkTokens, FAILED_DATANODE_HEADER, RpcClients, crc32Of, dataNodeCredential, sendChunk } from "@trainfs/common";
import { generateSecurity, type MiniCluster } from "../src/index.js";
import { cluster, eventually, flipReplicaByte, replicaBytes } from "./helpers.js";

/**
 * Attacks on a secure cluster: who may call what on the NameNode, what a
 * DataNode accepts, and the two holes closed by the split of the NameNode's
 * services (a client's ReportBadChunks could condemn good replicas; a write
 * token could rewrite a confirmed chunk).
 */

const READ_ONLY = "read-only-token-0123456789";

/** The Connect code a call ends with, or "ok". */
async function outcome(p: Promise<unknown> | AsyncIterable<unknown>): Promise<Code | "ok"> {
  try {
    if (Symbol.asyncIterator in p) for await (const _ of p) void _;
    else await p;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** Calls every method of a NameNode service over the wire with an empty request. */
async function callEach(rpc: RpcClients, service: DescService, address: string): Promise<Array<{ method: DescMethod; code: Code | "ok" }>> {
  const client = rpc.client(service, address) as unknown as Record<string, (req: object) => Promise<unknown> | AsyncIterable<unknown>>;
  const out = [];
  for (const method of service.methods) out.push({ method, code: await outcome(client[method.localName]!({})) });
  return out;
}

const named = (results: Array<{ method: DescMethod; code: Code | "ok" }>) => Object.fromEntries(results.map((r) => [r.method.name, r.code === "ok" ? "ok" : Code[r.code]]));

async function* chunkStream(chunkId: string, bytes: Uint8Array, accessToken: string, downstream: ChunkPlan["chain"] = []): AsyncGenerator<WriteChunkRequest> {
  yield create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId, length: BigInt(bytes.length), accessToken, downstream } } });
  yield create(WriteChunkRequestSchema, { part: { case: "data", value: bytes } });
  yield create(WriteChunkRequestSchema, { part: { case: "footer", value: { checksum: crc32Of(bytes) } } });
}

function nodeIndex(c: MiniCluster, address: string): number {
  const i = c.dataNodeAddresses().indexOf(address);
  if (i < 0) throw new Error(`no running DataNode at ${address}`);
  return i;
}

/** Quarantined copies on a node's disk, in either format: `.corrupt` files and quarantined packed records. */
async function quarantinedFiles(c: MiniCluster, node: number): Promise<string[]> {
  const root = join(c.dataNodeDir(node), "chunks");
  const out: string[] = [];
  for (const prefix of await readdir(root)) out.push(...(await readdir(join(root, prefix))).filter((n) => n.endsWith(".corrupt")));
  for (const [chunkId, r] of await c.packedRecords(node)) if (r.state === "quarantined") out.push(`${chunkId} (packed)`);
  return out;
}

/**
 * Writes a one-chunk file through the raw protocol and confirms it, keeping
 * what its writer held: the plan and its write token.
 */
async function confirmedFile(c: MiniCluster, rpc: RpcClients, path: string, bytes: Buffer, replication = 3): Promise<ChunkPlan> {
  const nn = rpc.client(ClientService, c.nameNodeAddress);
  const started = await nn.putFile({ path, size: BigInt(bytes.length), replication, chunkSize: BigInt(bytes.length) });
  const plan = started.chunks[0]!;
  const sent = await sendChunk(rpc.dataNode(plan.chain[0]!.address), async function* (start, end) {
    yield bytes.subarray(start, end);
  }, plan, {});
  await nn.confirmFile({ path, uploadId: started.uploadId, chunks: [{ chunkId: plan.chunkId, length: BigInt(bytes.length), checksum: sent.checksum }], receipts: sent.receipts });
  return plan;
}

async function secureCluster(options: { dataNodes?: number; heartbeatIntervalMs?: number; heartbeatTimeoutMs?: number } = {}) {
  const security = generateSecurity();
  security.apiTokens.push(`ro:${READ_ONLY}`);
  const c = await cluster({ security, ...options });
  const rpc = new RpcClients({ token: security.clientToken });
  return { c, security, rpc, close: () => rpc.close() };
}

describe("attacks on a secure cluster", () => {
  it("admits to each NameNode method exactly the callers its service and idempotency allow", async () => {
    const { c, security, close } = await secureCluster();
    const services = [ClientService, AdminService, DataNodeProtocolService] as DescService[];
    const anonymous = new RpcClients();
    const wrong = new RpcClients({ token: "no-such-token-0123456789" });
    const readOnly = new RpcClients({ token: READ_ONLY });
    const client = new RpcClients({ token: security.clientToken });
    const dataNode = new RpcClients({ token: dataNodeCredential(security.clusterSecret) });
    try {
      for (const service of services) {
        const all = (code: Code) => Object.fromEntries(service.methods.map((m) => [m.name, Code[code]]));
        expect(named(await callEach(anonymous, service, c.nameNodeAddress)), `${service.name} without a token`).toEqual(all(Code.Unauthenticated));
        expect(named(await callEach(wrong, service, c.nameNodeAddress)), `${service.name} with an unknown token`).toEqual(all(Code.Unauthenticated));
      }
      for (const service of [ClientService, AdminService] as DescService[]) {
        // A read-only token: refused exactly where the method declares side effects.
        for (const { method, code } of await callEach(readOnly, service, c.nameNodeAddress)) {
          const readOnlyMethod = method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
          if (readOnlyMethod) expect([Code.Unauthenticated, Code.PermissionDenied], `${method.name} with a read-only token`).not.toContain(code);
          else expect(code, `${method.name} with a read-only token`).toBe(Code.PermissionDenied);
        }
        // The DataNodes' credential is no API token.
        expect(named(await callEach(dataNode, service, c.nameNodeAddress)), `${service.name} with the DataNode credential`).toEqual(
          Object.fromEntries(service.methods.map((m) => [m.name, Code[Code.PermissionDenied]])),
        );
      }
      // An API token, read-write or read-only, is no DataNode credential.
      for (const [who, rpc] of [["read-write", client], ["read-only", readOnly]] as const) {
        expect(named(await callEach(rpc, DataNodeProtocolService, c.nameNodeAddress)), `DataNodeProtocolService with a ${who} token`).toEqual(
          Object.fromEntries(DataNodeProtocolService.methods.map((m) => [m.name, Code[Code.PermissionDenied]])),
        );
      }
      // The split left no method without a declared access rule: at least one read-only method in each client-facing service.
      expect(ClientService.methods.some((m) => m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS)).toBe(true);
      expect(AdminService.methods.some((m) => m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS)).toBe(true);
    } finally {
      for (const r of [anonymous, wrong, readOnly, client, dataNode]) r.close();
      close();
    }
  });

  it("refuses bad chunk tokens at every DataNode entry point, writing nothing", async () => {
    const { c, security, rpc, close } = await secureCluster();
    try {
      const nn = rpc.client(ClientService, c.nameNodeAddress);
      const bytes = randomBytes(3000);
      // A chunk planned but not written: the target of the write attempts.
      const started = await nn.putFile({ path: "/w", size: BigInt(bytes.length), replication: 1, chunkSize: 4096n });
      const plan = started.chunks[0]!;
      const node = nodeIndex(c, plan.chain[0]!.address);
      const others = c.dataNodeAddresses().map((_, i) => c.dataNode(i).id).filter((id) => id !== plan.chain[0]!.datanodeId);
      const forger = new ChunkTokens("a-secret-the-cluster-does-not-have-0123", 60_000);
      const expired = new ChunkTokens(security.clusterSecret, 60_000, () => Date.now() - 120_000);
      const genuine = new ChunkTokens(security.clusterSecret, 60_000);
      const scope = { attempt: started.uploadId, datanodeIds: plan.chain.map((n) => n.datanodeId) };
      const badWriteTokens: Record<string, string> = {
        forged: forger.issue(plan.chunkId, "write", scope),
        expired: expired.issue(plan.chunkId, "write", scope),
        "another chunk's": genuine.issue("ab".repeat(16), "write", scope),
        "a read token": genuine.issue(plan.chunkId, "read"),
        "for other DataNodes": genuine.issue(plan.chunkId, "write", { attempt: started.uploadId, datanodeIds: others }),
      };
      const address = plan.chain[0]!.address;
      const connect = rpc.client(DataNodeService, address);
      const transfer = rpc.dataNode(address);
      for (const [what, token] of Object.entries(badWriteTokens)) {
        expect(await outcome(connect.writeChunk(chunkStream(plan.chunkId, bytes, token))), `WriteChunk (Connect), ${what}`).toBe(Code.PermissionDenied);
        expect(await outcome(transfer.writeChunk(chunkStream(plan.chunkId, bytes, token))), `WriteChunk (data transfer), ${what}`).toBe(Code.PermissionDenied);
        const part = connect.writeChunkPart({
          chunkId: plan.chunkId, uploadSession: "session-0001", length: BigInt(bytes.length), offset: 0n, data: bytes, last: true, checksum: crc32Of(bytes), accessToken: token,
        });
        expect(await outcome(part), `WriteChunkPart, ${what}`).toBe(Code.PermissionDenied);
      }
      expect(await c.chunkFiles(node)).toEqual([]);
      expect(await readdir(join(c.dataNodeDir(node), "tmp"))).toEqual([]);
      expect(c.dataNode(node).partUploads.openCount).toBe(0);

      // Reads of a stored chunk.
      const stored = await confirmedFile(c, rpc, "/r", randomBytes(5000), 1);
      const holder = rpc.client(DataNodeService, stored.chain[0]!.address);
      const holderTransfer = rpc.dataNode(stored.chain[0]!.address);
      const badReadTokens: Record<string, string> = {
        forged: forger.issue(stored.chunkId, "read"),
        expired: expired.issue(stored.chunkId, "read"),
        "another chunk's": genuine.issue(plan.chunkId, "read"),
        "a write token": stored.accessToken,
        none: "",
      };
      for (const [what, token] of Object.entries(badReadTokens)) {
        expect(await outcome(holder.readChunk({ chunkId: stored.chunkId, accessToken: token })), `ReadChunk (Connect), ${what}`).toBe(Code.PermissionDenied);
        expect(await outcome(holderTransfer.readChunk({ chunkId: stored.chunkId, accessToken: token })), `ReadChunk (data transfer), ${what}`).toBe(Code.PermissionDenied);
      }
      // The genuine read token works on both: the refusals above were the tokens'.
      const readToken = (await nn.getFile({ path: "/r" })).chunks[0]!.accessToken;
      expect(await outcome(holder.readChunk({ chunkId: stored.chunkId, accessToken: readToken }))).toBe("ok");
      expect(await outcome(holderTransfer.readChunk({ chunkId: stored.chunkId, accessToken: readToken }))).toBe("ok");
    } finally {
      close();
    }
  });

  it("hole 1: a client's ReportBadChunks never condemns good replicas; the DataNodes verify them and find them good", async () => {
    // The flood shares this process's event loop with every server: a generous
    // heartbeat timeout keeps a delayed heartbeat from passing for a dead node.
    const { c, rpc, close } = await secureCluster({ heartbeatTimeoutMs: 20_000 });
    const readOnly = new RpcClients({ token: READ_ONLY });
    try {
      const bytes = randomBytes(200_000);
      const plan = await confirmedFile(c, rpc, "/healthy", bytes);
      const holders = plan.chain.map((n) => nodeIndex(c, n.address));
      const before = await Promise.all(holders.map((i) => replicaBytes(c, i, plan.chunkId)));
      const report = { replicas: plan.chain.map((n) => ({ chunkId: plan.chunkId, datanodeId: n.datanodeId, reason: "I say so" })) };

      expect(await outcome(readOnly.client(ClientService, c.nameNodeAddress).reportBadChunks(report))).toBe(Code.PermissionDenied);

      // A read-write token, a thousand times: each replica is asked to be verified once.
      const nn = rpc.client(ClientService, c.nameNodeAddress);
      let requested = 0;
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(Array.from({ length: 100 }, () => nn.reportBadChunks(report)));
        requested += answers.reduce((n, a) => n + a.verificationsRequested, 0);
      }
      expect(requested).toBeGreaterThanOrEqual(1);
      expect(requested).toBeLessThanOrEqual(3);
      // Every holder verified its replica (read it through against the record) and found it good.
      await eventually(() => {
        for (const i of holders) expect(c.dataNode(i).scrubber.requestedResults, `DataNode ${i}`).toEqual({ good: 1, bad: 0 });
      });
      const fsck = await c.client().fsck("/healthy");
      expect(fsck.files[0]!.chunks.map((ch) => ch.health)).toEqual(["healthy"]);
      expect(fsck.files[0]!.chunks[0]!.liveReplicas.sort()).toEqual(plan.chain.map((n) => n.address).sort());
      expect(fsck.files[0]!.chunks[0]!.corruptReplicas).toEqual([]);
      expect((await c.client().clusterStatus()).corruptReplicas).toBe(0);
      expect((await c.client().readFile("/healthy")).equals(bytes)).toBe(true);
      for (const [k, i] of holders.entries()) {
        expect((await replicaBytes(c, i, plan.chunkId)).equals(before[k]!), `replica on DataNode ${i} unchanged`).toBe(true);
        expect(await quarantinedFiles(c, i)).toEqual([]);
      }
    } finally {
      readOnly.close();
      close();
    }
  });

  it("hole 1: a replica really damaged and then suspected is found bad by its DataNode, quarantined, reported and repaired", async () => {
    // Heartbeats every 500 ms: the repair takes several of them (verify, trash, copy), so fsck is seen unhealthy in between.
    const { c, rpc, close } = await secureCluster({ heartbeatIntervalMs: 500 });
    try {
      const bytes = randomBytes(200_000);
      const plan = await confirmedFile(c, rpc, "/damaged", bytes);
      const holders = plan.chain.map((n) => nodeIndex(c, n.address));
      // The scrubber of a node started with no chunks sleeps a minute before its
      // first pass, so the damage below is found by the verification asked for.
      const victim = holders[1]!;
      await flipReplicaByte(c, victim, plan.chunkId, 123_456);
      await rpc.client(ClientService, c.nameNodeAddress).reportBadChunks({
        replicas: [{ chunkId: plan.chunkId, datanodeId: plan.chain[1]!.datanodeId, reason: "checksum mismatch on arrival" }],
      });
      // Counted once the DataNode has quarantined it and reported it to the NameNode.
      await eventually(() => expect(c.dataNode(victim).scrubber.requestedResults).toEqual({ good: 0, bad: 1 }));
      const unhealthy = (await c.client().fsck("/damaged")).files[0]!.chunks[0]!;
      expect(unhealthy.health).not.toBe("healthy");
      expect(unhealthy.liveReplicas).not.toContain(c.dataNodeAddress(victim));
      // The other holders were not asked and verified nothing.
      for (const i of holders.filter((i) => i !== victim)) expect(c.dataNode(i).scrubber.requestedResults).toEqual({ good: 0, bad: 0 });
      await eventually(async () => {
        const chunk = (await c.client().fsck("/damaged")).files[0]!.chunks[0]!;
        expect(chunk.health).toBe("healthy");
        expect(chunk.corruptReplicas).toEqual([]);
        expect(await quarantinedFiles(c, victim)).toEqual([]);
      }, 30_000);
      expect((await c.client().readFile("/damaged")).equals(bytes)).toBe(true);
    } finally {
      close();
    }
  });

  it("hole 2: a confirmed chunk cannot be rewritten, even with its writer's own valid token, on any entry point", async () => {
    const { c, rpc, close } = await secureCluster();
    try {
      const bytes = randomBytes(100_000);
      const plan = await confirmedFile(c, rpc, "/immutable", bytes);
      const holders = plan.chain.map((n) => nodeIndex(c, n.address));
      const before = await Promise.all(holders.map((i) => replicaBytes(c, i, plan.chunkId)));
      const other = randomBytes(bytes.length); // same length, other bytes
      for (const location of plan.chain) {
        const connect = rpc.client(DataNodeService, location.address);
        const attempts: Record<string, () => Promise<unknown>> = {
          "WriteChunk (Connect)": () => connect.writeChunk(chunkStream(plan.chunkId, other, plan.accessToken)),
          "WriteChunk (data transfer)": () => rpc.dataNode(location.address).writeChunk(chunkStream(plan.chunkId, other, plan.accessToken)),
          WriteChunkPart: () => connect.writeChunkPart({
            chunkId: plan.chunkId, uploadSession: "rewrite-0001", length: BigInt(other.length), offset: 0n, data: other, last: true, checksum: crc32Of(other), accessToken: plan.accessToken,
          }),
        };
        for (const [what, attempt] of Object.entries(attempts)) {
          const err = ConnectError.from(await attempt().then(() => new Error(`${what} to ${location.address} succeeded`), (e: unknown) => e));
          expect(err.code, `${what} to ${location.address}: ${err.message}`).toBe(Code.AlreadyExists);
          // Refused by that node itself, named as where the write failed.
          expect(err.metadata.get(FAILED_DATANODE_HEADER), what).toBe(location.address);
        }
      }
      // A chain led by a holder is refused at its header, before anything is forwarded.
      const chained = ConnectError.from(
        await rpc.dataNode(plan.chain[0]!.address).writeChunk(chunkStream(plan.chunkId, other, plan.accessToken, plan.chain.slice(1))).catch((e: unknown) => e),
      );
      expect([chained.code, chained.metadata.get(FAILED_DATANODE_HEADER)]).toEqual([Code.AlreadyExists, plan.chain[0]!.address]);

      for (const [k, i] of holders.entries()) {
        expect((await replicaBytes(c, i, plan.chunkId)).equals(before[k]!), `replica on DataNode ${i} unchanged`).toBe(true);
        expect(await readdir(join(c.dataNodeDir(i), "tmp"))).toEqual([]);
      }
      expect((await c.client().readFile("/immutable")).equals(bytes)).toBe(true);
      const fsck = await c.client().fsck("/immutable");
      expect(fsck.files[0]!.chunks[0]!.health).toBe("healthy");
    } finally {
      close();
    }
  });

  it("fsck stops counting a replica that failed verification on a read, and repair follows", async () => {
    const { c, rpc, close } = await secureCluster({ dataNodes: 4 });
    try {
      const bytes = randomBytes(300_000);
      await c.client({ chunkSize: 1024 * 1024 }).writeFile("/read", bytes);
      const located = (await rpc.client(ClientService, c.nameNodeAddress).getFile({ path: "/read" })).chunks[0]!;
      const holders = located.replicas.map((r) => nodeIndex(c, r.address));
      // The replica a reader tries first (the scrubbers' first pass is a minute away).
      const first = holders[0]!;
      await flipReplicaByte(c, first, located.chunkId, 200_000);
      // The read succeeds from another replica.
      expect((await c.client().readFile("/read")).equals(bytes)).toBe(true);
      // The DataNode condemned its replica (reported before the read failed over), so fsck no longer counts it.
      const after = (await c.client().fsck("/read")).files[0]!.chunks[0]!;
      expect(after.liveReplicas).not.toContain(c.dataNodeAddress(first));
      await eventually(async () => {
        const chunk = (await c.client().fsck("/read")).files[0]!.chunks[0]!;
        expect(chunk.health).toBe("healthy");
        expect(chunk.liveReplicas).toHaveLength(3);
        expect(chunk.liveReplicas).not.toContain(c.dataNodeAddress(first));
      }, 30_000);
      expect((await c.client().readFile("/read")).equals(bytes)).toBe(true);
    } finally {
      close();
    }
  });
});
