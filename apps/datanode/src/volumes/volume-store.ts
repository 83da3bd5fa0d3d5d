import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fsyncDirectory, type Logger } from "@trainfs/common";
import { wholeChecksum } from "../chunk-meta.js";
import {
  MIN_HEADER_BYTES, RECORD_MAGIC, STATE_DEAD, STATE_LIVE, STATE_OFFSET, STATE_QUARANTINED, VOLUME_HEADER_BYTES,
  decodeHeader, decodeVolumeHeader, encodeHeader, encodeVolumeHeader, peekHeaderBytes, piecesMatch, type RecordHeader,
} from "./record.js";

/** Where a packed chunk's record is, and what its header says. */
export interface PackedEntry {
  chunkId: string;
  volume: Volume;
  /** Offset of the record (its header) in the volume. */
  offset: number;
  headerBytes: number;
  length: number;
  pieceSize: number;
  pieces: number[];
  checksum: number;
  state: "live" | "quarantined" | "dead";
  /** A mark of its state is queued and not yet written. */
  pendingMark?: boolean;
}

export interface VolumeSettings {
  /** A volume this large is sealed and a new one started. */
  volumeMaxBytes: number;
  /** A sealed volume whose dead records take this share of it is compacted. */
  compactDeadRatio: number;
  /** Compaction copies at most this many bytes per second. */
  compactBytesPerSecond: number;
  /** Dead bytes below this never start a compaction (a nearly empty volume is not worth rewriting); default 1 MiB, or an eighth of volumeMaxBytes if less. */
  compactMinDeadBytes: number;
}

export const DEFAULT_VOLUME_SETTINGS: VolumeSettings = {
  volumeMaxBytes: 1024 * 1024 * 1024,
  compactDeadRatio: 0.5,
  compactBytesPerSecond: 32 * 1024 * 1024,
  compactMinDeadBytes: 1024 * 1024,
};

/** The steps of a compaction, in order; a test hook may throw at each to simulate a crash there. */
export type CompactionStep = "copying" | "copied" | "synced" | "renamed" | "switched" | "removed";

/** Bytes of records one fsync covers at most: a larger queue is split into several groups. */
const MAX_GROUP_BYTES = 16 * 1024 * 1024;
const SCAN_WINDOW = 256 * 1024;
const VOLUME_NAME = /^(\d{8})\.vol$/;

/** One volume file: its handle, its end, and how much of it is dead. */
export class Volume {
  /** Bytes of records live or quarantined, and of records dead. */
  liveBytes = 0;
  deadBytes = 0;
  private readers = 0;
  private retired = false;

  constructor(
    readonly number: number,
    readonly path: string,
    readonly handle: FileHandle,
    public size: number,
    readonly compactedFrom: number,
  ) {}

