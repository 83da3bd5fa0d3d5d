import { checkFileCondition, type FileCondition } from "./file-condition.js";
import { randomBytes, randomUUID } from "node:crypto";
import { TrainfsError, formatChecksum, validatePath } from "@trainfs/common";
import type { ChunkManager } from "./chunks/chunk-manager.js";
import { checkAttributes } from "./file-attributes.js";
import type { DataNodeManager } from "./datanode-manager.js";
import { removeInode } from "./delete-operation.js";
import type { LeaseManager } from "./lease-manager.js";
import type { InodeRecord, MetadataStore, UploadRecord } from "./metadata-store.js";
import type { Namespace } from "./namespace.js";

export interface UploadLimits {
  defaultReplication: number;
  maxReplication: number;
  defaultChunkSize: number;
  minChunkSize: number;
  maxChunkSize: number;
  maxChunksPerFile: number;
  /** A chain may be shorter than the replication, down to this many nodes (HDFS's dfs.namenode.replication.min). */
  minWriteReplicas: number;
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
 * Chains come from the placement policy; the chunks' records and replicas
 * are the chunk manager's; the lease is the lease manager's.
 */
export class UploadManager {
  constructor(
    private readonly store: MetadataStore,
    private readonly namespace: Namespace,
    private readonly chunks: ChunkManager,
    private readonly datanodes: DataNodeManager,
    private readonly leases: LeaseManager,
    private readonly limits: UploadLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async start(
    path: string,
    size: number,
    requestedReplication: number,
    requestedChunkSize: number,
    options: { overwrite?: boolean; unknownSize?: boolean; attributes?: Record<string, string>; replaceOnly?: FileCondition | undefined; existingAncestor?: string | undefined } = {},
  ) {
    const segments = validatePath(path);
    const { existingAncestor } = options;
    if (existingAncestor !== undefined) {
      const above = validatePath(existingAncestor);
      if (above.length === 0 || above.length >= segments.length || above.some((s, i) => s !== segments[i])) {
        throw new TrainfsError("invalid_argument", `existing_ancestor ${existingAncestor} is not a directory above ${path}`);
      }
    }
    const attributes = checkAttributes(options.attributes);
    if (segments.length === 0) throw new TrainfsError("already_exists", "/ is a directory");
    const replication = requestedReplication || this.limits.defaultReplication;
    const chunkSize = requestedChunkSize || this.limits.defaultChunkSize;
    this.checkShape(options.unknownSize ? 0 : size, replication, chunkSize);

    // Checked again inside the transaction; this early look only spares a
    // doomed write its placement (and its misleading placement errors).
    const { replaceOnly } = options;
    if (replaceOnly && !options.overwrite) throw new TrainfsError("invalid_argument", "replace_only needs overwrite");
    this.checkAncestor(existingAncestor);
    this.checkTarget(path, segments, options.overwrite ?? false, replaceOnly);
    const uploadId = randomUUID();
    const chunks = options.unknownSize ? [] : this.plan(uploadId, size, replication, chunkSize);
    const nowMs = this.now();
    try {
      await this.store.write(() => {
        this.checkAncestor(existingAncestor);
        this.checkTarget(path, segments, options.overwrite ?? false, replaceOnly);
        const idle = this.leases.takeOver(path, nowMs);
        if (idle) {
          this.drop(idle);
          this.datanodes.releasePromises(idle.uploadId);
        }
        this.namespace.mkdirs(segments.slice(0, -1), nowMs);
        const upload: UploadRecord = {
          uploadId, path, size: options.unknownSize ? -1 : size, replication, chunkSize, chunkIds: chunks.map((c) => c.chunkId),
          createdMs: nowMs, lastActiveMs: nowMs, overwrite: options.overwrite ?? false,
          ...(attributes ? { attributes } : {}),
          ...(replaceOnly ? { replaceOnly } : {}),
          ...(existingAncestor ? { existingAncestor } : {}),
        };
        this.store.uploads.put(uploadId, upload);
        this.store.uploadsByPath.put(path, uploadId);
        this.chunks.addPlanned(uploadId, chunks);
      });
    } catch (err) {
      this.datanodes.releasePromises(uploadId);
      throw err;
    }
    return { uploadId, replication, chunkSize, chunks, leaseMs: this.leases.softMs };
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
    const chain = this.chain(upload.replication, length);
    for (const id of chain) this.datanodes.promise(uploadId, id, length);
    const chunkId = randomBytes(16).toString("hex");
    const nowMs = this.now();
    return this.store.write(() => {
      const current = this.openUpload(path, uploadId);
      const offset = current.chunkIds.reduce((sum, id) => sum + this.chunks.get(id)!.length, 0);
      const index = current.chunkIds.length;
      this.chunks.addPlanned(uploadId, [{ chunkId, index, offset, length }]);
      this.store.uploads.put(uploadId, { ...current, chunkIds: [...current.chunkIds, chunkId], lastActiveMs: nowMs });
      return { chunkId, index, offset, length, chain };
    });
  }

  /**
   * A new chain for a chunk whose chain failed. The chunk keeps its id: any
   * copy a node of the old chain installed anyway holds exactly these bytes
   * (a copy is installed only once whole and verified), so it is a valid
   * replica, never a stale one. Failed nodes are excluded, and so are nodes
   * that already hold the chunk (they refuse to write it again); suspects
   * are used only when nothing else has room.
   */
  async replaceChain(path: string, uploadId: string, chunkId: string, failed: string[], suspects: string[]): Promise<PlannedChunk> {
    validatePath(path);
    const upload = this.openUpload(path, uploadId);
    const chunk = this.chunks.get(chunkId);
    if (!chunk || chunk.uploadId !== uploadId) throw new TrainfsError("not_found", `chunk ${chunkId} is not part of the write of ${path}`);
    const chain = this.chain(upload.replication, chunk.length, { excluded: new Set(failed), avoid: new Set(suspects) });
    for (const id of chain) this.datanodes.promise(uploadId, id, chunk.length);
    await this.renew(path, uploadId);
    return { chunkId, index: chunk.index, offset: chunk.offset, length: chunk.length, chain };
  }

  /** The writer is alive: its lease starts over. */
  async renew(path: string, uploadId: string): Promise<void> {
    validatePath(path);
    const nowMs = this.now();
    await this.store.write(() => {
      this.openUpload(path, uploadId);
      this.leases.touch(uploadId, nowMs);
    });
  }

  /** Abandons writes whose writer went silent for longer than the lease; returns their paths. */
  async expireLeases(): Promise<string[]> {
    const expired = this.leases.expired();
    if (expired.length === 0) return [];
    const nowMs = this.now();
    await this.store.write(() => {
      for (const u of expired) {
        const current = this.store.uploads.get(u.uploadId);
        if (current && this.leases.hasExpired(current, nowMs)) this.drop(current);
      }
    });
    for (const u of expired) this.datanodes.releasePromises(u.uploadId);
    return expired.map((u) => u.path);
  }

  /** Refuses a write whose existing_ancestor is gone (an S3 bucket deleted meanwhile) instead of making it again. */
  private checkAncestor(existingAncestor: string | undefined): void {
    if (existingAncestor === undefined) return;
    if (this.namespace.resolve(validatePath(existingAncestor))?.type !== "dir") {
      throw new TrainfsError("not_found", `${existingAncestor}: no such directory (the write's existing_ancestor)`);
    }
  }

  /** Refuses a write onto a directory, onto a file unless overwriting, or, conditional, onto any file but the one expected. */
  private checkTarget(path: string, segments: string[], overwrite: boolean, replaceOnly?: FileCondition): void {
    const existing = this.namespace.resolve(segments);
    checkFileCondition(path, existing, replaceOnly);
    if (!existing) return;
    if (existing.type === "dir") throw new TrainfsError("already_exists", `${path} already exists (a directory)`);
    if (!overwrite) throw new TrainfsError("already_exists", `${path} already exists`);
  }

  /**
   * Makes the file visible once every chunk has its replicas: those the
   * DataNodes committed themselves and those `stored` names (receipts the
   * caller checked), recorded here in the same transaction.
   */
  async confirm(
    path: string,
    uploadId: string,
    reported: ConfirmedChunk[],
    stored: StoredReplica[] = [],
    attributesAtConfirm?: Record<string, string>,
  ): Promise<InodeRecord> {
    const segments = validatePath(path);
    const replaced = checkAttributes(attributesAtConfirm);
    const outcome = await this.store.write((): InodeRecord | { dataLoss: string } => {
      const upload = this.openUpload(path, uploadId);
      // The client saw other bytes than the DataNodes stored: the write is
      // lost, and is dropped here (its chunks to trash) rather than kept half-valid.
      const differs = upload.chunkIds.findIndex((chunkId, i) => {
        const r = reported[i];
        return r?.chunkId === chunkId && this.chunks.committedOtherBytes(r);
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
        const chunk = this.chunks.get(chunkId)!;
        if (r.chunkId !== chunkId) throw new TrainfsError("invalid_argument", `chunk ${i} of ${path} is ${chunkId}, not ${r.chunkId}`);
        if (r.length !== chunk.length) {
          throw new TrainfsError("invalid_argument", `chunk ${i} of ${path} is ${chunk.length} bytes, not ${r.length}`);
        }
      });
      // Checked above to be this write's chunks, in order.
      const byId = new Map(reported.map((r) => [r.chunkId, r]));
      this.chunks.recordReceipts(
        stored.map(({ chunkId, datanodeId }) => {
          const chunk = byId.get(chunkId);
          if (!chunk) throw new TrainfsError("invalid_argument", `a receipt names chunk ${chunkId}, which is not part of the write of ${path}`);
          return { datanodeId, chunk };
        }),
      );
      let total = 0;
      upload.chunkIds.forEach((chunkId, i) => {
        const r = reported[i]!;
        const matching = this.chunks.matchingReplicas(r);
        const needed = this.minimumChain(upload.replication);
        if (matching < needed) {
          throw new TrainfsError(
            "failed_precondition",
            `chunk ${i} (${chunkId}) of ${path} has ${matching} replicas committed with checksum ${formatChecksum(r.checksum)}; it needs ${needed} of its ${upload.replication}`,
          );
        }
        total += r.length;
      });
      if (upload.size !== -1 && total !== upload.size) {
        throw new TrainfsError("invalid_argument", `chunks add up to ${total} bytes, but ${path} was declared as ${upload.size}`);
      }
      // The replacement is atomic: the old file and the new one swap in this
      // one transaction, and the old chunks go to trash.
      this.checkAncestor(upload.existingAncestor);
      this.checkTarget(path, segments, upload.overwrite ?? false, upload.replaceOnly);
      const old = this.namespace.resolve(segments);
      if (old) removeInode({ namespace: this.namespace, chunks: this.chunks }, old, this.now());
      const file = this.namespace.addFile(segments, {
        mtimeMs: this.now(), size: total, replication: upload.replication, chunkSize: upload.chunkSize,
        chunkIds: upload.chunkIds,
        ...(replaced ?? upload.attributes ? { attributes: replaced ?? upload.attributes } : {}),
      });
      this.store.uploads.remove(uploadId);
      this.store.uploadsByPath.remove(path);
      this.chunks.linkToFile(file.id, reported);
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

  /**
   * A new chain from the placement policy. Placement is asked again for each
   * chunk, after the previous chunk's bytes were promised, so that the
   * chunks of a file spread over the cluster. With fewer live DataNodes
   * (with room) than the replication, the chain has the nodes there are,
   * down to minWriteReplicas: the write goes on, and the replication monitor
   * makes the missing copies once nodes are back.
   */
  private chain(replication: number, length: number, exclude: { excluded?: Set<string>; avoid?: Set<string> } = {}): string[] {
    const candidates = this.chunks.placementNodes().filter((n) => !exclude.excluded?.has(n.id));
    const minimum = this.minimumChain(replication);
    if (candidates.length < minimum) {
      const live = `${candidates.length} ${candidates.length === 1 ? "is" : "are"} live and in service${exclude.excluded?.size ? " besides the failed ones" : ""}`;
      throw new TrainfsError(
        "failed_precondition",
        minimum === replication
          ? `replication ${replication} needs ${replication} live DataNodes, but ${live}`
          : `replication ${replication} needs at least ${minimum} live DataNodes (minWriteReplicas), but ${live}`,
      );
    }
    const roomy = candidates.filter((n) => n.available >= length).length;
    return this.chunks.placement.chooseTargets({
      count: Math.max(minimum, Math.min(replication, roomy)),
      chunkLength: length,
      candidates,
      strict: true,
      ...(exclude.avoid ? { avoid: exclude.avoid } : {}),
    });
  }

  /** The fewest replicas a chunk of this replication may be acknowledged with. */
  private minimumChain(replication: number): number {
    return Math.min(replication, this.limits.minWriteReplicas);
  }

  private plan(uploadId: string, size: number, replication: number, chunkSize: number): PlannedChunk[] {
    const chunks: PlannedChunk[] = [];
    try {
      for (let offset = 0, index = 0; offset < size; offset += chunkSize, index++) {
        const length = Math.min(chunkSize, size - offset);
        const chain = this.chain(replication, length);
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

  /** Forgets an upload; copies its chunks already have go to trash. */
  private drop(upload: UploadRecord): void {
    this.chunks.remove(upload.chunkIds);
    this.store.uploads.remove(upload.uploadId);
    this.store.uploadsByPath.remove(upload.path);
  }
}
