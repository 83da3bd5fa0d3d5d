import { randomBytes, randomUUID } from "node:crypto";
import { TrainfsError, formatChecksum, validatePath } from "@trainfs/common";
import type { ChunkMap } from "./chunk-map.js";
import type { DataNodeManager } from "./datanode-manager.js";
import type { ChunkRecord, InodeRecord, MetadataStore, UploadRecord } from "./metadata-store.js";
import type { Namespace } from "./namespace.js";
import { chooseTargets } from "./placement-policy.js";
import { removeInode } from "./delete-operation.js";
import type { Trash } from "./trash.js";

export interface UploadLimits {
  defaultReplication: number;
  maxReplication: number;
  defaultChunkSize: number;
  minChunkSize: number;
  maxChunkSize: number;
  maxChunksPerFile: number;
  /** An upload idle for longer loses its path to the next writer. */
  uploadLeaseMs: number;
}

export interface PlannedChunk {
  chunkId: string;
  index: number;
  offset: number;
  length: number;
  chain: string[];
}

export interface ConfirmedChunk {
  chunkId: string;
  length: number;
  checksum: number;
}

/** A replica vouched for by its DataNode's receipt. */
export interface StoredReplica {
  chunkId: string;
  datanodeId: string;
}

/**
 * The write path on the NameNode: PutFile records a file under construction
 * and plans its chunks, ConfirmFile makes it visible once every chunk is
 * committed by its replicas, AbandonFile gives it up. A file under
 * construction lives apart from the namespace, so readers never see it.
 */
export class UploadManager {
  constructor(
    private readonly store: MetadataStore,
    private readonly namespace: Namespace,
    private readonly chunkMap: ChunkMap,
    private readonly datanodes: DataNodeManager,
    private readonly trash: Trash,
    private readonly limits: UploadLimits,
    private readonly now: () => number = Date.now,
    /**
     * Called inside ConfirmFile's transaction with the new file's chunks, for
     * the replication monitor to look at them: while they belonged to a write
     * in progress it did not queue them, yet a chunk may already have more
     * copies than the file's replication (a node of a failed chain that
     * finished its copy and reported it before the client confirmed on
     * another chain), or fewer live ones (a node of its chain declared dead
     * since).
     */
    private readonly onLinked: (chunkIds: readonly string[]) => void = () => {},
  ) {}

  async start(
    path: string,
    size: number,
    requestedReplication: number,
    requestedChunkSize: number,
    options: { overwrite?: boolean; unknownSize?: boolean } = {},
  ) {
    const segments = validatePath(path);
    if (segments.length === 0) throw new TrainfsError("already_exists", "/ is a directory");
    const replication = requestedReplication || this.limits.defaultReplication;
    const chunkSize = requestedChunkSize || this.limits.defaultChunkSize;
    this.checkShape(options.unknownSize ? 0 : size, replication, chunkSize);

    // Checked again inside the transaction; this early look only spares a
    // doomed write its placement (and its misleading placement errors).
    this.checkTarget(path, segments, options.overwrite ?? false);
    const uploadId = randomUUID();
    const chunks = options.unknownSize ? [] : this.plan(uploadId, size, replication, chunkSize);
    const nowMs = this.now();
    try {
      await this.store.write(() => {
        this.checkTarget(path, segments, options.overwrite ?? false);
        this.takeOverPath(path, nowMs);
        this.namespace.mkdirs(segments.slice(0, -1), nowMs);
        const upload: UploadRecord = {
          uploadId, path, size: options.unknownSize ? -1 : size, replication, chunkSize, chunkIds: chunks.map((c) => c.chunkId),
          createdMs: nowMs, lastActiveMs: nowMs, overwrite: options.overwrite ?? false,
        };
        this.store.uploads.put(uploadId, upload);
        this.store.uploadsByPath.put(path, uploadId);
        for (const c of chunks) {
          this.store.chunks.put(c.chunkId, { chunkId: c.chunkId, uploadId, index: c.index, offset: c.offset, length: c.length });
        }
      });
    } catch (err) {
      this.datanodes.releasePromises(uploadId);
      throw err;
    }
    return { uploadId, replication, chunkSize, chunks, leaseMs: this.limits.uploadLeaseMs };
  }