  /** Reads exactly `length` bytes at `position` (short only at the file's end); the handle stays open while it runs. */
  async read(into: Buffer, length: number, position: number): Promise<number> {
    this.readers++;
    try {
      let got = 0;
      while (got < length) {
        const { bytesRead } = await this.handle.read(into, got, length - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got;
    } finally {
      this.readers--;
      if (this.retired && this.readers === 0) void this.handle.close().catch(() => {});
    }
  }

  /** No longer used: closed once the reads under way end. */
  retire(): void {
    this.retired = true;
    if (this.readers === 0) void this.handle.close().catch(() => {});
  }
}

type Op =
  | { kind: "append"; entry: PackedEntry; data: Uint8Array; resolve: () => void; reject: (err: unknown) => void }
  | { kind: "mark"; entry: PackedEntry; state: number; resolve: () => void; reject: (err: unknown) => void }
  | { kind: "run"; fn: () => Promise<void>; resolve: () => void; reject: (err: unknown) => void };

/**
 * Packed chunks (docs/architecture.md, "Packed chunks"): small chunks appended
 * to a few append-only volume files, as Haystack's needles, rather than a
 * file, a metadata file and three fsyncs each. Appends and deletion marks
 * are queued and written by one loop: each round writes everything queued
 * (one writev) and one fdatasync covers it all (group commit, batched on
 * queue depth: whatever arrives during an fsync goes into the next round,
 * never a timer). A caller's promise settles only after the fsync that
 * covers its record.
 *
 * The index (chunk id → volume, offset, length, piece checksums) is held in
 * memory and rebuilt from the volumes' record headers at start: the volumes
 * are its only durable form, so an acknowledged record and its index entry
 * are made durable by the same fsync, and the two can never disagree.
 */
export class VolumeStore {
  /** Live and quarantined records by chunk id. */
  private readonly live = new Map<string, PackedEntry>();
  private readonly quarantinedEntries = new Map<string, PackedEntry>();
  private readonly volumes = new Map<number, Volume>();
  private active!: Volume;
  private nextNumber = 1;
  private queue: Op[] = [];
  private flushing: Promise<void> | undefined;
  private compacting: Promise<void> | undefined;
  private compactAgain = false;
  private closed = false;
  private readonly abort = new AbortController();
  /** Bytes given back by compactions since start. */
  reclaimedBytes = 0;
  compactions = 0;
  /** Told how long each group's fsync took, and how many records it covered. */
  onFsync: (seconds: number, records: number) => void = () => {};
  /** For tests: called at each step of a compaction; throwing there stops it as a crash would. */
  compactionHook: ((step: CompactionStep) => void | Promise<void>) | undefined;

  private constructor(
    readonly dir: string,
    readonly settings: VolumeSettings,
    private readonly logger: Logger | undefined,
  ) {}

  static async open(dir: string, settings: Partial<VolumeSettings> = {}, logger?: Logger): Promise<VolumeStore> {
    const volumeMaxBytes = settings.volumeMaxBytes ?? DEFAULT_VOLUME_SETTINGS.volumeMaxBytes;
    // Small volumes (tests, tiny disks) must be able to reach the minimum.
    const compactMinDeadBytes = settings.compactMinDeadBytes ?? Math.min(DEFAULT_VOLUME_SETTINGS.compactMinDeadBytes, Math.floor(volumeMaxBytes / 8));
    const store = new VolumeStore(dir, { ...DEFAULT_VOLUME_SETTINGS, ...settings, compactMinDeadBytes }, logger);
    await store.load();
    return store;
  }

  get(chunkId: string): PackedEntry | undefined {
    return this.live.get(chunkId);
  }

  get liveCount(): number {
    return this.live.size;
  }

  getQuarantined(chunkId: string): PackedEntry | undefined {
    return this.quarantinedEntries.get(chunkId);
  }

  liveEntries(): IterableIterator<PackedEntry> {
    return this.live.values();
  }

  quarantinedIds(): string[] {
    return [...this.quarantinedEntries.keys()];
  }

  /** Volume numbers with their sizes and dead bytes (for tests and metrics). */
  volumeStats(): Array<{ number: number; size: number; liveBytes: number; deadBytes: number; active: boolean }> {
    return [...this.volumes.values()]
      .sort((a, b) => a.number - b.number)
      .map((v) => ({ number: v.number, size: v.size, liveBytes: v.liveBytes, deadBytes: v.deadBytes, active: v === this.active }));
  }

  get deadBytes(): number {
    let n = 0;
    for (const v of this.volumes.values()) n += v.deadBytes;
    return n;
  }

  /**
   * Appends a chunk's record; resolves once the fsync covering it is done,
   * when the chunk is held (and would be found again after a crash).
   */
  async append(chunkId: string, data: Uint8Array, pieces: number[], pieceSize: number): Promise<PackedEntry> {
    if (this.closed) throw new Error("the volume store is closed");
    const entry: PackedEntry = {
      chunkId, volume: this.active, offset: -1, headerBytes: 0, length: data.byteLength, pieceSize, pieces,
      checksum: wholeChecksum(pieces, pieceSize, data.byteLength), state: "live",
    };
    await new Promise<void>((resolve, reject) => this.enqueue({ kind: "append", entry, data, resolve, reject }));
    const old = this.quarantinedEntries.get(chunkId);
    this.live.set(chunkId, entry);
    // A fresh copy replaces a quarantined one, as a plain chunk's `.corrupt` file is removed.
    if (old) await this.markDead(old);
    return entry;
  }

  /** Marks a record dead (deleted); resolves once the mark is durable. */
  async markDead(entry: PackedEntry): Promise<void> {
    if (entry.state === "dead") return;
    const before = entry.state;
    this.drop(entry);
    entry.state = "dead";
    entry.pendingMark = true;
    try {
      await new Promise<void>((resolve, reject) => this.enqueue({ kind: "mark", entry, state: STATE_DEAD, resolve, reject }));
    } catch (err) {
      // Not durable: the record is still there for a retry (trash tries again).
      entry.state = before;
      entry.pendingMark = false;
      (before === "live" ? this.live : this.quarantinedEntries).set(entry.chunkId, entry);
      throw err;
    }
    this.scheduleCompaction();
  }

  /** Takes a live record out of service, keeping its bytes until it is deleted; resolves once durable. */
  async markQuarantined(entry: PackedEntry): Promise<void> {
    if (entry.state !== "live") return;
    this.drop(entry);
    entry.state = "quarantined";
    this.quarantinedEntries.set(entry.chunkId, entry);
    await new Promise<void>((resolve, reject) => this.enqueue({ kind: "mark", entry, state: STATE_QUARANTINED, resolve, reject }));
  }

  private drop(entry: PackedEntry): void {
    if (this.live.get(entry.chunkId) === entry) this.live.delete(entry.chunkId);
    if (this.quarantinedEntries.get(entry.chunkId) === entry) this.quarantinedEntries.delete(entry.chunkId);
  }

  /** Reads `length` bytes of a record's data from `start`; fewer if its volume is shorter than its header says. */
  async readData(entry: PackedEntry, into: Buffer, start: number, length: number): Promise<number> {
    return entry.volume.read(into, length, entry.offset + entry.headerBytes + start);
  }

  /** Whether the record's header on disk is still the one indexed (the scrubber's check beyond the pieces). */
  async checkHeader(entry: PackedEntry): Promise<string | undefined> {
    const b = Buffer.alloc(entry.headerBytes);
    const got = await entry.volume.read(b, b.length, entry.offset);
    const h = got === b.length ? decodeHeader(b) : undefined;
    if (!h) return `its record header in volume ${entry.volume.number} at offset ${entry.offset} is damaged`;
    if (h.chunkId !== entry.chunkId || h.length !== entry.length) return `its record header in volume ${entry.volume.number} names another chunk`;
    return undefined;
  }

  /** Waits for every queued write and compaction, then closes the volumes. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.flushing;
    await this.compacting?.catch(() => {});
    await this.flushing;
    for (const v of this.volumes.values()) v.retire();
  }

  // ---- the commit loop ----

  private enqueue(op: Op): void {
    this.queue.push(op);
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    // Ops are resolved after their group's fsync, and their callers may queue
    // more at once: the loop's last look at the queue and the clearing of
    // `flushing` happen in one synchronous step, so a queued op always finds
    // either the loop still running or none (and starts one). The first group
    // waits for the turn of the event loop that queued it (setImmediate, not a
    // time window), so that the writes and marks that turn brought (chunks
    // arriving together, a heartbeat's trash) share its fsync.
    try {
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        const first = this.queue[0]!;
        if (first.kind === "run") {
          this.queue.shift();
          await first.fn().then(first.resolve, first.reject);
          continue;
        }
        let bytes = 0;
        let n = 0;
        while (n < this.queue.length && this.queue[n]!.kind !== "run") {
          const op = this.queue[n]!;
          const size = op.kind === "append" ? op.data.byteLength + 64 : 1;
          if (n > 0 && bytes + size > MAX_GROUP_BYTES) break;
          bytes += size;
          n++;
        }
        const batch = this.queue.splice(0, n) as Array<Extract<Op, { kind: "append" | "mark" }>>;
        await this.commitGroup(batch);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Writes a group of appends and marks and makes them durable with one fdatasync per volume touched. */
  private async commitGroup(batch: Array<Extract<Op, { kind: "append" | "mark" }>>): Promise<void> {
    const appends = batch.filter((op) => op.kind === "append");
    const touched = new Set<Volume>();
    let volume = this.active;
    let start = volume.size;
    try {
      if (appends.length > 0) {
        let total = 0;
        for (const op of appends) total += op.data.byteLength + 64;
        if (volume.size > VOLUME_HEADER_BYTES && volume.size + total > this.settings.volumeMaxBytes) volume = await this.rotate();
        start = volume.size;
        const buffers: Uint8Array[] = [];
        let at = start;
        for (const op of appends) {
          const e = op.entry;
          const header = encodeHeader({ pieceSize: e.pieceSize, chunkId: e.chunkId, length: e.length, durableBefore: start, pieces: e.pieces });
          e.volume = volume;
          e.offset = at;
          e.headerBytes = header.length;
          at += header.length + e.length;
          buffers.push(header, op.data);
        }
        await writeAll(volume.handle, buffers, start);
        volume.size = at;
        volume.liveBytes += at - start;
        touched.add(volume);
      }
      for (const op of batch) {
        if (op.kind !== "mark") continue;
        const e = op.entry;
        await e.volume.handle.write(Buffer.of(op.state), 0, 1, e.offset + STATE_OFFSET);
        if (op.state === STATE_DEAD && e.pendingMark) {
          e.pendingMark = false;
          e.volume.liveBytes -= e.headerBytes + e.length;
          e.volume.deadBytes += e.headerBytes + e.length;
        }
        touched.add(e.volume);
      }
      const started = performance.now();
      for (const v of touched) await v.handle.datasync();
      this.onFsync((performance.now() - started) / 1000, batch.length);
    } catch (err) {
      // Nothing of the group is acknowledged: its records are cut off again, so
      // the volume never holds records no index entry names.
      if (appends.length > 0 && volume.size !== start) {
        volume.liveBytes -= volume.size - start;
        volume.size = start;
      }
      if (appends.length > 0) await volume.handle.truncate(start).then(() => volume.handle.datasync()).catch(() => {});
      for (const op of batch) op.reject(err);
      return;
    }
    for (const op of batch) op.resolve();
  }

  /** Seals the active volume and starts the next one (inside the commit loop). */
  private async rotate(): Promise<Volume> {
    const number = this.nextNumber++;
    const volume = await this.createVolume(number, 0, join(this.dir, `${pad(number)}.vol`));
    this.active = volume;
    return volume;
  }

  private async createVolume(number: number, compactedFrom: number, path: string): Promise<Volume> {
    const handle = await open(path, "wx+");
    try {
      await handle.write(encodeVolumeHeader(number, compactedFrom), 0, VOLUME_HEADER_BYTES, 0);
      await handle.datasync();
      if (!path.endsWith(".tmp")) await fsyncDirectory(this.dir);
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(path, { force: true });
      throw err;
    }
    const volume = new Volume(number, path, handle, VOLUME_HEADER_BYTES, compactedFrom);
    if (!path.endsWith(".tmp")) this.volumes.set(number, volume);
    return volume;
  }

  /** Runs `fn` alone in the commit loop: no append or mark is written while it runs. */
  private exclusive(fn: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: "run", fn, resolve, reject }));
  }

  // ---- compaction ----

  /** Starts a compaction in the background if a volume needs one and none is running. */
  scheduleCompaction(): void {
    if (this.closed) return;
    if (this.compacting) {
      this.compactAgain = true;
      return;
    }
    const candidate = this.compactionCandidate();
    if (candidate === undefined) return;
    this.compacting = this.compactVolume(candidate)
      .catch((err: unknown) => {
        if (!this.closed) this.logger?.error({ volume: candidate, err: (err as Error).message }, "volume compaction failed; will try again after the next delete");
      })
      .finally(() => {
        this.compacting = undefined;
        if (this.compactAgain) {
          this.compactAgain = false;
          this.scheduleCompaction();
        }
      });
  }

  /** Resolves when no compaction is running (for tests and shutdown). */
  async compactionIdle(): Promise<void> {
    while (this.compacting) await this.compacting;
  }

  private compactionCandidate(): number | undefined {
    let best: Volume | undefined;
    for (const v of this.volumes.values()) {
      const body = v.size - VOLUME_HEADER_BYTES;
      if (body <= 0 || v.deadBytes < this.settings.compactMinDeadBytes || v.deadBytes / body < this.settings.compactDeadRatio) continue;
      // The volume being appended to only once it is sizeable: each of its
      // compactions seals it, and small volumes would pile up.
      if (v === this.active && v.liveBytes > 0 && v.size < this.settings.volumeMaxBytes / 8) continue;
      if (!best || v.deadBytes > best.deadBytes) best = v;
    }
    return best?.number;
  }

  /**
   * Rewrites a volume without its dead records. Crash-safe at every step:
   * the live records are copied to `<new>.vol.tmp` and fsynced; then, with
   * the commit loop held, marks made meanwhile are applied to the copy, the
   * copy is fsynced and renamed to `<new>.vol` (its header names the volume
   * it replaces) and the directory fsynced, and the index moves over; only
   * then is the old volume removed. A start that finds both removes the old
   * one (the new one holds all it held), and removes any `.tmp`.
   */
  async compact(number: number): Promise<void> {
    // One compaction at a time: a background one finishes first.
    while (this.compacting) await this.compacting.catch(() => {});
    const run = this.compactVolume(number);
    this.compacting = run.catch(() => {}).finally(() => {
      if (this.compacting !== tracked) return;
      this.compacting = undefined;
      if (this.compactAgain) {
        this.compactAgain = false;
        this.scheduleCompaction();
      }
    });
    const tracked = this.compacting;
    return run;
  }

  private async compactVolume(number: number): Promise<void> {
    let old = this.volumes.get(number);
    if (!old) return;
    const hook = async (step: CompactionStep) => this.compactionHook?.(step);
    // The active volume is sealed first: appends go on into a new one.
    if (old === this.active) {
      await this.exclusive(async () => {
        if (old === this.active) await this.rotate();
      });
    }
    old = this.volumes.get(number);
    if (!old) return;
    const records = [...this.live.values(), ...this.quarantinedEntries.values()].filter((e) => e.volume === old).sort((a, b) => a.offset - b.offset);
    if (records.length === 0) {
      // Nothing live left: the volume goes, with no copy (its dead records shadow nothing: a live record always wins).
      const gone = old;
      await this.exclusive(async () => {
        if ([...this.live.values(), ...this.quarantinedEntries.values()].some((e) => e.volume === gone)) return;
        this.volumes.delete(number);
        gone.retire();
        await rm(gone.path, { force: true });
        await fsyncDirectory(this.dir);
        this.reclaimedBytes += gone.size;
        this.compactions++;
      });
      return;
    }
    const newNumber = this.nextNumber++;
    const finalPath = join(this.dir, `${pad(newNumber)}.vol`);
    const tmpPath = `${finalPath}.tmp`;
    const copy = await this.createVolume(newNumber, number, tmpPath);
    let installed = false;
    try {
      const moved: Array<{ entry: PackedEntry; offset: number }> = [];
      let at = VOLUME_HEADER_BYTES;
      let windowStart = performance.now();
      let windowBytes = 0;
      for (const [i, entry] of records.entries()) {
        if (this.abort.signal.aborted) throw new Error("the volume store is closing");
        if (entry.volume !== old || entry.state === "dead") continue;
        const size = entry.headerBytes + entry.length;
        const raw = Buffer.allocUnsafe(size);
        if ((await old.read(raw, size, entry.offset)) !== size) throw new Error(`volume ${number} is shorter than its record of chunk ${entry.chunkId}`);
        raw[STATE_OFFSET] = entry.state === "quarantined" ? STATE_QUARANTINED : STATE_LIVE;
        await writeAll(copy.handle, [raw], at);
        moved.push({ entry, offset: at });
        at += size;
        if (i === 0) await hook("copying");
        // Throttled, so a compaction never crowds out clients' writes and reads.
        windowBytes += size;
        const aheadMs = (windowBytes / this.settings.compactBytesPerSecond) * 1000 - (performance.now() - windowStart);
        if (aheadMs > 0) await sleep(aheadMs, undefined, { signal: this.abort.signal });
        if (performance.now() - windowStart > 1000) {
          windowStart = performance.now();
          windowBytes = 0;
        }
      }
      copy.size = at;
      await hook("copied");
      await copy.handle.datasync();
      await hook("synced");
      await this.exclusive(async () => {
        // Marks made while copying (deletes, quarantines) are carried over.
        for (const m of moved) {
          const state = m.entry.state === "dead" ? STATE_DEAD : m.entry.state === "quarantined" ? STATE_QUARANTINED : STATE_LIVE;
          if (state !== STATE_LIVE) await copy.handle.write(Buffer.of(state), 0, 1, m.offset + STATE_OFFSET);
        }
        await copy.handle.datasync();
        await rename(tmpPath, finalPath);
        installed = true;
        // From here the new volume is what a restart finds: the index follows it at once.
        const replacement = new Volume(newNumber, finalPath, copy.handle, copy.size, number);
        for (const m of moved) {
          const size = m.entry.headerBytes + m.entry.length;
          // A dead record whose mark is still queued is counted dead when that mark is written.
          if (m.entry.state === "dead" && !m.entry.pendingMark) replacement.deadBytes += size;
          else replacement.liveBytes += size;
          m.entry.volume = replacement;
          m.entry.offset = m.offset;
        }
        this.volumes.set(newNumber, replacement);
        this.volumes.delete(number);
        await hook("renamed");
        await fsyncDirectory(this.dir);
      });
      await hook("switched");
      old.retire();
      await rm(old.path, { force: true });
      await hook("removed");
      await fsyncDirectory(this.dir);
      const reclaimed = Math.max(0, old.size - copy.size);
      this.reclaimedBytes += reclaimed;
      this.compactions++;
      this.logger?.info({ volume: number, into: newNumber, reclaimedBytes: reclaimed, records: moved.length }, "volume compacted");
    } finally {
      if (!installed) {
        await copy.handle.close().catch(() => {});
        await rm(tmpPath, { force: true });
      }
    }
  }

  // ---- start ----

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = await readdir(this.dir);
    const found: Array<{ number: number; path: string; compactedFrom: number; handle: FileHandle; size: number }> = [];
    for (const name of names) {
      // A compaction's copy never renamed into place: the volume it copied is intact.
      if (name.endsWith(".vol.tmp")) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      const m = VOLUME_NAME.exec(name);
      if (!m) continue;
      const path = join(this.dir, name);
      const handle = await open(path, "r+");
      const { size } = await handle.stat();
      const head = Buffer.alloc(VOLUME_HEADER_BYTES);
      await handle.read(head, 0, VOLUME_HEADER_BYTES, 0);
      const header = decodeVolumeHeader(head);
      if (!header) {
        await handle.close();
        if (size <= VOLUME_HEADER_BYTES) {
          // Created, header never made durable: a crash while starting a volume; it held nothing.
          await rm(path, { force: true });
        } else {
          this.logger?.error({ volume: path }, "volume file with a damaged header: set aside as .unreadable, its chunks are not served");
          await rename(path, `${path}.unreadable`);
        }
        continue;
      }
      found.push({ number: Number(m[1]), path, compactedFrom: header.compactedFrom, handle, size });
      this.nextNumber = Math.max(this.nextNumber, Number(m[1]) + 1);
    }
    // A compaction that renamed its copy into place but did not remove the volume it copied: finish it.
    const numbers = new Set(found.map((f) => f.number));
    for (const f of found.filter((x) => x.compactedFrom !== 0 && numbers.has(x.compactedFrom))) {
      const old = found.find((x) => x.number === f.compactedFrom)!;
      await old.handle.close();
      await rm(old.path, { force: true });
      numbers.delete(old.number);
    }
    const kept = found.filter((f) => numbers.has(f.number)).sort((a, b) => a.number - b.number);
    if (kept.length < found.length) await fsyncDirectory(this.dir);
    for (const f of kept) {
      const volume = new Volume(f.number, f.path, f.handle, f.size, f.compactedFrom);
      this.volumes.set(f.number, volume);
      await this.scan(volume);
    }
    const appendable = kept.filter((f) => f.compactedFrom === 0).at(-1);
    this.active = appendable ? this.volumes.get(appendable.number)! : await this.rotate();
  }

  /**
   * Reads a volume's record headers into the index. A header that is not
   * one, or a record whose bytes do not match its checksums, past the
   * volume's durable length is a torn tail (a group whose fsync never
   * finished, so no record of it was acknowledged) and is cut off with
   * everything after it. Inside the durable part it is damage: skipped (the
   * record is lost to this node, so it is no longer reported and the
   * NameNode copies it from elsewhere), and the records after it are kept.
   */
  private async scan(volume: Volume): Promise<void> {
    const size = volume.size;
    const reader = new WindowReader(volume.handle, size);
    // A compacted volume was fsynced whole before it got its name.
    let durable = volume.compactedFrom !== 0 ? size : VOLUME_HEADER_BYTES;
    const records: Array<{ at: number; h: RecordHeader }> = [];
    let cut: number | undefined;
    let pos = VOLUME_HEADER_BYTES;
    while (pos < size) {
      const h = await readHeaderAt(reader, pos, size);
      if (h) {
        records.push({ at: pos, h });
        durable = Math.max(durable, Math.min(h.durableBefore, size));
        pos += h.headerBytes + h.length;
        continue;
      }
      const next = await findNextHeader(reader, pos + 1, size);
      if (next && (pos < durable || next.h.durableBefore > pos)) {
        this.logger?.error({ volume: volume.path, offset: pos, skipped: next.at - pos }, "damaged record inside a volume: skipped");
        pos = next.at;
        continue;
      }
      if (pos < durable) break; // damage at the very end of what was acknowledged: kept for what it is, never cut
      cut = pos;
      break;
    }
    // The records past the durable length are checked against their data: the first bad one starts the torn tail.
    for (const r of records) {
      if (cut !== undefined && r.at >= cut) break;
      const end = r.at + r.h.headerBytes + r.h.length;
      if (end <= durable || r.h.state !== STATE_LIVE) continue;
      const data = Buffer.allocUnsafe(r.h.length);
      const got = await volume.read(data, r.h.length, r.at + r.h.headerBytes);
      if (got !== r.h.length || piecesMatch(data, r.h.pieces, r.h.pieceSize) !== undefined) {
        cut = r.at;
        break;
      }
    }
    if (cut !== undefined) {
      this.logger?.warn({ volume: volume.path, offset: cut, bytes: size - cut }, "torn tail of a volume cut off (records never acknowledged)");
      await volume.handle.truncate(cut);
      await volume.handle.datasync();
      volume.size = cut;
    }
    for (const { at, h } of records) {
      if (cut !== undefined && at >= cut) break;
      const bytes = h.headerBytes + h.length;
      const entry: PackedEntry = {
        chunkId: h.chunkId, volume, offset: at, headerBytes: h.headerBytes, length: h.length, pieceSize: h.pieceSize, pieces: h.pieces,
        checksum: wholeChecksum(h.pieces, h.pieceSize, h.length), state: "live",
      };
      if (h.state === STATE_LIVE) {
        const earlier = this.live.get(h.chunkId);
        if (earlier) {
          earlier.state = "dead";
          earlier.volume.liveBytes -= earlier.headerBytes + earlier.length;
          earlier.volume.deadBytes += earlier.headerBytes + earlier.length;
        }
        const q = this.quarantinedEntries.get(h.chunkId);
        if (q) this.quarantinedEntries.delete(h.chunkId);
        this.live.set(h.chunkId, entry);
        volume.liveBytes += bytes;
      } else if (h.state === STATE_QUARANTINED && !this.live.has(h.chunkId)) {
        entry.state = "quarantined";
        this.quarantinedEntries.set(h.chunkId, entry);
        volume.liveBytes += bytes;
      } else {
        entry.state = "dead";
        volume.deadBytes += bytes;
      }
    }
  }
}

