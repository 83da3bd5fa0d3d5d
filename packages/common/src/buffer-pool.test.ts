import { describe, expect, it } from "vitest";
import { BufferPool } from "./buffer-pool.js";

describe("BufferPool", () => {
  it("lends a given-back buffer again, and not before its last holder is done", () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take(100);
    expect(a.length).toBe(100);
    pool.hold(a.subarray(10, 20)); // a second holder, through a view
    pool.give(a);
    expect(pool.freeCount).toBe(0);
    const b = pool.take(100);
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
    const a = pool.take(10);
    pool.give(a);
    pool.give(a);
    expect(pool.freeCount).toBe(1);
    const b = pool.take(10);
    const c = pool.take(10);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it("allocates requests over its capacity as usual and keeps at most maxFree buffers", () => {
    const pool = new BufferPool(1024, 2);
    const big = pool.take(4096);
    expect(big.length).toBe(4096);
    pool.give(big);
    expect(pool.freeCount).toBe(0);
    const lent = [pool.take(1), pool.take(1), pool.take(1)];
    for (const b of lent) pool.give(b);
    expect(pool.freeCount).toBe(2);
  });
});
