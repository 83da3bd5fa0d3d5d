/**
 * Recycled buffers for the data path's ~1 MiB parts. Every part allocated
 * anew grows V8's external memory, and V8 runs a full collection on every
 * ~64 MiB of such growth, so fresh parts would keep every process that
 * moves chunk bytes collecting.
 *
 * A lent buffer has holders: one when taken, one more per `hold`. Each
 * holder gives it back once it no longer reads or writes it (its file write
 * resolved, its socket write called back); after the last, it is lent
 * again. A holder that cannot tell when it is done simply never gives it
 * back, and the buffer is collected as any other, so forgetting is safe
 * and giving back early is the one mistake to avoid.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private readonly holders = new WeakMap<ArrayBuffer, number>();

  constructor(
    /** Bytes of each pooled buffer; larger requests are allocated as usual. */
    readonly capacity: number,
    /** Buffers kept for reuse at most (the rest are left to the collector). */
    private readonly maxFree: number,
  ) {}

  /**
   * A buffer of `length` bytes (contents undefined), recycled when one is
   * free; the caller holds it. Only lengths of at least half the capacity
   * come from the pool: a small file's 4 KiB in a pooled 1 MiB buffer that
   * its reader keeps would cost a collection every 64 files instead.
   */
  take(length: number): Buffer {
    if (length > this.capacity || length < this.capacity / 2) return Buffer.allocUnsafe(length);
    const reused = this.free.pop();
    if (reused) this.reused++;
    const backing = reused ?? Buffer.allocUnsafeSlow(this.capacity).buffer;
    this.holders.set(backing, 1);
    return Buffer.from(backing, 0, length);
  }

  /** One more holder of a buffer this pool lent (or of any view of it); others are ignored. */
  hold(view: Uint8Array): void {
    const n = this.holders.get(view.buffer as ArrayBuffer);
    if (n !== undefined) this.holders.set(view.buffer as ArrayBuffer, n + 1);
  }

  /** A holder is done with the buffer (or any view of it); buffers this pool did not lend are ignored. */
  give(view: Uint8Array): void {
    const backing = view.buffer as ArrayBuffer;
    const n = this.holders.get(backing);
    if (n === undefined) return;
    if (n > 1) {
      this.holders.set(backing, n - 1);
      return;
    }
    this.holders.delete(backing);
    if (this.free.length < this.maxFree) this.free.push(backing);
  }

  /** Takes served by a given-back buffer, since the start. */
  reused = 0;

  /** Buffers waiting to be lent again. */
  get freeCount(): number {
    return this.free.length;
  }
}
