import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SequentialChunks, partsByChunk } from "./stream-chunks.js";

const MiB = 1024 * 1024;

/** A stream of `data` in pieces of `piece` bytes, each piece given after a tick. */
async function* pieces(data: Buffer, piece: number, end?: () => void): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += piece) {
    await new Promise((r) => setImmediate(r));
    yield data.subarray(at, at + piece);
  }
  end?.();
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const p of it) out.push(Buffer.from(p));
  return Buffer.concat(out);
}

describe("SequentialChunks", () => {
  it("serves each chunk's range in order, parts of at most 1 MiB, and the same bytes again for a resend until released", async () => {
    const data = randomBytes(5 * MiB + 123);
    const chunks = new SequentialChunks(pieces(data, 64 * 1024 + 7), data.length);
    const size = 2 * MiB;
    // The second chunk asks first: it waits until the first was read.
    const second = collect(chunks.range(size, 2 * size));
    const firstParts: number[] = [];
    for await (const p of chunks.range(0, size)) firstParts.push(p.length);
    expect(firstParts).toEqual([MiB, MiB]);
    expect((await second).equals(data.subarray(size, 2 * size))).toBe(true);
    // A resend of the first chunk (a chain recovery) gets the same bytes, without reading the stream.
    expect((await collect(chunks.range(0, size))).equals(data.subarray(0, size))).toBe(true);
    chunks.release(0);
    chunks.release(size);
    expect((await collect(chunks.range(2 * size, data.length))).equals(data.subarray(2 * size))).toBe(true);
  });

  it("a resend that starts while the chunk is still arriving gets the bytes so far, then the rest", async () => {
    const data = randomBytes(3 * MiB);
    const chunks = new SequentialChunks(pieces(data, 256 * 1024), data.length);
    const first = chunks.range(0, data.length)[Symbol.asyncIterator]();
    const got = Buffer.from((await first.next()).value as Uint8Array);
    // The first attempt fails after one part; the resend reads it all.
    await first.return(undefined);
    expect(got.equals(data.subarray(0, MiB))).toBe(true);
    expect((await collect(chunks.range(0, data.length))).equals(data)).toBe(true);
  });

  it("a stream shorter or longer than announced fails its last chunk; a stream's own failure fails every chunk waiting", async () => {
    const data = randomBytes(100_000);
    const short = new SequentialChunks(pieces(data, 10_000), data.length + 1);
    await expect(collect(short.range(0, data.length + 1))).rejects.toThrow(/ended after 100000 bytes/);
    const long = new SequentialChunks(pieces(data, 10_000), data.length - 1);
    await expect(collect(long.range(0, data.length - 1))).rejects.toThrow(/longer than the 99999 bytes/);
    const failing = new SequentialChunks(
      (async function* () {
        yield data.subarray(0, 10);
        throw new Error("the client went away");
      })(),
      data.length,
    );
    const waiting = collect(failing.range(50_000, data.length));
    await expect(collect(failing.range(0, 50_000))).rejects.toThrow(/went away/);
    await expect(waiting).rejects.toThrow(/went away/);
  });

  it("a slow stream's bytes go out about every second, not once a whole 1 MiB part is in", async () => {
    const data = randomBytes(80);
    const chunks = new SequentialChunks(
      (async function* () {
        for (let at = 0; at < data.length; at += 10) {
          await new Promise((r) => setTimeout(r, 300));
          yield data.subarray(at, at + 10);
        }
      })(),
      data.length,
    );
    const started = Date.now();
    await chunks.firstBytes(0, data.length);
    const parts: Array<{ length: number; atMs: number }> = [];
    for await (const p of chunks.range(0, data.length)) parts.push({ length: p.length, atMs: Date.now() - started });
    expect(parts.length).toBeGreaterThan(1);
    expect(parts[0]!.length).toBeLessThan(data.length);
    expect(parts[0]!.atMs).toBeLessThan(2000);
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(data.length);
  });

  it("fail() wakes a chunk waiting for the stream", async () => {
    const chunks = new SequentialChunks(pieces(randomBytes(10), 10), 20);
    const waiting = collect(chunks.range(10, 20));
    chunks.fail(new Error("the write was abandoned"));
    await expect(waiting).rejects.toThrow(/abandoned/);
  });
});

describe("partsByChunk", () => {
  it("cuts a stream of unknown length into chunks of ~1 MiB parts, none allocated a chunk ahead", async () => {
    const data = randomBytes(2 * MiB + 5);
    const out: Array<{ length: number; parts: number[] }> = [];
    const joined: Buffer[] = [];
    for await (const c of partsByChunk(pieces(data, 100_000), MiB + 1)) {
      out.push({ length: c.length, parts: c.parts.map((p) => p.length) });
      joined.push(...c.parts.map((p) => Buffer.from(p)));
    }
    expect(out).toEqual([
      { length: MiB + 1, parts: [MiB, 1] },
      { length: MiB + 1, parts: [MiB, 1] },
      { length: 3, parts: [3] },
    ]);
    expect(Buffer.concat(joined).equals(data)).toBe(true);
    const small: number[] = [];
    for await (const c of partsByChunk(pieces(randomBytes(4096), 4096), 64 * MiB)) small.push(...c.parts.map((p) => p.buffer.byteLength));
    // A 4 KiB stream is held in one recycled 1 MiB part, not a chunk-sized (64 MiB) buffer.
    expect(Math.max(...small)).toBeLessThanOrEqual(MiB);
  });
});
