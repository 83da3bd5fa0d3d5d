import { rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { Crc32, TrainfsError } from "@trainfs/common";
import { PieceChecksums, encodeMeta } from "./chunk-meta.js";
import { writeDurably, type ChunkStore, type StoredChunk } from "./chunk-store.js";

/** A chunk being received into a temporary file, with its checksums computed on the way. */
export class ChunkWriter {
  private readonly crc = new Crc32();
  private readonly pieces: PieceChecksums;
  private closed = false;

  constructor(
    private readonly store: ChunkStore,
    readonly chunkId: string,
    readonly length: number,
    private readonly tmpPath: string,
    private readonly handle: FileHandle,
  ) {
    this.pieces = new PieceChecksums(store.pieceSize);
  }

  get received(): number {
    return this.crc.length;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.crc.length + data.byteLength > this.length) {
      throw new TrainfsError("invalid_argument", `chunk ${this.chunkId}: more than the declared ${this.length} bytes were sent`);
    }
    this.crc.update(data);
    this.pieces.update(data);
    let written = 0;
    while (written < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, written, data.byteLength - written);
      written += bytesWritten;
    }
  }

  /** Verifies length and checksum, fsyncs, and renames the chunk into place with its metadata. */
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
    const checksum = this.crc.digest();
    const meta = { length: this.length, checksum, pieceSize: this.store.pieceSize, pieces: this.pieces.finish() };
    // The data's fsync and the metadata's write and fsync overlap: both files
    // are durable before either is renamed into place.
    await Promise.all([
      this.handle.sync().then(() => {
        this.closed = true;
        return this.handle.close();
      }),
      writeDurably(`${this.tmpPath}.meta`, encodeMeta(meta)),
    ]);
    await this.store.install(this.chunkId, this.tmpPath, `${this.tmpPath}.meta`, meta.length);
    return { chunkId: this.chunkId, length: this.length, checksum };
  }

  /** Drops the temporary file; safe to call at any point, and more than once. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => {});
    }
    await rm(this.tmpPath, { force: true });
    await rm(`${this.tmpPath}.meta`, { force: true });
  }
}
