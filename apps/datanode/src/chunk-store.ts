import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { join } from "node:path";
import { TrainfsError, fsyncDirectory, partBuffers, writeDurably, type ChunkSource, type Logger } from "@trainfs/common";
import { PIECE_BYTES, PieceChecksums, encodeMeta, parseMeta, wholeChecksum, type ChunkMeta } from "./chunk-meta.js";
import { FileChunkWriter, PackedChunkWriter, type ChunkWriter } from "./chunk-writer.js";
import { VolumeStore, type PackedEntry, type VolumeSettings } from "./volumes/volume-store.js";

export interface StoredChunk {
  chunkId: string;
  length: number;
  checksum: number;
}

/** Verified bytes of a chunk: whole pieces from `offset`, with their checksums. */
export interface VerifiedPart {
  offset: number;
  data: Buffer;
  checksums: number[];
}

/** This replica is bad: its bytes, its metadata or its file are not what was written. */
export class CorruptReplicaError extends TrainfsError {
  constructor(
    readonly chunkId: string,
    readonly reason: string,
  ) {
    super("data_loss", `chunk ${chunkId} is corrupt on this DataNode: ${reason}`);
  }
}

const CHUNK_ID = /^[0-9a-f]{32}$/;
/**
 * How long a statfs answer is reused: every chunk write checks for room, and
 * a statfs per small chunk is too costly; installs in between are
 * subtracted, so the estimate only misses other writers on the same disk.
 */
const STATFS_TTL_MS = 1000;
/** Pieces per read message: about 1 MiB, as the data parts of writes. */
const PIECES_PER_PART = 16;
export const DEFAULT_SYNC_BEHIND_BYTES = 8 * 1024 * 1024;
export const DEFAULT_PACKED_CHUNK_MAX_BYTES = 1024 * 1024;

export interface ChunkStoreOptions {
  /** Chunks of at most this many bytes are packed into volumes; 0 stores every chunk as a plain file. */
  packedChunkMaxBytes?: number;
  /** The volumes' size and compaction settings. */
  volumes?: Partial<VolumeSettings>;
  logger?: Logger;
}

export function checkChunkId(chunkId: string): void {
  if (!CHUNK_ID.test(chunkId)) {
    throw new TrainfsError("invalid_argument", `invalid chunk id ${JSON.stringify(chunkId.slice(0, 64))}: expected 32 lowercase hex digits`);
  }
}

/**
 * A DataNode's chunks, in one of two formats that only this class knows of:
 * small chunks (at most `packedChunkMaxBytes`) are records in append-only
 * volumes (`volumes/`, see volumes/volume-store.ts), made durable many at a
 * time by group commit; larger ones are plain files.
 *
 * Plain files: `chunks/<first two hex digits>/<chunk id>` holds the
 * bytes and `<chunk id>.meta` beside it the length, CRC-32 and per-piece
 * CRC-32s (see chunk-meta.ts), so a restart can report every chunk without
 * reading it. A chunk being received lives in `tmp/` until it is complete,
 * verified and fsynced; only then is it renamed into place, so no half-written
 * chunk ever carries a final name. A replica found bad is quarantined: renamed
 * to `<chunk id>.corrupt`, no longer served or reported, kept until the
 * NameNode's trash removes it.
 */
export class ChunkStore {
  /** Chunk id → length of every chunk held under its final name. */
  private readonly inventory = new Map<string, number>();
  private used = 0;
  /** The disk's size and free space at the last statfs, and the bytes held then. */
  private disk: { atMs: number; capacity: number; free: number; used: number } | undefined;
  /**
   * Prefix directories known to exist, and chunks with a `.corrupt` file: an
   * install checks both, so a small chunk's install spares a mkdir and an
   * unlink among its few file-system calls.
   */
  private readonly knownDirs = new Set<string>();
  private readonly quarantined = new Set<string>();
  /** Chunks whose install is under way: a second install of one of them is refused, never run beside it. */
  private readonly installing = new Set<string>();