/** Reads a volume through a window, so that a scan of small records costs one read per window, not per record. */
class WindowReader {
  private start = 0;
  private buf = Buffer.alloc(0);

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  async bytes(at: number, length: number): Promise<Buffer> {
    const end = Math.min(at + length, this.size);
    if (at < this.start || end > this.start + this.buf.length) {
      const want = Math.max(end - at, SCAN_WINDOW);
      const b = Buffer.allocUnsafe(Math.min(want, this.size - at));
      let got = 0;
      while (got < b.length) {
        const { bytesRead } = await this.handle.read(b, got, b.length - got, at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      this.start = at;
      this.buf = b.subarray(0, got);
    }
    return this.buf.subarray(at - this.start, Math.min(end, this.start + this.buf.length) - this.start);
  }
}

async function readHeaderAt(reader: WindowReader, at: number, size: number): Promise<RecordHeader | undefined> {
  if (at + MIN_HEADER_BYTES > size) return undefined;
  const headerSize = peekHeaderBytes(await reader.bytes(at, MIN_HEADER_BYTES));
  if (headerSize === undefined || at + headerSize > size) return undefined;
  const h = decodeHeader(await reader.bytes(at, headerSize));
  if (!h || at + h.headerBytes + h.length > size) return undefined;
  return h;
}

const MAGIC_BYTES = Buffer.alloc(4);
MAGIC_BYTES.writeUInt32BE(RECORD_MAGIC);

/** The next valid record header at or after `from`, found by its magic (only after damage). */
async function findNextHeader(reader: WindowReader, from: number, size: number): Promise<{ at: number; h: RecordHeader } | undefined> {
  let at = from;
  while (at + MIN_HEADER_BYTES <= size) {
    const window = await reader.bytes(at, SCAN_WINDOW);
    const i = window.indexOf(MAGIC_BYTES);
    if (i < 0) {
      at += Math.max(1, window.length - 3);
      continue;
    }
    const h = await readHeaderAt(reader, at + i, size);
    if (h) return { at: at + i, h };
    at += i + 1;
  }
  return undefined;
}

async function writeAll(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let rest = buffers;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const b of rest) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength;
        continue;
      }
      next.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    rest = next;
  }
}

