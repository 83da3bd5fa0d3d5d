import { rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { TrainfsError, writeDurably } from "@trainfs/common";
import { PieceChecksums, encodeMeta, wholeChecksum } from "./chunk-meta.js";
import type { ChunkStore, StoredChunk } from "./chunk-store.js";

/**
 * A chunk being received: bytes in order, then `commit` with the sender's
 * CRC-32, or `abort`. Whether it becomes a plain file or a packed record
 * (see ChunkStore.createWriter) is the store's business.
 */
export interface ChunkWriter {
  readonly chunkId: string;
  readonly length: number;
  readonly received: number;
  write(data: Uint8Array): Promise<void>;
  commit(expectedChecksum: number): Promise<StoredChunk>;
  abort(): Promise<void>;
}

/** The checks every writer makes at commit: every declared byte received, and the sender's CRC-32 matched. Returns the CRC-32. */
export function checkReceived(chunkId: string, received: number, length: number, pieces: readonly number[], pieceSize: number, expectedChecksum: number): number {
  if (received !== length) {
    throw new TrainfsError("invalid_argument", `chunk ${chunkId}: received ${received} bytes, expected ${length}`);
  }
  const checksum = wholeChecksum(pieces, pieceSize, length);
  if (checksum !== expectedChecksum >>> 0) {
    throw new TrainfsError(
      "data_loss",
      `chunk ${chunkId}: checksum mismatch (received bytes have ${checksum.toString(16)}, sender computed ${(expectedChecksum >>> 0).toString(16)})`,
    );
  }
  return checksum;
}

/** A full disk is this node's, said so (ResourceExhausted), not an internal error of unknown origin. */
export function localDiskError(chunkId: string, err: unknown): unknown {
  if ((err as NodeJS.ErrnoException).code !== "ENOSPC") return err;
  return new TrainfsError("resource_exhausted", `no room for chunk ${chunkId} on this DataNode: its disk is full (${(err as Error).message})`, { cause: err });
}

/** Either writer refuses bytes past the length the chunk was declared with. */
function refuseBeyondLength(chunkId: string, received: number, length: number): void {
  if (received > length) throw new TrainfsError("invalid_argument", `chunk ${chunkId}: more than the declared ${length} bytes were sent`);
}

/** A chunk being received into a temporary file, with its checksums computed on the way. */
export class FileChunkWriter implements ChunkWriter {
  private readonly pieces: PieceChecksums;
  private bytes = 0;
  private closed = false;
  /** Bytes covered by the last background flush started (sync behind writes). */
  private flushedTo = 0;
  private flushing: Promise<void> | undefined;
  /** A background flush's failure: the final fsync might not report it again (the kernel reports a write-back error once per open file). */
  private flushError: unknown;

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
    return this.bytes;
  }

  async write(data: Uint8Array): Promise<void> {
    refuseBeyondLength(this.chunkId, this.bytes + data.byteLength, this.length);
    // One pass over the bytes: the whole chunk's CRC-32 is folded from the pieces' at the end.
    this.pieces.update(data);
    this.bytes += data.byteLength;
    let written = 0;
    try {
      while (written < data.byteLength) {
        const { bytesWritten } = await this.handle.write(data, written, data.byteLength - written);
        written += bytesWritten;
      }
    } catch (err) {
      throw this.local(err);
    }
    this.flushBehind();
  }

  private local(err: unknown): unknown {
    return localDiskError(this.chunkId, err);
  }

  /**
   * Sync behind writes (as HDFS's dfs.datanode.sync.behind.writes): every
   * `syncBehindBytes` received, the bytes so far start going to disk in the
   * background (one flush at a time), so that the disk works while the rest
   * of the chunk streams in. Without it the kernel keeps everything in the
   * page cache until the final fsync, and every chunk of a put flushes at
   * its end at once, with the network idle.
   */
  private flushBehind(): void {
    const every = this.store.syncBehindBytes;
    if (every <= 0 || this.flushing || this.bytes - this.flushedTo < every) return;
    this.flushedTo = this.bytes;
    this.flushing = this.handle.datasync().then(
      () => {
        this.flushing = undefined;
      },
      (err: unknown) => {
        this.flushing = undefined;
        this.flushError ??= err;
      },
    );
  }

  /** Verifies length and checksum, fsyncs, and renames the chunk into place with its metadata. */
  async commit(expectedChecksum: number): Promise<StoredChunk> {
    const pieces = this.pieces.finish();
    const checksum = checkReceived(this.chunkId, this.bytes, this.length, pieces, this.store.pieceSize, expectedChecksum);
    await this.flushing;
    if (this.flushError !== undefined) throw this.flushError;
    const meta = { length: this.length, checksum, pieceSize: this.store.pieceSize, pieces };
    // The data's fsync and the metadata's write and fsync overlap: both files
    // are durable before either is renamed into place.
    try {
      await Promise.all([
        timed(this.handle.sync(), this.store.onFsync).then(() => {
          this.closed = true;
          return this.handle.close();
        }),
        writeDurably(`${this.tmpPath}.meta`, encodeMeta(meta)),
      ]);
      await this.store.install(this.chunkId, this.tmpPath, `${this.tmpPath}.meta`, meta.length);
    } catch (err) {
      throw this.local(err);
    }
    return { chunkId: this.chunkId, length: this.length, checksum };
  }

  /** Drops the temporary file; safe to call at any point, and more than once. */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.flushing;
      await this.handle.close().catch(() => {});
    }
    await rm(this.tmpPath, { force: true });
    await rm(`${this.tmpPath}.meta`, { force: true });
  }
}

async function timed(work: Promise<void>, observe: (seconds: number) => void): Promise<void> {
  const started = performance.now();
  await work;
  observe((performance.now() - started) / 1000);
}

/**
 * A chunk small enough to be packed (ChunkStore's `packedChunkMaxBytes`):
 * received into memory, then appended to a volume at commit as one record,
 * acknowledged once the group fsync covering it is done.
 */
export class PackedChunkWriter implements ChunkWriter {
  private readonly pieces: PieceChecksums;
  private readonly data: Buffer;
  private bytes = 0;

  constructor(
    private readonly store: ChunkStore,
    readonly chunkId: string,
    readonly length: number,
  ) {
    this.pieces = new PieceChecksums(store.pieceSize);
    this.data = Buffer.allocUnsafe(length);
  }

  get received(): number {
    return this.bytes;
  }

  async write(data: Uint8Array): Promise<void> {
    refuseBeyondLength(this.chunkId, this.bytes + data.byteLength, this.length);
    this.pieces.update(data);
    this.data.set(data, this.bytes);
    this.bytes += data.byteLength;
  }

  async commit(expectedChecksum: number): Promise<StoredChunk> {
    const pieces = this.pieces.finish();
    const checksum = checkReceived(this.chunkId, this.bytes, this.length, pieces, this.store.pieceSize, expectedChecksum);
    try {
      await this.store.installPacked(this.chunkId, this.data, pieces);
    } catch (err) {
      throw localDiskError(this.chunkId, err);
    }
    return { chunkId: this.chunkId, length: this.length, checksum };
  }

  /** Nothing reached the disk before commit: nothing to remove. */
  async abort(): Promise<void> {}
}
