import { describe, expect, it } from "vitest";
import { BufferPool } from "./buffer-pool.js";

describe("BufferPool", () => {
  it("lends a given-back buffer again, and not before its last holder is done", () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take(600);
    expect(a.length).toBe(600);
    pool.hold(a.subarray(10, 20)); // a second holder, through a view
    pool.give(a);
    expect(pool.freeCount).toBe(0);
    const b = pool.take(600);
    expect(b.buffer).not.toBe(a.buffer); // still held: not lent twice
    pool.give(a.subarray(50));
    expect(pool.freeCount).toBe(1);
    const c = pool.take(1024);
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(1024);
    expect(pool.reused).toBe(1);
  });

  it("ignores buffers it did not lend, and a second give of one already back", () => {
    const pool = new BufferPool(1024, 4);
    pool.give(Buffer.alloc(1024));
    const a = pool.take(600);
    pool.give(a);
    pool.give(a);
    expect(pool.freeCount).toBe(1);
    const b = pool.take(600);
    const c = pool.take(600);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it("allocates requests over its capacity or under half of it as usual, and keeps at most maxFree buffers", () => {
    const pool = new BufferPool(1024, 2);
    const big = pool.take(4096);
    const small = pool.take(511);
    expect([big.length, small.length]).toEqual([4096, 511]);
    pool.give(big);
    pool.give(small);
    expect(pool.freeCount).toBe(0);
    const lent = [pool.take(512), pool.take(512), pool.take(512)];
    for (const b of lent) pool.give(b);
    expect(pool.freeCount).toBe(2);
  });
});
