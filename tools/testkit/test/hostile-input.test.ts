import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect } from "node:net";
import { readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { AdminService, DataNodeService, ClientService, WriteChunkRequestSchema } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";
import { cluster, rejection } from "./helpers.js";

const code = async (p: Promise<unknown>) => ConnectError.from(await rejection(p)).code;
async function drain(stream: AsyncIterable<unknown>) {
  for await (const _ of stream);
}

/** Input a buggy or hostile client could send: each gets a precise error, and the servers keep serving. */
describe("hostile input", () => {
  it("answers malformed paths and sizes with InvalidArgument, on every NameNode entry point", async () => {
    const c = await cluster();
    const rpc = new RpcClients();
    const nn = rpc.client(ClientService, c.nameNodeAddress);
    const bad = ["", "relative", "/a/../b", "/a//b", "/a/./b", "/nul\0x", `/${"x".repeat(10_000)}`, "/trailing/", `/${"y".repeat(256)}`];
    for (const path of bad) {
      expect(await code(nn.putFile({ path, size: 1n })), path.slice(0, 20)).toBe(Code.InvalidArgument);
      // (Empty is the field's "not given".)
      if (path !== "") expect(await code(nn.putFile({ path: "/ok/f", size: 1n, existingAncestor: path }))).toBe(Code.InvalidArgument);
      expect(await code(nn.getFile({ path }))).toBe(Code.InvalidArgument);
      expect(await code(nn.list({ path }))).toBe(Code.InvalidArgument);
      expect(await code(nn.stat({ path }))).toBe(Code.InvalidArgument);
      expect(await code(nn.mkdir({ path, parents: true }))).toBe(Code.InvalidArgument);
      expect(await code(nn.deleteFile({ path, recursive: true }))).toBe(Code.InvalidArgument);
      expect(await code(nn.rename({ source: path, destination: "/ok" }))).toBe(Code.InvalidArgument);
      expect(await code(nn.rename({ source: "/ok", destination: path }))).toBe(Code.InvalidArgument);
      expect(await code(rpc.client(AdminService, c.nameNodeAddress).fsck({ path }))).toBe(Code.InvalidArgument);
    }
    expect(await code(nn.putFile({ path: "/huge", size: 2n ** 62n }))).toBe(Code.InvalidArgument);
    expect(await code(nn.putFile({ path: "/many", size: 10n ** 12n, chunkSize: 1024n }))).toBe(Code.InvalidArgument);
    expect(await code(nn.putFile({ path: "/r", size: 1n, replication: 1000 }))).toBe(Code.InvalidArgument);
    expect(await code(nn.putFile({ path: "/c", size: 1n, chunkSize: 1n }))).toBe(Code.InvalidArgument);
    expect(await code(nn.putFile({ path: "/c", size: 1n, existingAncestor: "/c" }))).toBe(Code.InvalidArgument);
    expect(await code(nn.putFile({ path: "/no/c", size: 1n, existingAncestor: "/no" }))).toBe(Code.NotFound);
    expect(await code(nn.list({ path: "/", limit: 1_000_000 }))).toBe(Code.InvalidArgument);
    expect(await code(nn.addChunk({ path: "/x", uploadId: "nope", length: 1n }))).toBe(Code.NotFound);
    expect(await code(nn.replaceChain({ path: "/x", uploadId: "nope", chunkId: "c" }))).toBe(Code.NotFound);
    expect(await code(nn.reportBadChunks({ replicas: [{ chunkId: "", datanodeId: "" }] }))).toBe(Code.InvalidArgument);
    expect((await nn.list({ path: "/" })).entries).toEqual([]); // nothing half-made
    rpc.close();
  });

  it("refuses path tricks, disorder, oversize and truncation on a DataNode, writing nothing outside its directory", async () => {
    const c = await cluster();
    const rpc = new RpcClients();
    const dn = rpc.client(DataNodeService, c.dataNodeAddress(0));
    const header = (chunkId: string, length = 4n) => create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId, length } } });
    const data = (n: number) => create(WriteChunkRequestSchema, { part: { case: "data", value: new Uint8Array(n) } });
    const footer = create(WriteChunkRequestSchema, { part: { case: "footer", value: { checksum: 0x2144df1c } } });
    async function* of(...m: Array<ReturnType<typeof header>>) {
      yield* m;
    }
    for (const id of ["../../../../tmp/evil", "a/b", "..", "/etc/passwd", "AB".repeat(16), "g".repeat(32), "a".repeat(31)]) {
      expect(await code(dn.writeChunk(of(header(id), data(4), footer))), id).toBe(Code.InvalidArgument);
      expect(await code(drain(dn.readChunk({ chunkId: id })))).toBe(Code.InvalidArgument);
    }
    const id = "cd".repeat(16);
    expect(await code(dn.writeChunk(of(data(4), header(id), footer)))).toBe(Code.InvalidArgument); // out of order
    expect(await code(dn.writeChunk(of(header(id), footer, data(4))))).toBe(Code.InvalidArgument); // footer too early
    expect(await code(dn.writeChunk(of(header(id), header(id))))).toBe(Code.InvalidArgument);
    expect(await code(dn.writeChunk(of(header(id, 2n ** 40n), data(4), footer)))).toBe(Code.ResourceExhausted); // no room
    expect(await code(dn.writeChunk(of()))).toBe(Code.InvalidArgument); // empty stream
    // Oversize: a message above the 16 MiB limit is refused by the server.
    expect(await code(dn.writeChunk(of(header(id, 20n * 2n ** 20n), data(17 * 2 ** 20), footer)))).toBe(Code.ResourceExhausted);
    expect(await readdir(`${c.dataNodeDir(0)}/tmp`)).toEqual([]);
    expect(await c.chunkFiles(0)).toEqual([]);
    rpc.close();
  });

  it("survives random bytes and half-open connections on its ports", async () => {
    const c = await cluster();
    for (const address of [c.nameNodeAddress, c.dataNodeAddress(0)]) {
      const { hostname, port } = new URL(address);
      for (const payload of [Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Buffer.alloc(4096, 0xab), Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00")]) {
        await new Promise<void>((resolve) => {
          const s = connect(Number(port), hostname, () => s.end(payload));
          s.on("error", () => resolve());
          s.on("close", () => resolve());
          s.resume();
          setTimeout(() => s.destroy(), 1000).unref();
        });
      }
    }
    // Still serving.
    expect((await c.client().list("/"))).toEqual([]);
    await c.client().writeFile("/after", "still here");
    expect((await c.client().readFile("/after")).toString()).toBe("still here");
  });
});