  /** Plans the next chunk of a write of unknown size. */
  async addChunk(path: string, uploadId: string, length: number): Promise<PlannedChunk> {
    validatePath(path);
    const upload = this.openUpload(path, uploadId);
    if (upload.size !== -1) throw new TrainfsError("failed_precondition", `${path} was started with a known size; its chunks are all planned`);
    if (!Number.isSafeInteger(length) || length < 1 || length > upload.chunkSize) {
      throw new TrainfsError("invalid_argument", `a chunk of ${path} has 1 to ${upload.chunkSize} bytes, not ${length}`);
    }
    if (upload.chunkIds.length >= this.limits.maxChunksPerFile) {
      throw new TrainfsError("resource_exhausted", `${path} has reached the limit of ${this.limits.maxChunksPerFile} chunks`);
    }
    const chain = chooseTargets(this.datanodes.placementCandidates(), upload.replication, length);
    for (const id of chain) this.datanodes.promise(uploadId, id, length);
    const chunkId = randomBytes(16).toString("hex");
    const nowMs = this.now();
    return this.store.write(() => {
      const current = this.openUpload(path, uploadId);
      const offset = current.chunkIds.reduce((sum, id) => sum + this.store.chunks.get(id)!.length, 0);
      const index = current.chunkIds.length;
      this.store.chunks.put(chunkId, { chunkId, uploadId, index, offset, length });
      this.store.uploads.put(uploadId, { ...current, chunkIds: [...current.chunkIds, chunkId], lastActiveMs: nowMs });
      return { chunkId, index, offset, length, chain };
    });
  }

  /**
   * A new chain for a chunk whose chain failed. The chunk keeps its id: any
   * copy a node of the old chain installed anyway holds exactly these bytes
   * (a copy is installed only once whole and verified), so it is a valid
   * replica, never a stale one. Failed nodes are excluded; suspects are
   * used only when nothing else has room.
   */
  async replaceChain(path: string, uploadId: string, chunkId: string, failed: string[], suspects: string[]): Promise<PlannedChunk> {
    validatePath(path);
    const upload = this.openUpload(path, uploadId);
    const chunk = this.store.chunks.get(chunkId);
    if (!chunk || chunk.uploadId !== uploadId) throw new TrainfsError("not_found", `chunk ${chunkId} is not part of the write of ${path}`);
    const out = new Set(failed);
    const candidates = this.datanodes.placementCandidates().filter((c) => !out.has(c.id));
    const fresh = candidates.filter((c) => !suspects.includes(c.id));
    const pool = fresh.length >= upload.replication ? fresh : candidates;
    const chain = chooseTargets(pool, upload.replication, chunk.length);
    for (const id of chain) this.datanodes.promise(uploadId, id, chunk.length);
    await this.renew(path, uploadId);
    return { chunkId, index: chunk.index, offset: chunk.offset, length: chunk.length, chain };
  }

  /** The writer is alive: its lease starts over. */
  async renew(path: string, uploadId: string): Promise<void> {
    validatePath(path);
    const nowMs = this.now();
    await this.store.write(() => {
      const upload = this.openUpload(path, uploadId);
      this.store.uploads.put(uploadId, { ...upload, lastActiveMs: nowMs });
    });
  }

  /** Abandons writes whose writer went silent for longer than the lease; returns their paths. */
  async expireLeases(): Promise<string[]> {
    const nowMs = this.now();
    const expired = [...this.store.uploads.getRange()]
      .map((e) => e.value)
      .filter((u) => nowMs - u.lastActiveMs > this.limits.uploadLeaseMs);
    if (expired.length === 0) return [];
    await this.store.write(() => {
      for (const u of expired) {
        const current = this.store.uploads.get(u.uploadId);
        if (current && nowMs - current.lastActiveMs > this.limits.uploadLeaseMs) this.drop(current);
      }
    });
    for (const u of expired) this.datanodes.releasePromises(u.uploadId);
    return expired.map((u) => u.path);
  }

