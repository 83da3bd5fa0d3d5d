import { Code, ConnectError } from "@connectrpc/connect";
import { DataNodeProtocolService } from "@trainfs/proto";
import { RpcClients, errorMessage, type Logger } from "@trainfs/common";
import type { ChunkStore, StoredChunk } from "./chunk-store.js";
import { CommitBatcher } from "./commit-batcher.js";
import { checkHeartbeatInterval } from "./config.js";
import type { NodeIdentity } from "./node-identity.js";
import type { Replicator } from "./replicator.js";
import type { ExpectedReplica } from "./scrubber.js";
import type { TrashWorker } from "./trash.js";

const MAX_BACKOFF_MS = 30_000;

/** What a NameNode says it is: "single" without high availability. */
export type NameNodeRole = "active" | "standby" | "single" | "unknown";

/** A role as a NameNode names it in a heartbeat answer; anything else is unknown. */
export function roleNamed(name: string): NameNodeRole {
  return name === "active" || name === "standby" || name === "single" ? name : "unknown";
}

/** How one link among several learns its role and whether to act on its answers (NameNodeLinks). */
export interface LinkRoles {
  /** Asks the NameNode for its role and records it in `link.role`; never throws. */
  probe(link: NameNodeLink, signal: AbortSignal): Promise<void>;
  /** Records the role a NameNode gave in its heartbeat answer. */
  observe(link: NameNodeLink, role: NameNodeRole): void;
  /** Whether the link's heartbeat answers are acted on and carry the node's confirmations. */
  takesWork(link: NameNodeLink): boolean;
  /** Whether the link's NotFound for a chunk report may drop the copy. */
  authoritative(link: NameNodeLink): boolean;
}
const CALL_TIMEOUT_MS = 30_000;

/**
 * The DataNode's side of the founding flows' "Registration and Heartbeat"
 * (docs/founding-flows.md): register, send a full ChunkReport, then heartbeat
 * every interval, carrying deletions done and copies failed, and bringing back
 * trash and replication tasks and replicas to verify. When the NameNode cannot be reached it retries
 * with exponential backoff (the node keeps serving reads meanwhile); when the
 * NameNode asks, it registers and reports again.
 */
export class NameNodeLink {
  /** The NameNode's address. */
  readonly address: string;
  /** What the NameNode last said it is (GetHaStatus); "unknown" until it says, or when it cannot. */
  role: NameNodeRole = "unknown";
  private readonly client;
  private readonly commits: CommitBatcher;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private registered = false;
  private failures = 0;
  /** The heartbeat round under way, if any. */
  private ticking: Promise<void> = Promise.resolve();
  private readonly cancel = new AbortController();
  private resolveReady!: () => void;
  /** Resolves once the node has registered and reported its chunks. */
  readonly ready = new Promise<void>((resolve) => (this.resolveReady = resolve));