  /** Bytes of a chunk being received after which they start going to disk in the background (0: only the final fsync). */
  syncBehindBytes = DEFAULT_SYNC_BEHIND_BYTES;
  /** Told how long each chunk's final fsync took, in seconds (the fsync latency histogram). */
  onFsync: (seconds: number) => void = () => {};
  private diskIdValue: string | undefined;
  /** Packed chunks (always opened, so chunks packed before `packedChunkMaxBytes` was lowered stay readable). */
  readonly volumes: VolumeStore;
  readonly packedChunkMaxBytes: number;

  private constructor(
    readonly dir: string,
    private readonly capacityLimit: number | undefined,
    readonly pieceSize: number,
    volumes: VolumeStore,
    packedChunkMaxBytes: number,
  ) {
    this.volumes = volumes;
    this.packedChunkMaxBytes = packedChunkMaxBytes;
  }

  /**
   * Opens the store; without `options.packedChunkMaxBytes` every new chunk
   * is a plain file (the DataNode passes its setting, 1 MiB by default).
   */
  static async open(dir: string, capacityLimit?: number, pieceSize = PIECE_BYTES, options: ChunkStoreOptions = {}): Promise<ChunkStore> {
    await mkdir(join(dir, "chunks"), { recursive: true });
    const volumes = await VolumeStore.open(join(dir, "volumes"), options.volumes, options.logger);
    const store = new ChunkStore(dir, capacityLimit, pieceSize, volumes, Math.max(0, options.packedChunkMaxBytes ?? 0));
    // Partial writes from before a crash are never valid chunks.
    await rm(join(dir, "tmp"), { recursive: true, force: true });
    await mkdir(join(dir, "tmp"), { recursive: true });
    for (const chunk of await store.scan()) store.remember(chunk.chunkId, chunk.length);
    for (const entry of volumes.liveEntries()) store.remember(entry.chunkId, entry.length);
    volumes.onFsync = (seconds) => store.onFsync(seconds);
    volumes.scheduleCompaction();
    return store;
  }

  /** Finishes queued packed writes and closes the volumes. */
  async close(): Promise<void> {
    await this.volumes.close();
  }

  get chunkCount(): number {
    return this.inventory.size;
  }

  /** Bytes of chunk files held. */
  get usedBytes(): number {
    return this.used;
  }

  has(chunkId: string): boolean {
    return this.inventory.has(chunkId);
  }

  /**
   * Throws already_exists when the chunk is held under its final name (or is
   * being installed): a stored chunk is immutable, whatever the token. A
   * quarantined replica is not held, so a fresh copy may replace it.
   */
  refuseIfHeld(chunkId: string): void {
    if (this.inventory.has(chunkId) || this.installing.has(chunkId)) {
      throw new TrainfsError("already_exists", `chunk ${chunkId} is already stored on this DataNode; a stored chunk is never written again`);
    }
  }

  /** The length of a chunk held, from memory (no I/O); undefined if not held. */
  lengthOf(chunkId: string): number | undefined {
    return this.inventory.get(chunkId);
  }

  /** Ids of every chunk held, as known since start (a file deleted behind our back is still listed). */
  ids(): string[] {
    return [...this.inventory.keys()];
  }

  /** Capacity and free bytes of the disk, capped by the configured capacity. */
  /**
   * The filesystem holding the data directory (its st_dev): DataNodes of one
   * host that report the same id share one disk, which the NameNode then
   * counts once. statfs's figures cannot tell two equal disks apart. A
   * store capped by the `capacity` setting reports none: its cap is its own.
   */
  async diskId(): Promise<string> {
    if (this.capacityLimit !== undefined) return "";
    this.diskIdValue ??= String((await stat(this.dir)).dev);
    return this.diskIdValue;
  }

  async space(): Promise<{ capacityBytes: number; freeBytes: number }> {
    const fs = await statfs(this.dir);
    this.disk = { atMs: Date.now(), capacity: fs.blocks * fs.bsize, free: fs.bavail * fs.bsize, used: this.used };
    return this.capped(this.disk.capacity, this.disk.free);
  }

