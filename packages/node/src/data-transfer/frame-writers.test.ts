import { Writable } from "node:stream";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { BufferPool } from "../buffer-pool.js";
import { giveBackUnsent, writeFrames } from "./frame-writers.js";
import { Frame } from "./frames.js";

/** A stream that records each write the kernel would get (a socket's writev). */
function recorder() {
  const writes: Buffer[][] = [];
  const stream = new Writable({
    writev(chunks, done) {
      writes.push(chunks.map((c) => c.chunk as Buffer));
      done();
    },
    write(chunk: Buffer, _encoding, done) {
      writes.push([chunk]);
      done();
    },
  });
  return { writes, socket: stream as unknown as Socket };
}

describe("writeFrames", () => {
  it("sends several frames in one write, each behind its header, and gives lent parts back once written", async () => {
    const pool = new BufferPool(1024, 4);
    const data = pool.take(1024);
    data.fill(9);
    const { writes, socket } = recorder();
    await writeFrames(socket, [{ type: Frame.Call, parts: [Buffer.from("call")] }, { type: Frame.Data, parts: [data], lent: data }, { type: Frame.End, parts: [] }], pool);
    expect(writes).toHaveLength(1);
    const bytes = Buffer.concat(writes[0]!);
    expect([...bytes.subarray(0, 5)]).toEqual([Frame.Call, 0, 0, 0, 4]);
    expect(bytes.subarray(5, 9).toString()).toBe("call");
    expect([...bytes.subarray(9, 14)]).toEqual([Frame.Data, 0, 0, 4, 0]);
    expect([...bytes.subarray(14 + 1024)]).toEqual([Frame.End, 0, 0, 0, 0]);
    // The lent part went back to the pool once written: the next take of that size reuses it.
    await new Promise((r) => setImmediate(r));
    expect(pool.take(1024).buffer).toBe(data.buffer);
  });

  it("gives back the lent parts of frames never written", () => {
    const pool = new BufferPool(1024, 4);
    const data = pool.take(1024);
    giveBackUnsent([{ type: Frame.Data, parts: [data], lent: data }], pool);
    expect(pool.take(1024).buffer).toBe(data.buffer);
  });
});
