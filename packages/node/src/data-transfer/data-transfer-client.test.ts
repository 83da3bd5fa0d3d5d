import { EventEmitter, once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DataTransferErrorSchema, WriteChunkRequestSchema, WriteChunkResponseSchema, type WriteChunkRequest } from "@trainfs/proto";
import { DataTransferClient } from "./data-transfer-client.js";
import { FAILED_DATANODE_HEADER } from "@trainfs/core";
import { FrameReader, type ReceivedFrame } from "./frame-reader.js";
import { writeFrame } from "./frame-writers.js";
import { DATA_TRANSFER_PREFACE, Frame } from "./frames.js";

/** A scripted DataNode: consumes the preface, then runs `serve` on every connection. */
async function fakeDataNode(serve: (socket: Socket, frames: FrameReader) => Promise<void>) {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.once("readable", () => {
      const preface = socket.read(DATA_TRANSFER_PREFACE.length) as Buffer | null;
      expect(preface?.equals(DATA_TRANSFER_PREFACE)).toBe(true);
      void serve(socket, new FrameReader(socket)).catch(() => socket.destroy());
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const client = new DataTransferClient(`http://127.0.0.1:${port}`);
  stops.push(async () => {
    client.close();
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { client, sockets };
}
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

const header = create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId: "ab".repeat(16), length: 4n } } });
const data = create(WriteChunkRequestSchema, { part: { case: "data", value: new Uint8Array(4) } });
const footer = create(WriteChunkRequestSchema, { part: { case: "footer", value: { checksum: 7 } } });
async function* parts(...messages: WriteChunkRequest[]) {
  yield* messages;
}
const stored = toBinary(WriteChunkResponseSchema, create(WriteChunkResponseSchema, { storedOn: ["dn-1"] }));

/** Reads a whole write (call, data..., footer) and returns its frames. */
async function readWrite(frames: FrameReader): Promise<ReceivedFrame[]> {
  const got: ReceivedFrame[] = [];
  for (let f = await frames.next(); f; f = await frames.next()) {
    got.push(f);
    if (f.type === Frame.Footer) break;
  }
  return got;
}