function pad(n: number): string {
  return String(n).padStart(8, "0");
}

/** The size of a volume file on disk (for tests). */
export async function volumeFileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** A packed chunk's record as found on disk by `packedChunksOnDisk`. */
export interface PackedRecordOnDisk {
  path: string;
  /** Where its bytes start in the volume file. */
  dataOffset: number;
  length: number;
  state: "live" | "quarantined" | "dead";
}

/**
 * The packed records in a DataNode's `volumes/` directory, read without
 * changing anything (no torn tail cut, no compaction finished), so it may run
 * beside the DataNode that owns them: for tools and the test kit. The last
 * record of a chunk id decides its state; a volume a finished compaction
 * replaced is skipped.
 */
export async function packedChunksOnDisk(dir: string): Promise<Map<string, PackedRecordOnDisk>> {
  const out = new Map<string, PackedRecordOnDisk>();
  const names = await readdir(dir).catch(() => [] as string[]);
  const volumes: Array<{ number: number; path: string; compactedFrom: number }> = [];
  for (const name of names) {
    const m = VOLUME_NAME.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const handle = await open(path, "r").catch(() => undefined);
    if (!handle) continue;
    try {
      const head = Buffer.alloc(VOLUME_HEADER_BYTES);
      await handle.read(head, 0, VOLUME_HEADER_BYTES, 0);
      const header = decodeVolumeHeader(head);
      if (header) volumes.push({ number: Number(m[1]), path, compactedFrom: header.compactedFrom });
    } finally {
      await handle.close();
    }
  }
  const numbers = new Set(volumes.map((v) => v.number));
  const superseded = new Set(volumes.filter((v) => v.compactedFrom !== 0 && numbers.has(v.compactedFrom)).map((v) => v.compactedFrom));
  for (const v of volumes.filter((x) => !superseded.has(x.number)).sort((a, b) => a.number - b.number)) {
    const handle = await open(v.path, "r").catch(() => undefined);
    if (!handle) continue;
    try {
      const { size } = await handle.stat();
      const reader = new WindowReader(handle, size);
      let pos = VOLUME_HEADER_BYTES;
      while (pos < size) {
        let h = await readHeaderAt(reader, pos, size);
        if (!h) {
          const next = await findNextHeader(reader, pos + 1, size);
          if (!next) break;
          pos = next.at;
          h = next.h;
        }
        const state = h.state === STATE_LIVE ? "live" : h.state === STATE_QUARANTINED ? "quarantined" : "dead";
        // A live record wins over any other of the same chunk, as at a DataNode's start.
        if (state === "live" || out.get(h.chunkId)?.state !== "live") out.set(h.chunkId, { path: v.path, dataOffset: pos + h.headerBytes, length: h.length, state });
        pos += h.headerBytes + h.length;
      }
    } finally {
      await handle.close();
    }
  }
  return out;
}