  constructor(
    clients: RpcClients,
    namenode: string,
    private readonly self: { id: string; address: string; zone?: string },
    private readonly identity: NodeIdentity,
    private readonly store: ChunkStore,
    private readonly trash: TrashWorker,
    private readonly replicator: Replicator,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    /** Replicas the NameNode asks this node to verify now (the scrubber's "verify now" queue). */
    private readonly verify: (replicas: ExpectedReplica[]) => void = () => {},
    /** Chunk bytes read and written since start, reported in heartbeats for the NameNode's throughput history. */
    private readonly traffic: { read: number; written: number } = { read: 0, written: 0 },
    /** One of several NameNodes (high availability): see NameNodeLinks. Absent: the only one. */
    private readonly ha?: LinkRoles,
  ) {
    this.address = namenode;
    this.client = clients.client(DataNodeProtocolService, namenode);
    this.commits = new CommitBatcher(async (chunks) => {
      const res = await this.client.commitChunk(
        {
          datanodeId: this.self.id,
          chunks: chunks.map((c) => ({ chunkId: c.chunkId, length: BigInt(c.length), checksum: c.checksum })),
        },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
      return res.results;
    }, {
      onRefused: (chunk, err) => void this.refused(chunk.chunkId, err),
      isHeld: (chunkId) => this.store.has(chunkId),
    });
  }

  start(): void {
    this.ticking = this.tick();
  }

  /** Registered with the NameNode and reporting (what /readyz tells orchestrators). */
  get isRegistered(): boolean {
    return this.registered && this.failures === 0;
  }

  /**
   * Stops heartbeating; resolves once a round under way has ended (its calls
   * are cancelled), so nothing touches the node's stores after it stops.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.commits.close();
    this.cancel.abort();
    await this.ticking;
  }

  /** Resolves once the NameNode recorded this node's replica; commits under way at once share a call. */
  commitChunk(chunk: StoredChunk): Promise<void> {
    return this.commits.commit(chunk);
  }

  /** Stored chunks not yet reported to the NameNode. */
  get pendingReports(): number {
    return this.commits.pendingReports;
  }

  /** Tells the NameNode of a replica in the background, a few at a time. */
  reportChunk(chunk: StoredChunk): void {
    this.commits.report(chunk);
  }

  /**
   * A reported chunk the NameNode will not record. NotFound: no file or write
   * owns it (the write was abandoned, or the file deleted, before the report
   * arrived), so the copy is garbage and goes now rather than at the next
   * full report. Anything else stays for the chunk report to sort out.
   */
  private async refused(chunkId: string, err: ConnectError): Promise<void> {
    if (err.code !== Code.NotFound) {
      this.logger.warn({ chunkId, err: err.rawMessage, namenode: this.address }, "the NameNode refused the report of a stored chunk");
      return;
    }
    // A standby may not have applied the file's creation yet: only the
    // active NameNode's NotFound says that the copy is garbage.
    if (this.ha && !this.ha.authoritative(this)) {
      this.logger.debug({ chunkId, err: err.rawMessage, namenode: this.address, role: this.role }, "a NameNode that is not known active refused a chunk report; the copy is kept");
      return;
    }
    try {
      await this.store.delete(chunkId);
      this.logger.info({ chunkId, err: err.rawMessage }, "dropped a chunk that no file or write owns");
    } catch (e) {
      this.logger.warn({ chunkId, err: errorMessage(e) }, "cannot drop a chunk that no file or write owns");
    }
  }

  /** Tells the NameNode that replicas here are bad; best effort (the scrubber finds them again). */
  async reportBad(replicas: ReadonlyArray<{ chunkId: string; reason: string }>): Promise<void> {
    try {
      await this.client.reportCorruptChunks(
        { datanodeId: this.self.id, chunks: replicas.map((r) => ({ chunkId: r.chunkId, reason: r.reason })) },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
    } catch (err) {
      this.logger.warn({ err: errorMessage(err), chunks: replicas.length }, "cannot report bad replicas to the NameNode");
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delay = this.intervalMs;
    try {
      if (!this.registered) await this.register();
      // Which NameNode is active decides whose answers are acted on.
      if (this.ha) await this.ha.probe(this, this.cancel.signal);
      if (await this.heartbeat()) delay = 0;
      if (this.failures > 0) this.logger.info({ failures: this.failures, ...this.named() }, "NameNode reachable again");
      this.failures = 0;
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      // Unreachable: no longer known active (the others may elect a new one meanwhile).
      if (this.ha) this.role = "unknown";
      // One of several NameNodes is tried again every interval: it may be
      // the next active one, and must know the DataNodes are live when it
      // takes over. A single NameNode is given room with a backoff.
      delay = this.ha ? this.intervalMs : Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** Math.min(this.failures - 1, 10));
      // Log the first failure and then every tenth, not one line per retry;
      // one of several NameNodes (the others carry on) only once per outage.
      if (this.failures === 1 || (!this.ha && this.failures % 10 === 0)) {
        const refused = refusal(err);
        const fields = { err: errorMessage(err), failures: this.failures, retryInMs: delay, ...this.named() };
        if (refused) this.logger.error(fields, refused);
        // Only a failed call is the NameNode's; anything else (a statfs, the
        // task store's commit on a full disk) happened here and is said so.
        else if (!(err instanceof ConnectError)) this.logger.error(fields, "heartbeat round failed on this DataNode (a local failure, not the NameNode)");
        else this.logger.warn(fields, this.ha ? "cannot reach this NameNode; reporting to the others meanwhile" : "cannot reach the NameNode");
      }
    }
    if (!this.stopped) this.timer = setTimeout(() => (this.ticking = this.tick()), delay);
  }

  /** With several NameNodes, the address for log lines. */
  private named(): { namenode?: string } {
    return this.ha ? { namenode: this.address } : {};
  }

  /** Whether this NameNode's heartbeat answers are acted on (the active one's). */
  get takesWork(): boolean {
    return this.ha ? this.ha.takesWork(this) : true;
  }

  /** Reachable and registered. */
  get healthy(): boolean {
    return this.registered && this.failures === 0;
  }

  /** One heartbeat; true when the NameNode asked this node to register again. */
  private async heartbeat(): Promise<boolean> {
    const space = await this.store.space();
    // Deletions done and copies failed are the work of the NameNode that
    // handed it out: told to the one taking work (a standby learns of them
    // from the log, and a trash task sent again after a takeover is harmless).
    const working = this.takesWork;
    const deleted = working ? this.trash.confirmations() : [];
    const failed = working ? this.replicator.failures() : [];
    const res = await this.client.heartBeat(
      {
        datanodeId: this.self.id,
        capacityBytes: BigInt(space.capacityBytes),
        freeBytes: BigInt(space.freeBytes),
        usedBytes: BigInt(this.store.usedBytes),
        chunkCount: this.store.chunkCount,
        deletedChunkIds: deleted,
        failedReplicationChunkIds: failed,
        diskId: await this.store.diskId(),
        bytesReadTotal: BigInt(Math.trunc(this.traffic.read)),
        bytesWrittenTotal: BigInt(Math.trunc(this.traffic.written)),
        volumeDeadBytes: BigInt(this.store.volumes.deadBytes),
        compactionReclaimedBytesTotal: BigInt(this.store.volumes.reclaimedBytes),
      },
      { timeoutMs: CALL_TIMEOUT_MS, signal: this.cancel.signal },
    );
    if (this.stopped) return false;
    // The answer names its NameNode's role (older NameNodes leave it empty):
    // the work it carries is judged by the role it was given under.
    if (this.ha && res.haRole) this.ha.observe(this, roleNamed(res.haRole));
    await this.trash.confirmed(deleted);
    await this.replicator.reported(failed);
    if (res.reregister) {
      this.logger.info("NameNode asked this DataNode to register again");
      this.registered = false;
      return true;
    }
    if (!this.takesWork) {
      // A standby hands out no work; should one arrive anyway, it is not done.
      const ignored = res.trashChunkNames.length + res.replicationTasks.length + res.verifyChunks.length;
      if (ignored > 0) this.logger.warn({ namenode: this.address, role: this.role, ignored }, "work from a NameNode not known active was ignored");
      return false;
    }
    if (res.trashChunkNames.length > 0) await this.trash.accept(res.trashChunkNames);
    if (res.replicationTasks.length > 0) await this.replicator.accept(res.replicationTasks);
    if (res.verifyChunks.length > 0) {
      this.verify(res.verifyChunks.map((c) => ({ chunkId: c.chunkId, length: Number(c.length), checksum: c.checksum })));
    }
    return false;
  }

  private async register(): Promise<void> {
    const space = await this.store.space();
    const res = await this.client.registerDataNode(
      {
        datanodeId: this.self.id,
        address: this.self.address,
        capacityBytes: BigInt(space.capacityBytes),
        freeBytes: BigInt(space.freeBytes),
        clusterId: this.identity.clusterId,
        zone: this.self.zone ?? "",
        diskId: await this.store.diskId(),
      },
      { timeoutMs: CALL_TIMEOUT_MS, signal: this.cancel.signal },
    );
    if (this.stopped) return;
    checkHeartbeatInterval(this.logger, this.intervalMs, res.heartbeatTimeoutMs);
    await this.identity.joined(res.clusterId, `NameNode ${this.address}`);
    const chunks = await this.store.list();
    const report = await this.client.chunkReport(
      {
        datanodeId: this.self.id,
        chunks: chunks.map((c) => ({ chunkId: c.chunkId, length: BigInt(c.length), checksum: c.checksum })),
      },
      { timeoutMs: CALL_TIMEOUT_MS, signal: this.cancel.signal },
    );
    this.registered = true;
    this.logger.info(
      { datanodeId: this.self.id, clusterId: res.clusterId, chunks: chunks.length, accepted: report.accepted, unknown: report.unknown, mismatched: report.mismatched, ...this.named() },
      "registered with the NameNode",
    );
    this.resolveReady();
  }
}

/** Failures that retrying will not cure: the operator must fix the configuration. */
function refusal(err: unknown): string | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  switch (err.code) {
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return "the NameNode refused this DataNode's credential: give it the NameNode's clusterSecret";
    case Code.FailedPrecondition:
      return "the NameNode refused this DataNode";
    default:
      return undefined;
  }
}
