import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DataNodeService, ClientService } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { cluster, eventually, holdersOnDisk, rejection } from "./helpers.js";

const MiB = 1024 * 1024;
const failure = async (p: Promise<unknown>) => ConnectError.from(await rejection(p));

/** WriteChunkPart, the browsers' way to write a chunk: unary parts in an upload session. */
describe("chunk uploads in parts (WriteChunkPart)", () => {
  it("stores a chunk sent in parts on every node of its chain, fsynced and committed before the last answer", async () => {
    const c = await cluster();
    const rpc = new RpcClients();
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    const bytes = randomBytes(2 * MiB + 12_345);
    const started = await nn.putFile({ path: "/parts.bin", size: BigInt(bytes.length), chunkSize: BigInt(4 * MiB) });
    const plan = started.chunks[0]!;
    const [head, ...downstream] = plan.chain;
    const dn = rpc.client(DataNodeService, head!.address);
    const checksum = crc32(bytes) >>> 0;
    const session = "browser-session-1";
    const received: bigint[] = [];
    let res;
    for (let offset = 0; offset < bytes.length; offset += MiB) {
      const data = bytes.subarray(offset, Math.min(bytes.length, offset + MiB));
      const last = offset + data.length === bytes.length;
      res = await dn.writeChunkPart({ chunkId: plan.chunkId, uploadSession: session, length: plan.length, offset: BigInt(offset), data, downstream, last, checksum: last ? checksum : 0 });
      received.push(res.received);
    }
    expect(received).toEqual([BigInt(MiB), BigInt(2 * MiB), BigInt(bytes.length)]);
    expect(res!.chunk?.checksum).toBe(checksum);
    expect(res!.storedOn).toHaveLength(3);
    expect((await holdersOnDisk(c, plan.chunkId)).sort()).toEqual([0, 1, 2]);
    await nn.confirmFile({ path: "/parts.bin", uploadId: started.uploadId, chunks: [{ chunkId: plan.chunkId, length: plan.length, checksum }] });
    expect(Buffer.compare(await c.client().readFile("/parts.bin"), bytes)).toBe(0);
    // Nothing is left in the temporary directories.
    for (let i = 0; i < 3; i++) expect(await readdir(join(c.dataNodeDir(i), "tmp"))).toEqual([]);
    rpc.close();
  });

  it("answers bad parts with precise codes and keeps a session usable after an out-of-order part", async () => {
    const c = await cluster({ dataNodes: 1, nameNode: { defaultReplication: 1 } });
    const rpc = new RpcClients();
    const dn = rpc.client(DataNodeService, c.dataNodeAddress(0));
    const chunkId = "ab".repeat(16);
    const length = BigInt(3 * MiB);
    const part = (offset: number, size: number, extra: Record<string, unknown> = {}) =>
      dn.writeChunkPart({ chunkId, uploadSession: "sess-0001", length, offset: BigInt(offset), data: new Uint8Array(size).fill(7), ...extra });

    expect((await failure(part(0, 5 * MiB))).code).toBe(Code.InvalidArgument); // oversize part
    expect((await failure(part(0, 10, { uploadSession: "short" }))).code).toBe(Code.InvalidArgument);
    expect((await failure(part(0, 10, { uploadSession: "../../etc/passwd" }))).code).toBe(Code.InvalidArgument);
    expect((await failure(part(0, 10, { chunkId: "../x" }))).code).toBe(Code.InvalidArgument);
    expect((await failure(part(3 * MiB - 5, 10))).code).toBe(Code.InvalidArgument); // past the end
    expect((await failure(part(0, 10, { last: true }))).code).toBe(Code.InvalidArgument); // last part that does not complete
    expect((await failure(part(0, 0))).code).toBe(Code.InvalidArgument); // empty part
    const unknown = await failure(part(MiB, MiB));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toContain("no upload session sess-0001");

    expect((await part(0, MiB)).received).toBe(BigInt(MiB));
    const ahead = await failure(part(2 * MiB, MiB / 2)); // out of order: skips a part
    expect(ahead.code).toBe(Code.FailedPrecondition);
    expect(ahead.metadata.get("trainfs-expected-offset")).toBe(String(MiB));
    const again = await failure(part(0, MiB)); // the first part sent twice: wrong offset
    expect(again.code).toBe(Code.FailedPrecondition);
    expect((await failure(part(MiB, MiB, { length: length + 1n }))).code).toBe(Code.InvalidArgument); // length changed
    // The session goes on from where it really is.
    expect((await part(MiB, MiB)).received).toBe(BigInt(2 * MiB));
    // A wrong checksum on the last part: DataLoss, nothing stored, session gone.
    const bad = await failure(part(2 * MiB, MiB, { last: true, checksum: 1 }));
    expect(bad.code).toBe(Code.DataLoss);
    expect(c.dataNode(0).store.has(chunkId)).toBe(false);
    expect(await readdir(join(c.dataNodeDir(0), "tmp"))).toEqual([]);
    expect((await failure(part(2 * MiB, MiB / 2))).code).toBe(Code.NotFound);
    rpc.close();
  });

  it("abandons an idle session and removes its temporary file", async () => {
    const c = await cluster({ dataNodes: 1, nameNode: { defaultReplication: 1 }, dataNode: { partUploadTimeoutMs: 300 } });
    const rpc = new RpcClients();
    const dn = rpc.client(DataNodeService, c.dataNodeAddress(0));
    const chunkId = "cd".repeat(16);
    await dn.writeChunkPart({ chunkId, uploadSession: "idle-session", length: 100n, offset: 0n, data: new Uint8Array(50) });
    expect(await readdir(join(c.dataNodeDir(0), "tmp"))).toEqual([`${chunkId}.part-idle-session`]);
    expect(c.dataNode(0).partUploads.openCount).toBe(1);
    await eventually(async () => expect(await readdir(join(c.dataNodeDir(0), "tmp"))).toEqual([]), 5000);
    expect(c.dataNode(0).partUploads.openCount).toBe(0);
    const late = await failure(dn.writeChunkPart({ chunkId, uploadSession: "idle-session", length: 100n, offset: 50n, data: new Uint8Array(50), last: true }));
    expect(late.code).toBe(Code.NotFound);
    rpc.close();
  });

  it("names the failed DataNode when a node below is gone, and leaves no chunk behind", async () => {
    const c = await cluster();
    const rpc = new RpcClients();
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    const started = await nn.putFile({ path: "/down.bin", size: 1000n });
    const plan = started.chunks[0]!;
    const tail = plan.chain[2]!;
    const index = [0, 1, 2].find((i) => c.dataNodeAddress(i) === tail.address)!;
    await c.stopDataNode(index);
    const data = randomBytes(1000);
    const err = await failure(
      rpc.client(DataNodeService, plan.chain[0]!.address).writeChunkPart({
        chunkId: plan.chunkId, uploadSession: "down-session", length: 1000n, offset: 0n, data, downstream: plan.chain.slice(1), last: true, checksum: crc32(data) >>> 0,
      }),
    );
    expect(err.code).toBe(Code.Unavailable);
    expect(err.metadata.get("trainfs-failed-datanode")).toBe(tail.address);
    expect(await holdersOnDisk(c, plan.chunkId)).toEqual([]);
    rpc.close();
  });
});
