import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { acceptedFrameReader, type FrameReader } from "./frame-reader.js";
import { writeFrame } from "./frame-writers.js";
import { Frame } from "./frames.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A connected client, and the acceptedFrameReader of its server side, made once `before` ran on the accepted socket. */
async function connection(options: { before?: (socket: Socket) => Promise<void>; maxQueuedBytes?: number } = {}) {
  let accepted!: (r: Promise<FrameReader>) => void;
  const frames = new Promise<Promise<FrameReader>>((r) => (accepted = r)).then((p) => p);
  const server = createServer((socket) => {
    socket.on("error", () => {});
    accepted((options.before?.(socket) ?? Promise.resolve()).then(() => acceptedFrameReader(socket, { maxQueuedBytes: options.maxQueuedBytes })));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => server.close());
  const client = connect((server.address() as { port: number }).port, "127.0.0.1");
  cleanups.push(() => client.destroy());
  await once(client, "connect");
  return { client, frames };
}

const part = (i: number, size: number) => Buffer.alloc(size, i);

async function drain(frames: FrameReader, slowly = false): Promise<Buffer[]> {
  const got: Buffer[] = [];
  for (let f = await frames.next(); f; f = await frames.next()) {
    got.push(Buffer.from(f.payload));
    if (slowly) await new Promise((r) => setTimeout(r, 2));
  }
  return got;
}

describe("acceptedFrameReader", () => {
  it("reads an accepted plain socket straight into the frames, whole and in order, through pauses", async () => {
    // A small queue makes the reader pause the socket and resume it many times.
    const c = await connection({ maxQueuedBytes: 256 * 1024 });
    const frames = await c.frames;
    expect(frames.pushed).toBe(true);
    const sent = Array.from({ length: 24 }, (_, i) => part(i, 1024 * 1024 + i * 7));
    const sending = (async () => {
      for (const p of sent) await writeFrame(c.client, Frame.Data, p);
      c.client.end();
    })();
    const got = await drain(frames, true);
    await sending;
    expect(got.map((b) => b.length)).toEqual(sent.map((b) => b.length));
    got.forEach((b, i) => expect(b.equals(sent[i]!), `frame ${i}`).toBe(true));
  });

  it("delivers first the bytes that arrived before the switch (after a preface was read)", async () => {
    const c = await connection({
      // As the DataNode's port does: read the first bytes, pause, put back what follows the preface.
      before: async (socket) => {
        await once(socket, "readable");
        await new Promise((r) => setTimeout(r, 100));
        const early = socket.read() as Buffer;
        expect(early.subarray(0, 4).toString()).toBe("HELO");
        socket.pause();
        socket.unshift(early.subarray(4));
      },
    });
    c.client.write("HELO");
    await writeFrame(c.client, Frame.Data, part(1, 70_000));
    const frames = await c.frames;
    expect(frames.pushed).toBe(true);
    for (const p of [part(2, 300_000), part(3, 5)]) await writeFrame(c.client, Frame.Data, p);
    c.client.end();
    const got = await drain(frames);
    expect(got.map((b) => b.length)).toEqual([70_000, 300_000, 5]);
    got.forEach((b, i) => expect(b.equals(part(i + 1, b.length)), `frame ${i}`).toBe(true));
  }, 10_000);
});
