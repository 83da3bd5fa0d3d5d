import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService, ClientService, DataNodeProtocolService, DataNodeService, WriteChunkRequestSchema } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { join } from "node:path";
import { randomFile } from "../src/index.js";
import { cluster, eventually, rejection, workDir } from "./helpers.js";

/** Raw RPCs, as a buggy or hostile client would send them. */
describe("the wire protocol at its edges", () => {
  async function setup() {
    const c = await cluster();
    const rpc = new RpcClients();
    return {
      c,
      nn: rpc.client(ClientService, c.nameNodeAddress),
      admin: rpc.client(AdminService, c.nameNodeAddress),
      /** The NameNode's DataNode protocol, as a DataNode calls it. */
      dnp: rpc.client(DataNodeProtocolService, c.nameNodeAddress),
      dn: rpc.client(DataNodeService, c.dataNodeAddress(0)),
      close: () => rpc.close(),
    };
  }
  const code = async (p: Promise<unknown>) => ConnectError.from(await rejection(p)).code;
  /** The NameNode's count of successful calls of each method, from its /metrics. */
  const okCalls = async (address: string) => {
    const metrics = await (await fetch(`${address}/metrics`)).text();
    return (method: string) => Number(new RegExp(`trainfs_rpc_requests_total\\{method="${method}",code="ok"[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  };

  it("keeps a file that was never confirmed invisible", async () => {
    const { c, nn, close } = await setup();
    const started = await nn.putFile({ path: "/pending/file", size: 10n, replication: 3, chunkSize: 1024n });
    expect(started.chunks).toHaveLength(1);
    expect(await code(nn.getFile({ path: "/pending/file" }))).toBe(Code.NotFound);
    expect((await nn.list({ path: "/pending" })).entries).toEqual([]);
    expect((await rejection(c.client().list("/pending/file"))).code).toBe("not_found");
    // A confirm without the replicas' commits is refused and the file stays invisible.
    expect(
      await code(nn.confirmFile({ path: "/pending/file", uploadId: started.uploadId, chunks: [{ chunkId: started.chunks[0]!.chunkId, length: 10n, checksum: 1 }] })),
    ).toBe(Code.FailedPrecondition);
    expect(await code(nn.getFile({ path: "/pending/file" }))).toBe(Code.NotFound);
    close();
  });

  it("answers bad NameNode requests with precise codes", async () => {
    const { nn, admin, dnp, close } = await setup();
    expect(await code(nn.putFile({ path: "no/slash", size: 1n }))).toBe(Code.InvalidArgument);
    expect(await code(nn.putFile({ path: "/a/../b", size: 1n }))).toBe(Code.InvalidArgument);
    expect(await code(nn.putFile({ path: "/big", size: 2n ** 63n }))).toBe(Code.InvalidArgument);
    expect(await code(nn.getFile({ path: "/missing" }))).toBe(Code.NotFound);
    expect(await code(nn.confirmFile({ path: "/x", uploadId: "" }))).toBe(Code.InvalidArgument);
    expect(await code(nn.deleteFile({ path: "/x" }))).toBe(Code.NotFound);
    expect(await code(nn.deleteFile({ path: "/" }))).toBe(Code.InvalidArgument);
    expect(await code(admin.decommissionDataNode({ datanode: "nobody" }))).toBe(Code.NotFound);
    expect(await code(dnp.commitChunk({ datanodeId: "dn-unknown", chunk: { chunkId: "a".repeat(32), length: 1n } }))).toBe(Code.FailedPrecondition);
    expect(await code(dnp.registerDataNode({ datanodeId: "dn-x", address: "not a url" }))).toBe(Code.InvalidArgument);
    close();
  });

  it("records or refuses each chunk of a batched commit on its own", async () => {
    const { c, nn, dnp, close } = await setup();
    const started = await nn.putFile({ path: "/batch", size: 10n, replication: 3, chunkSize: 1024n });
    const chunkId = started.chunks[0]!.chunkId;
    const datanodeId = started.chunks[0]!.chain[0]!.datanodeId;
    const res = await dnp.commitChunk({
      datanodeId,
      chunks: [
        { chunkId: "f".repeat(32), length: 10n, checksum: 1 },
        { chunkId, length: 10n, checksum: 1 },
        { chunkId, length: 11n, checksum: 1 },
      ],
    });
    expect(res.results.map((r) => [r.chunkId, r.code])).toEqual([
      ["f".repeat(32), Code.NotFound],
      [chunkId, 0],
      [chunkId, Code.FailedPrecondition],
    ]);
    expect(res.results[2]!.message).toContain("has 11 bytes, expected 10");
    // The good one was recorded, and only it.
    expect(c.nameNode.chunks.map.replicas(chunkId).map((r) => r.datanodeId)).toEqual([datanodeId]);
    // A report that crossed the deletion of its copy on the way (the node
    // still owes that deletion) does not bring the replica back.
    const other = started.chunks[0]!.chain[1]!.datanodeId;
    await c.nameNode.store.write(() => c.nameNode.chunks.trash.add(other, chunkId, Date.now()));
    const late = await dnp.commitChunk({ datanodeId: other, chunks: [{ chunkId, length: 10n, checksum: 1 }] });
    expect(late.results.map((r) => r.code)).toEqual([0]);
    expect(c.nameNode.chunks.map.replicas(chunkId).map((r) => r.datanodeId)).toEqual([datanodeId]);
    expect(await code(dnp.commitChunk({ datanodeId }))).toBe(Code.InvalidArgument);
    expect((await dnp.heartBeat({ datanodeId: "dn-never-registered" })).reregister).toBe(true);
    close();
  });

  it("serves PutFiles and ConfirmFiles item by item, each done or refused as its single call would be", async () => {
    const { c, nn, close } = await setup();
    const put = await nn.putFiles({
      files: [{ path: "/b/one", size: 0n }, { path: "not/absolute", size: 0n }, { path: "/b/one", size: 0n }, { path: "/b/two", size: 0n }],
      requestIds: ["req-1", "", "req-3", "req-4"],
    });
    // The third came after the first in the same batch: the path is being written.
    expect(put.results.map((r) => r.code)).toEqual([0, Code.InvalidArgument, Code.Aborted, 0]);
    expect(put.results[1]!.message).toMatch(/absolute/);
    const [one, , , two] = put.results.map((r) => r.file!);
    const confirmed = await nn.confirmFiles({
      files: [{ path: "/b/one", uploadId: one!.uploadId }, { path: "/b/two", uploadId: "no-such-upload" }, { path: "/b/two", uploadId: two!.uploadId }],
    });
    expect(confirmed.results.map((r) => r.code)).toEqual([0, Code.NotFound, 0]);
    expect(confirmed.results.map((r) => r.file?.file?.path)).toEqual(["/b/one", undefined, "/b/two"]);
    expect((await c.client().list("/b")).map((f) => f.path)).toEqual(["/b/one", "/b/two"]);
    expect(await code(nn.putFiles({ files: Array.from({ length: 1001 }, (_, i) => ({ path: `/many/${i}`, size: 0n })) }))).toBe(Code.InvalidArgument);
    // The SDK batches the PutFile and ConfirmFile calls of puts in flight together.
    const fs = c.client();
    await Promise.all(Array.from({ length: 12 }, (_, i) => fs.writeFile(`/sdk/f${i}`, `file ${i}`)));
    for (let i = 0; i < 12; i++) expect((await fs.readFile(`/sdk/f${i}`)).toString()).toBe(`file ${i}`);
    const calls = await okCalls(c.nameNodeAddress);
    expect(calls("PutFiles")).toBeGreaterThanOrEqual(2); // one above, at least one from the SDK
    expect(calls("PutFile") + calls("PutFiles")).toBeLessThan(12);
    close();
  });

  it("serves GetFiles and DeleteFiles item by item, each answered or refused as its single call would be", async () => {
    const { c, nn, close } = await setup();
    const fs = c.client();
    await fs.writeFile("/g/a", "alpha");
    await fs.writeFile("/g/d/inner", "x");
    const got = await nn.getFiles({ files: [{ path: "/g/a" }, { path: "/g/missing" }, { path: "relative" }, { path: "/g/d" }], requestIds: ["req-a", "", "", ""] });
    expect(got.results.map((r) => r.code)).toEqual([0, Code.NotFound, Code.InvalidArgument, (await code(nn.getFile({ path: "/g/d" })))]);
    expect(got.results[0]!.file!.file!.path).toBe("/g/a");
    expect(got.results[0]!.file!.chunks.map((ch) => ch.replicas.length)).toEqual([3]);
    expect(got.results[1]!.message).toMatch(/missing/);
    expect(await code(nn.getFiles({ files: Array.from({ length: 1001 }, () => ({ path: "/g/a" })) }))).toBe(Code.InvalidArgument);

    const deleted = await nn.deleteFiles({ files: [{ path: "/g/a" }, { path: "/g/a" }, { path: "/g/d" }, { path: "/" }, { path: "/g/d", recursive: true }] });
    // The second comes after the first in the same batch: nothing is left to delete.
    expect(deleted.results.map((r) => r.code)).toEqual([0, Code.NotFound, Code.FailedPrecondition, Code.InvalidArgument, 0]);
    expect(deleted.results[0]!.file!.chunkCount).toBe(1);
    expect(await fs.exists("/g/a")).toBe(false);
    expect(await fs.exists("/g/d")).toBe(false);
    expect(await code(nn.deleteFiles({ files: Array.from({ length: 1001 }, (_, i) => ({ path: `/many/${i}` })) }))).toBe(Code.InvalidArgument);

    // The SDK batches the GetFile and DeleteFile calls of reads and deletes in flight together.
    await Promise.all(Array.from({ length: 12 }, (_, i) => fs.writeFile(`/sdk/f${i}`, `file ${i}`)));
    const texts = await Promise.all(Array.from({ length: 12 }, (_, i) => fs.readFile(`/sdk/f${i}`)));
    expect(texts.map(String)).toEqual(Array.from({ length: 12 }, (_, i) => `file ${i}`));
    const removed = await Promise.allSettled([...Array.from({ length: 12 }, (_, i) => fs.rm(`/sdk/f${i}`)), fs.rm("/sdk/never-was")]);
    expect(removed.slice(0, 12).every((r) => r.status === "fulfilled")).toBe(true);
    expect(removed[12]).toMatchObject({ status: "rejected", reason: { code: "not_found" } });
    expect(await fs.list("/sdk")).toEqual([]);
    const calls = await okCalls(c.nameNodeAddress);
    expect(calls("GetFiles")).toBeGreaterThanOrEqual(2); // one above, at least one from the SDK
    expect(calls("DeleteFiles")).toBeGreaterThanOrEqual(2);
    expect(calls("DeleteFile") + calls("DeleteFiles")).toBeLessThan(13);
    close();
  });

  // Chunk data travels over data transfer on cleartext ports and over Connect on TLS ones: same answers from both.
  const transports = {
    connect: (rpc: RpcClients, address: string) => rpc.client(DataNodeService, address),
    "data transfer": (rpc: RpcClients, address: string) => rpc.dataNode(address),
  };

  it.each(Object.entries(transports))("answers bad DataNode requests with precise codes and keeps no partial chunk (%s)", async (_, at) => {
    const { c, close } = await setup();
    const rpc = new RpcClients();
    const dn = at(rpc, c.dataNodeAddress(0));
    const id = "ab".repeat(16);
    const header = (length: bigint) => create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId: id, length } } });
    const data = (n: number) => create(WriteChunkRequestSchema, { part: { case: "data", value: new Uint8Array(n) } });
    const footer = (checksum: number) => create(WriteChunkRequestSchema, { part: { case: "footer", value: { checksum } } });
    async function* of(...m: ReturnType<typeof header>[]) {
      yield* m;
    }
    expect(await code(dn.writeChunk(of(data(1))))).toBe(Code.InvalidArgument);
    expect(await code(dn.writeChunk(of(header(4n), data(2))))).toBe(Code.InvalidArgument); // no footer
    expect(await code(dn.writeChunk(of(header(4n), data(5), footer(0))))).toBe(Code.InvalidArgument); // too long
    expect(await code(dn.writeChunk(of(header(4n), data(4), footer(12345))))).toBe(Code.DataLoss); // bad checksum
    const badId = create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId: "../../x", length: 1n } } });
    expect(await code(dn.writeChunk(of(badId, data(1), footer(0))))).toBe(Code.InvalidArgument);
    // A valid chunk that no upload owns is stored and acknowledged with a
    // receipt (the NameNode judges at ConfirmFile), then dropped when the
    // NameNode refuses the DataNode's report of it.
    const zeros = 0x2144df1c; // CRC-32 of four zero bytes
    const stored = await dn.writeChunk(of(header(4n), data(4), footer(zeros)));
    expect(stored.receipts.map((r) => [r.chunkId, r.datanodeId])).toEqual([[id, stored.storedOn[0]]]);
    await eventually(async () => expect(await c.chunkFiles(0)).toEqual([]));

    expect(await code(readAll(dn.readChunk({ chunkId: id })))).toBe(Code.NotFound);
    expect(await code(readAll(dn.readChunk({ chunkId: "zz" })))).toBe(Code.InvalidArgument);
    expect(await c.chunkFiles(0)).toEqual([]);
    rpc.close();
    close();
  });

  it.each(Object.entries(transports))("names the DataNode where a chain broke and leaves no copy on the nodes before it (%s)", async (_, at) => {
    const c = await cluster({ heartbeatTimeoutMs: 60_000 });
    const rpc = new RpcClients();
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    const plan = await nn.putFile({ path: "/chain", size: 4n, replication: 3, chunkSize: 1024n });
    const chain = plan.chunks[0]!.chain;
    const last = [0, 1, 2].find((i) => c.dataNodeAddress(i) === chain[2]!.address)!;
    await c.stopDataNode(last);
    async function* parts() {
      yield create(WriteChunkRequestSchema, {
        part: { case: "header", value: { chunkId: plan.chunks[0]!.chunkId, length: 4n, downstream: chain.slice(1) } },
      });
      yield create(WriteChunkRequestSchema, { part: { case: "data", value: new Uint8Array(4) } });
      yield create(WriteChunkRequestSchema, { part: { case: "footer", value: { checksum: 0x2144df1c } } });
    }
    const err = ConnectError.from(await rejection(at(rpc, chain[0]!.address).writeChunk(parts())));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain(`datanode ${chain[2]!.address}: unreachable from ${chain[1]!.address}`);
    expect(err.metadata.get("trainfs-failed-datanode")).toBe(chain[2]!.address);
    for (const i of [0, 1, 2].filter((i) => i !== last)) expect(await c.chunkFiles(i)).toEqual([]);
    rpc.close();
  });

  it.each(Object.entries(transports))("refuses reads past the end of a chunk with OutOfRange (%s)", async (_, at) => {
    const { c, close } = await setup();
    const rpc = new RpcClients();
    const dn = at(rpc, c.dataNodeAddress(0));
    const dir = await workDir();
    await randomFile(join(dir, "in"), 100);
    await c.client().put(join(dir, "in"), "/f");
    const chunkId = c.nameNode.namespace.lookup("/f").chunkIds[0]!;
    // Whole verified pieces come back (here the one piece of a 100-byte chunk), with their checksums.
    const parts = [];
    for await (const part of dn.readChunk({ chunkId, offset: 90n, length: 10n })) parts.push(part);
    expect(parts.map((p) => [Number(p.offset), p.data.length, p.pieceChecksums.length])).toEqual([[0, 100, 1]]);
    expect(await code(readAll(dn.readChunk({ chunkId, offset: 90n, length: 11n })))).toBe(Code.OutOfRange);
    rpc.close();
    close();
  });

  it("serves plain gRPC clients too", async () => {
    const { c, close } = await setup();
    const { createGrpcTransport } = await import("@connectrpc/connect-node");
    const grpc = createClient(ClientService, createGrpcTransport({ baseUrl: c.nameNodeAddress }));
    expect((await grpc.list({ path: "/" })).entries).toEqual([]);
    close();
  });
});

async function readAll(stream: AsyncIterable<{ data: Uint8Array }>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const { data } of stream) parts.push(data);
  return Buffer.concat(parts);
}