  /** Refuses a write onto a directory, or onto a file unless overwriting. */
  private checkTarget(path: string, segments: string[], overwrite: boolean): void {
    const existing = this.namespace.resolve(segments);
    if (!existing) return;
    if (existing.type === "dir") throw new TrainfsError("already_exists", `${path} already exists (a directory)`);
    if (!overwrite) throw new TrainfsError("already_exists", `${path} already exists`);
  }

  /**
   * Makes the file visible once every chunk has its replicas: those the
   * DataNodes committed themselves and those `stored` names (receipts the
   * caller checked), recorded here in the same transaction.
   */
  async confirm(path: string, uploadId: string, reported: ConfirmedChunk[], stored: StoredReplica[] = []): Promise<InodeRecord> {
    const segments = validatePath(path);
    const outcome = await this.store.write((): InodeRecord | { dataLoss: string } => {
      const upload = this.openUpload(path, uploadId);
      // The client saw other bytes than the DataNodes stored: the write is
      // lost, and is dropped here (its chunks to trash) rather than kept half-valid.
      const differs = upload.chunkIds.findIndex((chunkId, i) => {
        const r = reported[i];
        return r?.chunkId === chunkId && this.chunkMap.replicas(chunkId).some(({ replica }) => replica.length === r.length && replica.checksum !== r.checksum);
      });
      if (differs >= 0) {
        this.drop(upload);
        return { dataLoss: `chunk ${differs} of ${path}: the DataNodes committed other bytes than the client sent (checksum ${formatChecksum(reported[differs]!.checksum)}); the write was dropped` };
      }
      if (reported.length !== upload.chunkIds.length) {
        throw new TrainfsError("invalid_argument", `${path} has ${upload.chunkIds.length} chunks, but ${reported.length} were confirmed`);
      }
      upload.chunkIds.forEach((chunkId, i) => {
        const r = reported[i]!;
        const chunk = this.store.chunks.get(chunkId)!;
        if (r.chunkId !== chunkId) throw new TrainfsError("invalid_argument", `chunk ${i} of ${path} is ${chunkId}, not ${r.chunkId}`);
        if (r.length !== chunk.length) {
          throw new TrainfsError("invalid_argument", `chunk ${i} of ${path} is ${chunk.length} bytes, not ${r.length}`);
        }
      });
      const nowMs = this.now();
      // Checked above to be this write's chunks, in order.
      const byId = new Map(reported.map((r) => [r.chunkId, r]));
      for (const { chunkId, datanodeId } of stored) {
        const r = byId.get(chunkId);
        if (!r) throw new TrainfsError("invalid_argument", `a receipt names chunk ${chunkId}, which is not part of the write of ${path}`);
        // A receipt from a node the NameNode no longer knows proves nothing it could use.
        if (this.datanodes.isRegistered(datanodeId)) this.chunkMap.record(datanodeId, r, nowMs);
      }
      const confirmed: ChunkRecord[] = [];
      let total = 0;
      upload.chunkIds.forEach((chunkId, i) => {
        const r = reported[i]!;
        const chunk = this.store.chunks.get(chunkId)!;
        const matching = this.chunkMap
          .replicas(chunkId)
          .filter(({ replica }) => replica.length === r.length && replica.checksum === r.checksum).length;
        if (matching < upload.replication) {
          throw new TrainfsError(
            "failed_precondition",
            `chunk ${i} (${chunkId}) of ${path} has ${matching} of ${upload.replication} replicas committed with checksum ${formatChecksum(r.checksum)}`,
          );
        }
        total += r.length;
        confirmed.push({ ...chunk, checksum: r.checksum });
      });
      if (upload.size !== -1 && total !== upload.size) {
        throw new TrainfsError("invalid_argument", `chunks add up to ${total} bytes, but ${path} was declared as ${upload.size}`);
      }
      // The replacement is atomic: the old file and the new one swap in this
      // one transaction, and the old chunks go to trash.
      this.checkTarget(path, segments, upload.overwrite ?? false);
      const old = this.namespace.resolve(segments);
      if (old) removeInode({ namespace: this.namespace, chunkMap: this.chunkMap, trash: this.trash }, old, this.now());
      const file = this.namespace.addFile(segments, {
        mtimeMs: this.now(), size: total, replication: upload.replication, chunkSize: upload.chunkSize,
        chunkIds: upload.chunkIds,
      });
      for (const chunk of confirmed) {
        const { uploadId: _, ...rest } = chunk;
        this.store.chunks.put(chunk.chunkId, { ...rest, inodeId: file.id });
      }
      this.store.uploads.remove(uploadId);
      this.store.uploadsByPath.remove(path);
      this.onLinked(file.chunkIds);
      return file;
    });
    this.datanodes.releasePromises(uploadId);
    if ("dataLoss" in outcome) throw new TrainfsError("data_loss", outcome.dataLoss);
    return outcome;
  }

