import { readFile, readdir } from "node:fs/promises";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DataTransferCallSchema, DataTransferErrorSchema, ClientService } from "@trainfs/proto";
import { DATA_TRANSFER_PREFACE, Frame, FrameReader, RpcClients, acceptedFrameReader, partBuffers, writeFrame } from "@trainfs/common";
import { generateTls, randomFile, sha256File } from "../src/index.js";
import { cluster, eventually, workDir } from "./helpers.js";

/** A raw data-transfer connection to a DataNode, as a buggy or hostile peer would open it. */
async function rawConnection(address: string): Promise<{ socket: Socket; frames: FrameReader }> {
  const url = new URL(address);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(DATA_TRANSFER_PREFACE);
  return { socket, frames: new FrameReader(socket) };
}

async function errorAnswer(frames: FrameReader): Promise<{ code: number; message: string }> {
  const frame = await frames.next();
  expect(frame?.type).toBe(Frame.Error);
  const err = fromBinary(DataTransferErrorSchema, frame!.payload);
  // The connection ends after an error.
  expect(await frames.next().catch(() => null)).toBeNull();
  return { code: err.code, message: err.message };
}

describe("the data-transfer protocol at its edges", () => {
  it("answers malformed frames with InvalidArgument, drops oversized ones, and keeps serving", async () => {
    const c = await cluster();
    const address = c.dataNodeAddress(0);

    const a = await rawConnection(address);
    await writeFrame(a.socket, Frame.Data, Buffer.alloc(10));
    expect(await errorAnswer(a.frames)).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("expected a call") });

    const b = await rawConnection(address);
    await writeFrame(b.socket, Frame.Call, Buffer.from([0xff, 0xff, 0xff]));
    expect(await errorAnswer(b.frames)).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("malformed call") });

    const d = await rawConnection(address);
    const call = create(DataTransferCallSchema, { call: { case: "writeChunk", value: { chunkId: "../../etc", length: 1n } } });
    await writeFrame(d.socket, Frame.Call, toBinary(DataTransferCallSchema, call));
    expect((await errorAnswer(d.frames)).code).toBe(Code.InvalidArgument);

    const e = await rawConnection(address);
    e.socket.write(Buffer.from([Frame.Data, 0x7f, 0xff, 0xff, 0xff]));
    await new Promise((resolve) => e.socket.once("close", resolve));

    // The DataNode is unharmed.
    const dir = await workDir();
    await randomFile(join(dir, "in"), 3000);
    await c.client().put(join(dir, "in"), "/after");
    await c.client().get("/after", join(dir, "out"));
  });

  it("drops a chunk whose writer vanished mid-stream, on every node of the chain", async () => {
    // Plain chunk files, whose temporary files show how far the chain got (a packed chunk is received into memory).
    const c = await cluster({ dataNode: { packedChunkMaxBytes: 0 } });
    const rpc = new RpcClients();
    const plan = await rpc.client(ClientService, c.nameNodeAddress).putFile({ path: "/cut", size: 1_000_000n, replication: 3 });
    const chunk = plan.chunks[0]!;
    const { socket, frames } = await rawConnection(chunk.chain[0]!.address);
    const call = create(DataTransferCallSchema, {
      call: { case: "writeChunk", value: { chunkId: chunk.chunkId, length: chunk.length, downstream: chunk.chain.slice(1), accessToken: chunk.accessToken } },
    });
    await writeFrame(socket, Frame.Call, toBinary(DataTransferCallSchema, call));
    await writeFrame(socket, Frame.Data, Buffer.alloc(400_000, 7));
    // Wait until the last node of the chain has started its temporary file, then vanish.
    const last = c.dataNodeAddresses().indexOf(chunk.chain[2]!.address);
    await eventually(async () => expect(await readdir(join(c.dataNodeDir(last), "tmp"))).not.toEqual([]));
    socket.destroy();
    expect(await frames.next().catch(() => null)).toBeNull();
    for (let i = 0; i < 3; i++) {
      await eventually(async () => expect(await readdir(join(c.dataNodeDir(i), "tmp"))).toEqual([]));
      expect(await c.chunkFiles(i)).toEqual([]);
    }
    rpc.close();
  });

  it("stores nothing of a packed chunk whose writer vanished mid-stream, on any node of the chain", async () => {
    const c = await cluster();
    const rpc = new RpcClients();
    const plan = await rpc.client(ClientService, c.nameNodeAddress).putFile({ path: "/cut", size: 1_000_000n, replication: 3 });
    const chunk = plan.chunks[0]!;
    const { socket, frames } = await rawConnection(chunk.chain[0]!.address);
    const call = create(DataTransferCallSchema, {
      call: { case: "writeChunk", value: { chunkId: chunk.chunkId, length: chunk.length, downstream: chunk.chain.slice(1), accessToken: chunk.accessToken } },
    });
    await writeFrame(socket, Frame.Call, toBinary(DataTransferCallSchema, call));
    await writeFrame(socket, Frame.Data, Buffer.alloc(400_000, 7));
    await new Promise((r) => setTimeout(r, 300));
    socket.destroy();
    expect(await frames.next().catch(() => null)).toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) {
      expect(await c.chunkFiles(i)).toEqual([]);
      expect([...(await c.packedRecords(i)).keys()]).toEqual([]);
      expect(c.dataNode(i).store.has(chunk.chunkId)).toBe(false);
    }
    rpc.close();
  });

  it("recycles part buffers across puts and gets in flight without mixing up their bytes", async () => {
    // In process, the client and the three DataNodes lend from one pool: a
    // buffer given back while still in use would surface as another file's bytes.
    const c = await cluster();
    const fs = c.client({ chunkSize: 3 * 1024 * 1024 + 5 });
    const dir = await workDir();
    const sizes = [9 * 1024 * 1024 + 17, 5 * 1024 * 1024, 1024 * 1024 - 3];
    const digests = await Promise.all(sizes.map(async (size, i) => {
      await randomFile(join(dir, `in${i}`), size);
      return sha256File(join(dir, `in${i}`));
    }));
    await fs.put(join(dir, "in0"), "/f0");
    const reusedBefore = partBuffers.reused;
    // Gets of one file while others are put, all at once.
    await Promise.all([
      fs.get("/f0", join(dir, "out0-a")),
      fs.put(join(dir, "in1"), "/f1"),
      fs.put(join(dir, "in2"), "/f2"),
      fs.get("/f0", join(dir, "out0-b")),
    ]);
    await Promise.all([fs.get("/f1", join(dir, "out1")), fs.get("/f2", join(dir, "out2"))]);
    expect(partBuffers.reused).toBeGreaterThan(reusedBefore + 20);
    expect(await sha256File(join(dir, "out0-a"))).toBe(digests[0]);
    expect(await sha256File(join(dir, "out0-b"))).toBe(digests[0]);
    expect(await sha256File(join(dir, "out1"))).toBe(digests[1]);
    expect(await sha256File(join(dir, "out2"))).toBe(digests[2]);
    // Every replica on disk holds the bytes its checksums were computed from
    // (a get would hide one bad replica by reading another).
    for (let i = 0; i < 3; i++) {
      const store = c.dataNode(i).store;
      for (const chunkId of await c.chunkFiles(i)) expect(await store.verify(chunkId), `${chunkId} on DataNode ${i}`).toBeUndefined();
    }
  });

  it("reads accepted TLS sockets through their data events (Node reads into caller buffers only on plain ones)", async () => {
    const tls = await generateTls();
    let readerOf!: (r: FrameReader) => void;
    const ready = new Promise<FrameReader>((r) => (readerOf = r));
    const server = createTlsServer({ key: await readFile(tls.keyFile), cert: await readFile(tls.certFile) }, (socket) => readerOf(acceptedFrameReader(socket)));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = tlsConnect({ port: (server.address() as { port: number }).port, host: "127.0.0.1", ca: tls.ca });
    try {
      await once(client, "secureConnect");
      const frames = await ready;
      expect(frames.pushed).toBe(false);
      await writeFrame(client, Frame.Data, Buffer.alloc(200_000, 9));
      const frame = await frames.next();
      expect(frame?.payload.equals(Buffer.alloc(200_000, 9))).toBe(true);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