  /**
   * Free bytes for the room check of a write: the last statfs if under a
   * second old, less the chunks installed since (no statfs per small chunk).
   * Heartbeats report a fresh `space()`.
   */
  private async freeForWrite(): Promise<number> {
    if (!this.disk || Date.now() - this.disk.atMs > STATFS_TTL_MS) return (await this.space()).freeBytes;
    return this.capped(this.disk.capacity, Math.max(0, this.disk.free - Math.max(0, this.used - this.disk.used))).freeBytes;
  }

  private capped(diskCapacity: number, diskFree: number): { capacityBytes: number; freeBytes: number } {
    if (this.capacityLimit === undefined) return { capacityBytes: diskCapacity, freeBytes: diskFree };
    return {
      capacityBytes: Math.min(diskCapacity, this.capacityLimit),
      freeBytes: Math.max(0, Math.min(diskFree, this.capacityLimit - this.used)),
    };
  }

  /**
   * A writer for a new chunk: into memory and then a volume record when it
   * is small enough to be packed, else into a new temporary file. `tag`
   * (safe characters only) names the file after a part-upload session, so
   * its owner is visible on disk (part uploads are always plain files: a
   * browser's session may stay open a minute between parts, too long to
   * hold its bytes in memory).
   */
  async createWriter(chunkId: string, length: number, tag?: string): Promise<ChunkWriter> {
    checkChunkId(chunkId);
    this.refuseIfHeld(chunkId);
    if (tag !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(tag)) throw new TrainfsError("invalid_argument", "invalid temporary file tag");
    const freeBytes = await this.freeForWrite();
    if (length > freeBytes) {
      throw new TrainfsError("resource_exhausted", `no room for chunk ${chunkId} on this DataNode: ${length} bytes needed, ${freeBytes} free`);
    }
    if (tag === undefined && length <= this.packedChunkMaxBytes) return new PackedChunkWriter(this, chunkId, length);
    const tmpPath = join(this.dir, "tmp", `${chunkId}.${tag ? `part-${tag}` : randomBytes(4).toString("hex")}`);
    const handle = await open(tmpPath, "wx");
    return new FileChunkWriter(this, chunkId, length, tmpPath, handle);
  }

  /**
   * Appends a complete, verified small chunk to a volume; resolves once the
   * group fsync covering its record is done. Refused with already_exists as
   * `install` is.
   */
  async installPacked(chunkId: string, data: Uint8Array, pieces: number[]): Promise<void> {
    this.refuseIfHeld(chunkId);
    this.installing.add(chunkId);
    try {
      await this.volumes.append(chunkId, data, pieces, this.pieceSize);
      if (this.quarantined.delete(chunkId)) await rm(`${this.chunkPath(chunkId)}.corrupt`, { force: true });
      this.remember(chunkId, data.byteLength);
    } finally {
      this.installing.delete(chunkId);
    }
  }

  /** Whether a chunk held is packed into a volume (else a plain file). */
  isPacked(chunkId: string): boolean {
    return this.volumes.get(chunkId) !== undefined;
  }

  /**
   * Where a replica copy reads the chunk's bytes from (unverified: the
   * copy's footer carries the checksum on record, so a target refuses bad
   * bytes): the plain file's path, or the packed record's data.
   */
  source(chunkId: string): ChunkSource {
    const entry = this.volumes.get(chunkId);
    if (!entry) return this.chunkPath(chunkId);
    const volumes = this.volumes;
    return async function* (start: number, end: number) {
      const data = Buffer.allocUnsafe(end - start);
      const got = await volumes.readData(entry, data, start, end - start);
      if (got < data.length) throw new CorruptReplicaError(chunkId, `its record in volume ${entry.volume.number} is cut short`);
      yield data;
    };
  }