describe("DataTransferClient", () => {
  it("sends a write as call, data and footer frames, and reuses the connection for the next call", async () => {
    const seen: number[][] = [];
    const { client, sockets } = await fakeDataNode(async (socket, frames) => {
      for (;;) {
        const got = await readWrite(frames);
        if (got.length === 0) return;
        seen.push(got.map((f) => f.type));
        expect(got[2]!.payload.readUInt32BE(0)).toBe(7);
        await writeFrame(socket, Frame.Result, stored);
      }
    });
    for (let i = 0; i < 3; i++) expect((await client.writeChunk(parts(header, data, footer))).storedOn).toEqual(["dn-1"]);
    expect(seen).toEqual([
      [Frame.Call, Frame.Data, Frame.Footer],
      [Frame.Call, Frame.Data, Frame.Footer],
      [Frame.Call, Frame.Data, Frame.Footer],
    ]);
    expect(sockets).toHaveLength(1);
  });

  it("raises a DataNode's error frame as the ConnectError, naming the failed node, and drops that connection", async () => {
    const { client, sockets } = await fakeDataNode(async (socket, frames) => {
      await frames.next(); // the call: refused before any data
      const err = create(DataTransferErrorSchema, { code: Code.PermissionDenied, message: "token expired", failedDatanode: "http://127.0.0.1:1" });
      await writeFrame(socket, Frame.Error, toBinary(DataTransferErrorSchema, err));
      socket.end();
    });
    // The writer still has data to send when the refusal comes: it must not hang.
    async function* endless() {
      yield header;
      for (;;) {
        yield create(WriteChunkRequestSchema, { part: { case: "data", value: new Uint8Array(1 << 20) } });
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const err = ConnectError.from(await client.writeChunk(endless()).catch((e: unknown) => e));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toBe("token expired");
    expect(err.metadata.get(FAILED_DATANODE_HEADER)).toBe("http://127.0.0.1:1");
    await expect(client.writeChunk(parts(header, data, footer))).rejects.toThrow();
    expect(sockets).toHaveLength(2);
  });

  it("cuts the connection when the writer's own source fails, and throws the source's error", async () => {
    let cut = false;
    const { client } = await fakeDataNode(async (_socket, frames) => {
      // The connection ends (or breaks) before any footer.
      const got = await readWrite(frames).catch(() => []);
      cut = !got.some((f) => f.type === Frame.Footer);
    });
    async function* failing() {
      yield header;
      yield data;
      throw new Error("local file vanished");
    }
    await expect(client.writeChunk(failing())).rejects.toThrow("local file vanished");
    await expect.poll(() => cut).toBe(true);
  });

  it("is Unavailable when nothing listens and Canceled when aborted", async () => {
    const { client } = await fakeDataNode(async () => {
      // Never answers.
    });
    const abort = new AbortController();
    const pending = client.writeChunk(parts(header, data, footer), { signal: abort.signal });
    setTimeout(() => abort.abort(), 20);
    expect(ConnectError.from(await pending.catch((e: unknown) => e)).code).toBe(Code.Canceled);

    const nobody = new DataTransferClient("http://127.0.0.1:1");
    const err = ConnectError.from(await nobody.writeChunk(parts(header, data, footer)).catch((e: unknown) => e));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.metadata.has(FAILED_DATANODE_HEADER)).toBe(false);
  });

  it("says so when the server does not speak the protocol (an HTTP answer)", async () => {
    const { client } = await fakeDataNode(async (socket) => {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    });
    const err = ConnectError.from(await client.writeChunk(parts(header, data, footer)).catch((e: unknown) => e));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain('does not speak the data-transfer protocol (got byte 0x48 ("H")');
  });

  it("holds a small chunk's call until its footer, so call, data and footer leave in one write; a large chunk's call goes at once", async () => {
    const calls: bigint[] = [];
    const { client } = await fakeDataNode(async (socket, frames) => {
      for (;;) {
        const call = await frames.next();
        if (!call) return;
        calls.push(BigInt(call.payload.length));
        for (let f = await frames.next(); f && f.type !== Frame.Footer; f = await frames.next());
        await writeFrame(socket, Frame.Result, stored);
      }
    });
    for (const length of [4, 64 * 1024, 64 * 1024 + 1]) {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const big = create(WriteChunkRequestSchema, { part: { case: "header", value: { chunkId: "ab".repeat(16), length: BigInt(length) } } });
      const body = create(WriteChunkRequestSchema, { part: { case: "data", value: new Uint8Array(length) } });
      const written = client.writeChunk(
        (async function* () {
          yield big;
          await gate;
          yield body;
          yield footer;
        })(),
      );
      const before = calls.length;
      await new Promise((r) => setTimeout(r, 50));
      // Only the large chunk's call reached the DataNode before its bytes were ready.
      expect(calls.length - before).toBe(length > 64 * 1024 ? 1 : 0);
      release();
      expect((await written).storedOn).toEqual(["dn-1"]);
      expect(calls.length - before).toBe(1);
    }
  });

  it("reads parts until the end frame, and does not reuse a connection a reader left early", async () => {
    const { client, sockets } = await fakeDataNode(async (socket, frames) => {
      for (let f = await frames.next(); f; f = await frames.next()) {
        for (let i = 0; i < 3; i++) {
          // Part: u32 meta length, meta (empty ReadChunkResponse), data.
          await writeFrame(socket, Frame.Part, Buffer.from([0, 0, 0, 0]), Buffer.alloc(10, i));
        }
        await writeFrame(socket, Frame.End);
      }
    });
    const all = [];
    for await (const part of client.readChunk({ chunkId: "ab".repeat(16) })) all.push(part.data[0]);
    expect(all).toEqual([0, 1, 2]);
    for await (const _ of client.readChunk({ chunkId: "ab".repeat(16) })) break;
    for await (const _ of client.readChunk({ chunkId: "ab".repeat(16) })) break;
    // The first connection went back to the pool; the early exits cut theirs.
    expect(sockets).toHaveLength(2);
  });
});

describe("FrameReader", () => {
  it("reassembles frames split anywhere and several frames in one read, and refuses oversized frames", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { connect } = await import("node:net");
    const peer = connect((server.address() as { port: number }).port, "127.0.0.1");
    const [accepted] = (await once(server, "connection")) as [Socket];
    const frames = new FrameReader(accepted);
    const frame = (type: number, payload: Buffer) => {
      const head = Buffer.alloc(5);
      head[0] = type;
      head.writeUInt32BE(payload.length, 1);
      return Buffer.concat([head, payload]);
    };
    const wire = Buffer.concat([frame(Frame.Data, Buffer.from("hello")), frame(Frame.Footer, Buffer.from([0, 0, 0, 9])), frame(Frame.Data, Buffer.alloc(100_000, 1))]);
    for (let i = 0; i < wire.length; i += 7) peer.write(wire.subarray(i, i + 7));
    expect((await frames.next())?.payload.toString()).toBe("hello");
    expect((await frames.next())?.payload.readUInt32BE(0)).toBe(9);
    expect((await frames.next())?.payload.equals(Buffer.alloc(100_000, 1))).toBe(true);
    peer.write(Buffer.from([Frame.Data, 0xff, 0xff, 0xff, 0xff]));
    await expect(frames.next()).rejects.toThrow("over the");
    peer.destroy();
    server.close();
  });

  it("lets an onread socket read straight into the frame under way, copying only what lands between frames", async () => {
    const socket = Object.assign(new EventEmitter(), { pause() {}, resume() {}, destroy() {} }) as unknown as Socket;
    const frames = new FrameReader(socket, { pushed: true });
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const head = (type: number, length: number) => Buffer.from([type, length >>> 24, (length >>> 16) & 255, (length >>> 8) & 255, length & 255]);
    const wire = Buffer.concat([head(Frame.Data, big.length), big, head(Frame.Footer, 4), Buffer.from([0, 0, 0, 7]), head(Frame.Data, 3), Buffer.from("end")]);
    // The "kernel": each read fills at most 4 KiB of whatever buffer it is given.
    const scratch = Buffer.alloc(16);
    let throughScratch = 0;
    for (let at = 0; at < wire.length; ) {
      const target = frames.readTarget(scratch);
      const n = Math.min(target.length, 4096, wire.length - at);
      wire.copy(target, 0, at, at + n);
      if (target === scratch) throughScratch += n;
      frames.received(n, target);
      at += n;
    }
    expect((await frames.next())?.payload.equals(big)).toBe(true);
    expect((await frames.next())?.payload.readUInt32BE(0)).toBe(7);
    expect((await frames.next())?.payload.toString()).toBe("end");
    // Only headers and the first bytes after each went through the scratch buffer.
    expect(throughScratch).toBeLessThanOrEqual(3 * scratch.length);
    // After discard, a read handed the old payload is dropped, not counted into a frame.
    const f2 = new FrameReader(socket, { pushed: true });
    f2.received(5, head(Frame.Data, 10));
    const target = f2.readTarget(scratch);
    expect(target.length).toBe(10);
    f2.discard();
    f2.received(10, target);
    await expect(f2.next()).rejects.toThrow("the call ended");
  });
});
