import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Crc32, DATA_PART_BYTES, TrainfsError } from "@trainfs/common";

export interface StoredChunk {
  chunkId: string;
  length: number;
  checksum: number;
}

const CHUNK_ID = /^[0-9a-f]{32}$/;

export function checkChunkId(chunkId: string): void {
  if (!CHUNK_ID.test(chunkId)) {
    throw new TrainfsError("invalid_argument", `invalid chunk id ${JSON.stringify(chunkId.slice(0, 64))}: expected 32 lowercase hex digits`);
  }
}

/**
 * Chunks as plain files: `chunks/<first two hex digits>/<chunk id>` holds the
 * bytes and `<chunk id>.meta` beside it the length and CRC-32, so a restart
 * can report every chunk without reading it. A chunk being received lives in
 * `tmp/` until it is complete, verified and fsynced; only then is it renamed
 * into place, so no half-written chunk ever carries a final name.
 */
export class ChunkStore {
  private used = 0;
  private count = 0;

  private constructor(
    readonly dir: string,
    private readonly capacityLimit: number | undefined,
  ) {}

  static async open(dir: string, capacityLimit?: number): Promise<ChunkStore> {
    const store = new ChunkStore(dir, capacityLimit);
    await mkdir(join(dir, "chunks"), { recursive: true });
    // Partial writes from before a crash are never valid chunks.
    await rm(join(dir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    for (const chunk of await store.list()) {
      store.used += chunk.length;
      store.count++;
    }
    return store;
  }

  get chunkCount(): number {
    return this.count;
  }

  /** Bytes of chunk files held. */
  get usedBytes(): number {
    return this.used;
  }

  /** Capacity and free bytes of the disk, capped by the configured capacity. */
  async space(): Promise<{ capacityBytes: number; freeBytes: number }> {
    const fs = await statfs(this.dir);
    const diskCapacity = fs.blocks * fs.bsize;
    const diskFree = fs.bavail * fs.bsize;
    if (this.capacityLimit === undefined) return { capacityBytes: diskCapacity, freeBytes: diskFree };
    return {
      capacityBytes: Math.min(diskCapacity, this.capacityLimit),
      freeBytes: Math.max(0, Math.min(diskFree, this.capacityLimit - this.used)),
    };
  }

  async createWriter(chunkId: string, length: number): Promise<ChunkWriter> {
    checkChunkId(chunkId);
    const { freeBytes } = await this.space();
    if (length > freeBytes) {
      throw new TrainfsError("resource_exhausted", `no room for chunk ${chunkId}: ${length} bytes needed, ${freeBytes} free`);
    }
    const tmpPath = join(this.dir, "tmp", `${chunkId}.${randomBytes(4).toString("hex")}`);
    const handle = await open(tmpPath, "wx");
    return new ChunkWriter(this, chunkId, length, tmpPath, handle);
  }

  /** Moves a complete, fsynced temporary file into place with its metadata. */
  async install(chunkId: string, tmpPath: string, digest: StoredChunk): Promise<void> {
    const dir = this.chunkDir(chunkId);
    if (await mkdir(dir, { recursive: true })) await fsyncDir(join(this.dir, "chunks"));
    const previous = await this.stat(chunkId);
    const dataPath = join(dir, chunkId);
    // A rewrite of a chunk removes the old bytes first, so a crash can never
    // pair new metadata with old data (metadata without data is dropped at start).
    if (previous) await rm(dataPath, { force: true });
    const metaTmp = `${tmpPath}.meta`;
    await writeDurably(metaTmp, JSON.stringify({ length: digest.length, checksum: digest.checksum }));
    await rename(metaTmp, `${dataPath}.meta`);
    await rename(tmpPath, dataPath);
    await fsyncDir(dir);
    if (previous) {
      this.used -= previous.length;
      this.count--;
    }
    this.used += digest.length;
    this.count++;
  }

  async stat(chunkId: string): Promise<StoredChunk | undefined> {
    checkChunkId(chunkId);
    const dataPath = join(this.chunkDir(chunkId), chunkId);
    let meta: string;
    try {
      meta = await readFile(`${dataPath}.meta`, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const parsed = JSON.parse(meta) as { length: number; checksum: number };
    try {
      await stat(dataPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    return { chunkId, length: parsed.length, checksum: parsed.checksum };
  }

  /** Streams [offset, offset + length) of a chunk in parts of about 1 MiB. */
  async *read(chunkId: string, offset: number, length: number): AsyncGenerator<Buffer> {
    if (length === 0) return;
    const stream = createReadStream(join(this.chunkDir(chunkId), chunkId), {
      start: offset,
      end: offset + length - 1,
      highWaterMark: DATA_PART_BYTES,
    });
    let sent = 0;
    for await (const part of stream as AsyncIterable<Buffer>) {
      sent += part.length;
      yield part;
    }
    if (sent !== length) {
      throw new TrainfsError("data_loss", `chunk ${chunkId} is shorter on disk than its metadata says (${offset + sent} < ${offset + length})`);
    }
  }

  /** Every complete chunk, from the metadata files (data read only where metadata is missing). */
  async list(): Promise<StoredChunk[]> {
    const out: StoredChunk[] = [];
    const root = join(this.dir, "chunks");
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !/^[0-9a-f]{2}$/.test(entry.name)) continue;
      const dir = join(root, entry.name);
      const names = new Set(await readdir(dir));
      for (const name of names) {
        if (name.endsWith(".meta")) {
          if (!names.has(name.slice(0, -5))) await rm(join(dir, name), { force: true });
          continue;
        }
        if (!CHUNK_ID.test(name)) continue;
        if (names.has(`${name}.meta`)) {
          const chunk = await this.stat(name);
          if (chunk) out.push(chunk);
        } else {
          out.push(await this.rebuildMeta(name));
        }
      }
    }
    return out;
  }

  async delete(chunkId: string): Promise<void> {
    const previous = await this.stat(chunkId);
    const dataPath = join(this.chunkDir(chunkId), chunkId);
    await rm(dataPath, { force: true });
    await rm(`${dataPath}.meta`, { force: true });
    if (previous) {
      this.used -= previous.length;
      this.count--;
    }
  }

  chunkPath(chunkId: string): string {
    return join(this.chunkDir(chunkId), chunkId);
  }

  private chunkDir(chunkId: string): string {
    return join(this.dir, "chunks", chunkId.slice(0, 2));
  }

  private async rebuildMeta(chunkId: string): Promise<StoredChunk> {
    const crc = new Crc32();
    for await (const part of createReadStream(this.chunkPath(chunkId), { highWaterMark: DATA_PART_BYTES })) {
      crc.update(part as Buffer);
    }
    const digest = { chunkId, length: crc.length, checksum: crc.digest() };
    await writeDurably(`${this.chunkPath(chunkId)}.meta`, JSON.stringify({ length: digest.length, checksum: digest.checksum }));
    return digest;
  }
}

/** A chunk being received into a temporary file. */
export class ChunkWriter {
  private readonly crc = new Crc32();
  private closed = false;

  constructor(
    private readonly store: ChunkStore,
    readonly chunkId: string,
    readonly length: number,
    private readonly tmpPath: string,
    private readonly handle: FileHandle,
  ) {}

  get received(): number {
    return this.crc.length;
  }

  get checksum(): number {
    return this.crc.digest();
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.crc.length + data.byteLength > this.length) {
      throw new TrainfsError("invalid_argument", `chunk ${this.chunkId}: more than the declared ${this.length} bytes were sent`);
    }
    this.crc.update(data);
    let written = 0;
    while (written < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, written, data.byteLength - written);
      written += bytesWritten;
    }
  }

  /** Verifies length and checksum, fsyncs, and renames the chunk into place. */
  async commit(expectedChecksum: number): Promise<StoredChunk> {
    if (this.crc.length !== this.length) {
      throw new TrainfsError("invalid_argument", `chunk ${this.chunkId}: received ${this.crc.length} bytes, expected ${this.length}`);
    }
    if (this.crc.digest() !== expectedChecksum >>> 0) {
      throw new TrainfsError(
        "data_loss",
        `chunk ${this.chunkId}: checksum mismatch (received bytes have ${this.crc.digest().toString(16)}, sender computed ${(expectedChecksum >>> 0).toString(16)})`,
      );
    }
    await this.handle.sync();
    await this.handle.close();
    this.closed = true;
    const digest = { chunkId: this.chunkId, length: this.length, checksum: this.crc.digest() };
    await this.store.install(this.chunkId, this.tmpPath, digest);
    return digest;
  }

  /** Drops the temporary file; safe to call at any point, and more than once. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => {});
    }
    await rm(this.tmpPath, { force: true });
  }
}

async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