  /**
   * Moves a complete, fsynced temporary file and its fsynced metadata file
   * into place. A chunk already held (or being installed by a concurrent
   * write) is refused with already_exists and left as it is: the first copy
   * to install wins, and a stored chunk's bytes never change.
   */
  async install(chunkId: string, tmpPath: string, metaTmp: string, length: number): Promise<void> {
    // Checked and reserved in one synchronous step: two writes of the same
    // new chunk cannot both pass before either renames.
    this.refuseIfHeld(chunkId);
    this.installing.add(chunkId);
    try {
      const dir = this.chunkDir(chunkId);
      if (!this.knownDirs.has(dir)) {
        if (await mkdir(dir, { recursive: true })) await fsyncDirectory(join(this.dir, "chunks"));
        this.knownDirs.add(dir);
      }
      const dataPath = this.chunkPath(chunkId);
      try {
        await rename(metaTmp, `${dataPath}.meta`);
        await rename(tmpPath, dataPath);
      } catch (err) {
        // The directory went behind our back: made again by the next install.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") this.knownDirs.delete(dir);
        throw err;
      }
      if (this.quarantined.delete(chunkId)) await rm(`${dataPath}.corrupt`, { force: true });
      await fsyncDirectory(dir);
      this.remember(chunkId, length);
    } finally {
      this.installing.delete(chunkId);
    }
  }

  /** Length and checksum from the metadata, or undefined if the chunk is not held. */
  async stat(chunkId: string): Promise<StoredChunk | undefined> {
    checkChunkId(chunkId);
    if (!this.inventory.has(chunkId)) return undefined;
    const packed = this.volumes.get(chunkId);
    if (packed) return { chunkId, length: packed.length, checksum: packed.checksum };
    const meta = await this.readMeta(chunkId);
    return meta && { chunkId, length: meta.length, checksum: meta.checksum };
  }

