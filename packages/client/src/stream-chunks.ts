import { TrainfsError } from "@trainfs/core";
import { BufferPool } from "@trainfs/node";

/** Bytes of each part a stream is regrouped into (the data path's ~1 MiB frames). */
const PART = 1024 * 1024;

/**
 * Parts of streams being written, recycled. A stream's own buffers (64 KiB
 * socket reads, say) are copied once into these: frames to the DataNodes are
 * ~1 MiB whatever the stream gives, and a chunk kept for a resend does not
 * pin the stream's buffers. Not `partBuffers`: the data-transfer client gives
 * those back once sent, and these are kept until the chain acknowledged them.
 */
const streamParts = new BufferPool(PART, 64);

type Piece = Buffer;

/**
 * Longest a part waits to be filled before it goes out as it is: a slow
 * stream's bytes still reach the chain every second or so, so that its
 * idle guard (made for hung DataNodes) never mistakes a slow writer for one.
 */
const PART_WAIT_MS = 1000;

/** Reads a stream's bytes into parts of at most PART bytes, cut where the caller says. */
class PartReader {
  private readonly input: AsyncIterator<Uint8Array>;
  private rest: Piece = Buffer.alloc(0);
  private ended = false;
  /** Bytes handed out so far. */
  position = 0;

  constructor(stream: AsyncIterable<Uint8Array>) {
    this.input = stream[Symbol.asyncIterator]();
  }

  /** The next part of at most `max` bytes (shorter only at the stream's end), or undefined at the end. */
  async part(max: number): Promise<Piece | undefined> {
    let part: Buffer | undefined;
    let filled = 0;
    const want = Math.min(max, PART);
    const started = Date.now();
    while (filled < want) {
      if (this.rest.length === 0) {
        if (this.ended || (filled > 0 && Date.now() - started >= PART_WAIT_MS)) break;
        const next = await this.input.next();
        if (next.done) {
          this.ended = true;
          break;
        }
        const v = next.value;
        this.rest = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        continue;
      }
      part ??= streamParts.take(want);
      const n = this.rest.copy(part, filled, 0, Math.min(want - filled, this.rest.length));
      filled += n;
      this.rest = this.rest.subarray(n);
    }
    if (!part || filled === 0) {
      if (part) streamParts.give(part);
      return undefined;
    }
    this.position += filled;
    if (filled < part.length / 2 && filled < want) {
      // Cut short (a slow stream, or its end): kept at its own size, the pooled part reused.
      const exact = Buffer.from(part.subarray(0, filled));
      streamParts.give(part);
      return exact;
    }
    return filled === part.length ? part : part.subarray(0, filled);
  }

  /** Whether the stream has ended (reading on to find out, which runs whatever it checks at its end). */
  async atEnd(): Promise<boolean> {
    while (this.rest.length === 0 && !this.ended) {
      const next = await this.input.next();
      if (next.done) this.ended = true;
      else this.rest = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
    return this.rest.length === 0;
  }

  /** Lets go of the stream (a failed write). */
  close(): void {
    Promise.resolve(this.input.return?.()).catch(() => {});
  }
}

/** Gives parts back for reuse, once nothing reads them any more. */
export function releaseParts(parts: Uint8Array[]): void {
  for (const p of parts) streamParts.give(p);
}

/**
 * Cuts a stream of unknown length into chunks of `chunkSize` as it arrives,
 * each a list of ~1 MiB recycled parts (filled one at a time as bytes
 * arrive), so a small stream costs one part, not a chunk. The caller releases a
 * chunk's parts once its chain acknowledged them.
 */
export async function* partsByChunk(stream: AsyncIterable<Uint8Array>, chunkSize: number): AsyncGenerator<{ parts: Buffer[]; length: number }> {
  const reader = new PartReader(stream);
  for (;;) {
    const parts: Buffer[] = [];
    let length = 0;
    while (length < chunkSize) {
      const p = await reader.part(chunkSize - length);
      if (!p) break;
      parts.push(p);
      length += p.length;
    }
    if (length === 0) return;
    yield { parts, length };
    if (length < chunkSize) return;
  }
}

interface Slot {
  parts: Buffer[];
  complete: boolean;
}

/**
 * A stream of known length, read once in order, served to a known-size
 * write as the byte range of each planned chunk: the chunk being read
 * streams to its chain as its bytes arrive (nothing waits for a whole
 * chunk), and its parts are kept until `release` (its chain acknowledged
 * it), so that a chain recovery sends the same bytes again. The write driver
 * starts chunks in order, `concurrency` at a time, so that many chunks at
 * most are held; a chunk whose range is not next in the stream waits until
 * the ones before it are read.
 */
export class SequentialChunks {
  private readonly reader: PartReader;
  private readonly held = new Map<number, Slot>();
  private reading: Promise<unknown> = Promise.resolve();
  private failure: { err: unknown } | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    stream: AsyncIterable<Uint8Array>,
    private readonly size: number,
  ) {
    this.reader = new PartReader(stream);
  }

  /** Bytes [start, end) of the stream (a chunk's range, as the chunk sender asks for it), in parts. */
  async *range(start: number, end: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; ; i++) {
      const part = await this.partAt(start, end, i);
      if (!part) return;
      yield part;
    }
  }

  /**
   * Resolves once the chunk [start, end) has its first bytes (the chunks
   * before it read): its chain is opened then, not while earlier chunks
   * are still arriving, which could outlast the chain's idle guard.
   */
  async firstBytes(start: number, end: number): Promise<void> {
    await this.partAt(start, end, 0);
  }

  /** The chunk at `start` was acknowledged by its chain: its parts are given back. */
  release(start: number): void {
    const slot = this.held.get(start);
    if (!slot?.complete) return;
    this.held.delete(start);
    releaseParts(slot.parts);
  }

  /** The write failed: every chunk waiting for the stream fails too, and the stream is let go. */
  fail(err: unknown): void {
    this.failure ??= { err };
    this.wake();
    this.reader.close();
  }

  /** Part `i` of the chunk [start, end), read from the stream when it is the next one; undefined past its end. */
  private async partAt(start: number, end: number, i: number): Promise<Buffer | undefined> {
    for (;;) {
      if (this.failure) throw this.failure.err;
      const slot = this.held.get(start);
      if (slot && i < slot.parts.length) return slot.parts[i];
      if (slot?.complete) return undefined;
      if (this.reader.position < start) {
        // An earlier chunk is still being read.
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      if (!slot && this.reader.position > start) {
        throw new TrainfsError("internal", `the chunk at ${start} was asked for after the stream moved past it (${this.reader.position})`);
      }
      await this.readInto(start, end);
    }
  }

  /** Reads the next part of the chunk [start, end) (one read at a time). */
  private readInto(start: number, end: number): Promise<unknown> {
    const run = this.reading.then(async () => {
      if (this.failure) return;
      let slot = this.held.get(start);
      if (slot?.complete || this.reader.position < start || this.reader.position >= end) return;
      if (!slot) {
        slot = { parts: [], complete: false };
        this.held.set(start, slot);
      }
      const part = await this.reader.part(end - this.reader.position);
      if (!part) throw new TrainfsError("invalid_argument", `the stream ended after ${this.reader.position} bytes, before the ${this.size} it was said to have`);
      slot.parts.push(part);
      if (this.reader.position === end) {
        if (end === this.size && !(await this.reader.atEnd())) {
          throw new TrainfsError("invalid_argument", `the stream is longer than the ${this.size} bytes it was said to have`);
        }
        slot.complete = true;
      }
      this.wake();
    });
    this.reading = run.catch((err: unknown) => this.fail(err));
    return run;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