  /** Forgets the upload and its chunks; chunk files already written go to trash. */
  async abandon(path: string, uploadId: string): Promise<void> {
    validatePath(path);
    await this.store.write(() => this.drop(this.openUpload(path, uploadId)));
    this.datanodes.releasePromises(uploadId);
  }

  private checkShape(size: number, replication: number, chunkSize: number): void {
    const l = this.limits;
    if (!Number.isSafeInteger(size) || size < 0) throw new TrainfsError("invalid_argument", `invalid size ${size}`);
    if (replication < 1 || replication > l.maxReplication) {
      throw new TrainfsError("invalid_argument", `replication must be between 1 and ${l.maxReplication}, got ${replication}`);
    }
    if (chunkSize < l.minChunkSize || chunkSize > l.maxChunkSize) {
      throw new TrainfsError("invalid_argument", `chunk size must be between ${l.minChunkSize} and ${l.maxChunkSize} bytes, got ${chunkSize}`);
    }
    const count = Math.ceil(size / chunkSize);
    if (count > l.maxChunksPerFile) {
      throw new TrainfsError("invalid_argument", `a file of ${size} bytes in chunks of ${chunkSize} needs ${count} chunks; the limit is ${l.maxChunksPerFile}`);
    }
  }

  private plan(uploadId: string, size: number, replication: number, chunkSize: number): PlannedChunk[] {
    const chunks: PlannedChunk[] = [];
    try {
      for (let offset = 0, index = 0; offset < size; offset += chunkSize, index++) {
        const length = Math.min(chunkSize, size - offset);
        const chain = chooseTargets(this.datanodes.placementCandidates(), replication, length);
        for (const id of chain) this.datanodes.promise(uploadId, id, length);
        chunks.push({ chunkId: randomBytes(16).toString("hex"), index, offset, length, chain });
      }
    } catch (err) {
      this.datanodes.releasePromises(uploadId);
      throw err;
    }
    return chunks;
  }

  private openUpload(path: string, uploadId: string): UploadRecord {
    const upload = this.store.uploads.get(uploadId);
    if (!upload || upload.path !== path) {
      throw new TrainfsError("not_found", `no write in progress on ${path} with upload id ${uploadId} (it was confirmed, abandoned or taken over)`);
    }
    return upload;
  }

  /** Frees `path` from an idle upload, or fails if its writer is still active. */
  private takeOverPath(path: string, nowMs: number): void {
    const current = this.store.uploadsByPath.get(path);
    if (current === undefined) return;
    const upload = this.store.uploads.get(current)!;
    const idleMs = nowMs - upload.lastActiveMs;
    if (idleMs <= this.limits.uploadLeaseMs) {
      throw new TrainfsError(
        "failed_precondition",
        `${path} is being written by another client (upload ${current}, active ${Math.round(idleMs / 1000)} s ago); it can be taken over after ${Math.round(this.limits.uploadLeaseMs / 1000)} s idle`,
      );
    }
    this.drop(upload);
    this.datanodes.releasePromises(upload.uploadId);
  }

  /** Forgets an upload; copies its chunks already have go to trash. */
  private drop(upload: UploadRecord): void {
    const nowMs = this.now();
    for (const chunkId of upload.chunkIds) {
      for (const holder of this.chunkMap.forgetChunk(chunkId)) this.trash.add(holder, chunkId, nowMs);
    }
    this.store.uploads.remove(upload.uploadId);
    this.store.uploadsByPath.remove(upload.path);
  }
}