  /**
   * Streams the whole pieces covering [offset, offset + length), each verified
   * against its checksum before it is handed out. A bad piece, a short or
   * missing file, or unreadable metadata throws CorruptReplicaError.
   */
  async *readVerified(chunkId: string, offset: number, length: number): AsyncGenerator<VerifiedPart> {
    const packed = this.volumes.get(chunkId);
    if (packed) {
      yield* this.readPacked(packed, offset, length);
      return;
    }
    const meta = await this.readMeta(chunkId);
    if (!meta) throw new CorruptReplicaError(chunkId, "its metadata file is missing or unreadable");
    if (length === 0 || meta.length === 0) return;
    const p = meta.pieceSize;
    const first = Math.floor(offset / p);
    const last = Math.floor((offset + length - 1) / p);
    let handle;
    try {
      handle = await open(this.chunkPath(chunkId), "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new CorruptReplicaError(chunkId, "its data file is missing");
      throw err;
    }
    const readPart = async (piece: number): Promise<{ piece: number; start: number; data: Buffer }> => {
      const count = Math.min(PIECES_PER_PART, last - piece + 1);
      const start = piece * p;
      const size = Math.min(count * p, meta.length - start);
      // Lent: whoever sends the part gives it back (see partBuffers).
      const data = partBuffers.take(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await handle.read(data, got, size - got, start + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got < size) throw new CorruptReplicaError(chunkId, `its data file is shorter than ${meta.length} bytes`);
      return { piece, start, data };
    };
    // One part is read ahead while the last one is being sent.
    let ahead: Promise<{ piece: number; start: number; data: Buffer }> | undefined;
    try {
      ahead = readPart(first);
      for (let piece = first; piece <= last; piece += PIECES_PER_PART) {
        const { start, data } = await ahead!;
        const next = piece + PIECES_PER_PART;
        ahead = next <= last ? readPart(next) : undefined;
        ahead?.catch(() => {}); // observed when awaited
        const count = Math.min(PIECES_PER_PART, last - piece + 1);
        const size = data.length;
        const checksums = meta.pieces.slice(piece, piece + count);
        checksums.forEach((expected, i) => {
          const actual = crc32(data.subarray(i * p, Math.min((i + 1) * p, size))) >>> 0;
          if (actual !== expected) throw new CorruptReplicaError(chunkId, `checksum mismatch in piece ${piece + i}`);
        });
        yield { offset: start, data, checksums };
      }
      if (last === Math.ceil(meta.length / p) - 1) {
        const { size } = await handle.stat();
        if (size !== meta.length) throw new CorruptReplicaError(chunkId, `its data file has ${size} bytes, not ${meta.length}`);
      }
    } finally {
      // A read still under way must finish before its file handle closes.
      await ahead?.catch(() => {});
      await handle.close();
    }
  }

  /** readVerified of a packed chunk: its pieces from the volume, each checked against the record's checksums. */
  private async *readPacked(entry: PackedEntry, offset: number, length: number): AsyncGenerator<VerifiedPart> {
    if (length === 0 || entry.length === 0) return;
    const p = entry.pieceSize;
    const first = Math.floor(offset / p);
    const last = Math.floor((offset + length - 1) / p);
    for (let piece = first; piece <= last; piece += PIECES_PER_PART) {
      const count = Math.min(PIECES_PER_PART, last - piece + 1);
      const start = piece * p;
      const size = Math.min(count * p, entry.length - start);
      // Lent: whoever sends the part gives it back (see partBuffers).
      const data = partBuffers.take(size);
      const got = await this.volumes.readData(entry, data, start, size);
      if (got < size) throw new CorruptReplicaError(entry.chunkId, `its record in volume ${entry.volume.number} is cut short`);
      const checksums = entry.pieces.slice(piece, piece + count);
      checksums.forEach((expected, i) => {
        const actual = crc32(data.subarray(i * p, Math.min((i + 1) * p, size))) >>> 0;
        if (actual !== expected) throw new CorruptReplicaError(entry.chunkId, `checksum mismatch in piece ${piece + i}`);
      });
      yield { offset: start, data, checksums };
    }
  }

  /**
   * Reads and checks a whole chunk (the scrubber's job): every piece against
   * its checksum, and, when `expected` is given (the NameNode's record), the
   * length and the whole chunk's CRC-32 too. The reason it is bad, or undefined.
   */
  async verify(chunkId: string, onBytes?: (n: number) => Promise<void>, expected?: { length: number; checksum: number }): Promise<string | undefined> {
    const packed = this.volumes.get(chunkId);
    if (packed) {
      // The record's header too: a damaged one would lose the chunk at the next start.
      const reason = await this.volumes.checkHeader(packed);
      if (reason) return reason;
    }
    const meta = packed ? { length: packed.length, checksum: packed.checksum, pieceSize: packed.pieceSize, pieces: packed.pieces } : await this.readMeta(chunkId);
    if (meta && expected && meta.length !== expected.length) return `it has ${meta.length} bytes, the NameNode's record ${expected.length}`;
    try {
      for await (const part of this.readVerified(chunkId, 0, meta?.length ?? 1)) {
        await onBytes?.(part.data.length);
        partBuffers.give(part.data);
      }
      // Every piece matched its checksum, so the pieces' CRC-32s, folded,
      // are the bytes' whole CRC-32 (metadata rewritten to match other bytes included).
      if (meta && expected) {
        const actual = wholeChecksum(meta.pieces, meta.pieceSize, meta.length);
        if (actual !== expected.checksum >>> 0) {
          return `whole-chunk checksum mismatch (its bytes have ${actual.toString(16)}, the NameNode's record ${(expected.checksum >>> 0).toString(16)})`;
        }
      }
      return undefined;
    } catch (err) {
      if (err instanceof CorruptReplicaError) return err.reason;
      throw err;
    }
  }

  /** Takes a bad replica out of service, keeping its bytes as `<id>.corrupt` until trash removes them. */
  async quarantine(chunkId: string): Promise<void> {
    checkChunkId(chunkId);
    const packed = this.volumes.get(chunkId);
    if (packed) {
      // Marked in its volume: not served nor reported, kept until trash deletes it.
      this.forget(chunkId);
      await this.volumes.markQuarantined(packed);
      return;
    }
    this.quarantined.add(chunkId);
    await rename(this.chunkPath(chunkId), `${this.chunkPath(chunkId)}.corrupt`).catch(() => {});
    await rm(`${this.chunkPath(chunkId)}.meta`, { force: true });
    this.forget(chunkId);
  }

  /** Every chunk held, from the metadata files (as at the last scan plus installs). */
  async list(): Promise<StoredChunk[]> {
    const out: StoredChunk[] = [];
    for (const chunkId of this.inventory.keys()) {
      const packed = this.volumes.get(chunkId);
      if (packed) {
        out.push({ chunkId, length: packed.length, checksum: packed.checksum });
        continue;
      }
      const meta = await this.readMeta(chunkId);
      if (meta) out.push({ chunkId, length: meta.length, checksum: meta.checksum });
    }
    return out;
  }

  async delete(chunkId: string): Promise<void> {
    checkChunkId(chunkId);
    // Forgotten first: a read arriving meanwhile finds no chunk (NotFound),
    // not a chunk whose files are half gone (DataLoss).
    this.forget(chunkId);
    const packed = this.volumes.get(chunkId) ?? this.volumes.getQuarantined(chunkId);
    if (packed) {
      // Marked dead, durably: the space comes back when its volume is compacted.
      await this.volumes.markDead(packed);
      if (!this.quarantined.has(chunkId)) return;
    }
    this.quarantined.delete(chunkId);
    const dataPath = this.chunkPath(chunkId);
    await rm(dataPath, { force: true });
    await rm(`${dataPath}.meta`, { force: true });
    await rm(`${dataPath}.corrupt`, { force: true });
  }

  chunkPath(chunkId: string): string {
    return join(this.chunkDir(chunkId), chunkId);
  }

  private async readMeta(chunkId: string): Promise<ChunkMeta | undefined> {
    try {
      return parseMeta(await readFile(`${this.chunkPath(chunkId)}.meta`, "utf8"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  private remember(chunkId: string, length: number): void {
    if (this.inventory.has(chunkId)) return;
    this.inventory.set(chunkId, length);
    this.used += length;
  }

  private forget(chunkId: string): void {
    const length = this.inventory.get(chunkId);
    if (length === undefined) return;
    this.inventory.delete(chunkId);
    this.used -= length;
  }

  private chunkDir(chunkId: string): string {
    return join(this.dir, "chunks", chunkId.slice(0, 2));
  }

  /** Finds every chunk on disk at start; drops metadata without data, rebuilds metadata without a file. */
  private async scan(): Promise<StoredChunk[]> {
    const out: StoredChunk[] = [];
    const root = join(this.dir, "chunks");
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !/^[0-9a-f]{2}$/.test(entry.name)) continue;
      const dir = join(root, entry.name);
      this.knownDirs.add(dir);
      const names = new Set(await readdir(dir));
      for (const name of names) {
        if (name.endsWith(".corrupt")) {
          if (CHUNK_ID.test(name.slice(0, -8))) this.quarantined.add(name.slice(0, -8));
          continue;
        }
        if (name.endsWith(".meta")) {
          if (!names.has(name.slice(0, -5))) await rm(join(dir, name), { force: true });
          continue;
        }
        if (!CHUNK_ID.test(name)) continue;
        const meta = names.has(`${name}.meta`) ? await this.readMeta(name) : undefined;
        out.push(meta ? { chunkId: name, length: meta.length, checksum: meta.checksum } : await this.rebuildMeta(name));
      }
    }
    return out;
  }

  private async rebuildMeta(chunkId: string): Promise<StoredChunk> {
    const pieces = new PieceChecksums(this.pieceSize);
    let length = 0;
    let checksum = 0;
    for await (const part of createReadStream(this.chunkPath(chunkId), { highWaterMark: 1024 * 1024 })) {
      const data = part as Buffer;
      pieces.update(data);
      checksum = crc32(data, checksum);
      length += data.length;
    }
    const meta = { length, checksum: checksum >>> 0, pieceSize: this.pieceSize, pieces: pieces.finish() };
    await writeDurably(`${this.chunkPath(chunkId)}.meta`, encodeMeta(meta));
    return { chunkId, length, checksum: meta.checksum };
  }
}
