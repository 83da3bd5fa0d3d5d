import type { Logger, RpcClients } from "@trainfs/common";
import type { ChunkStore, StoredChunk } from "./chunk-store.js";
import { NameNodeLink, type LinkRoles, type NameNodeRole } from "./namenode-link.js";
import type { NodeIdentity } from "./node-identity.js";
import type { Replicator } from "./replicator.js";
import type { ExpectedReplica } from "./scrubber.js";
import type { TrashWorker } from "./trash.js";

/** Tells one NameNode's role from elsewhere than its heartbeat answers (tests). */
export type RoleProbe = (address: string, signal: AbortSignal) => Promise<NameNodeRole>;

/**
 * The DataNode's links to its NameNodes, one per address: registration,
 * heartbeats, chunk reports and commits go to every one (so a standby knows
 * where every replica is when it takes over), while trash, replication and
 * verification work is taken only from the one known active (the role its
 * heartbeat answers name), or, while none is known, from any that is not known to
 * be a standby (a standby hands out none). With one address it is exactly
 * the one NameNodeLink of a cluster without high availability.
 */
export class NameNodeLinks implements LinkRoles {
  readonly links: readonly NameNodeLink[];
  /** Resolves once the node has registered with a NameNode and reported its chunks. */
  readonly ready: Promise<void>;
  private readonly probeRole: RoleProbe | undefined;

  constructor(
    clients: RpcClients,
    addresses: readonly string[],
    self: { id: string; address: string; zone?: string },
    identity: NodeIdentity,
    store: ChunkStore,
    trash: TrashWorker,
    replicator: Replicator,
    intervalMs: number,
    private readonly logger: Logger,
    verify: (replicas: ExpectedReplica[]) => void = () => {},
    traffic: { read: number; written: number } = { read: 0, written: 0 },
    probeRole: RoleProbe | undefined = undefined,
  ) {
    this.probeRole = probeRole;
    const several = addresses.length > 1;
    this.links = addresses.map(
      (address) => new NameNodeLink(clients, address, self, identity, store, trash, replicator, intervalMs, logger, verify, traffic, several ? this : undefined),
    );
    this.ready = Promise.any(this.links.map((l) => l.ready));
  }

  start(): void {
    for (const l of this.links) l.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.links.map((l) => l.stop()));
  }

  /** Registered with a NameNode and reporting (what /readyz tells orchestrators). */
  get isRegistered(): boolean {
    return this.links.some((l) => l.healthy);
  }

  /** Stored chunks not yet reported, to the NameNode furthest behind. */
  get pendingReports(): number {
    return Math.max(...this.links.map((l) => l.pendingReports));
  }

  /**
   * Resolves once the active NameNode recorded the replica (any that takes
   * work, while none is known active); the others are told in the background.
   */
  commitChunk(chunk: StoredChunk): Promise<void> {
    if (this.links.length === 1) return this.links[0]!.commitChunk(chunk);
    const working = this.links.filter((l) => l.takesWork);
    const targets = working.length > 0 ? working : this.links;
    for (const l of this.links) if (!targets.includes(l)) l.reportChunk(chunk);
    return Promise.any(targets.map((l) => l.commitChunk(chunk))).catch((err: unknown) => {
      throw err instanceof AggregateError ? err.errors[0] : err;
    });
  }

  reportChunk(chunk: StoredChunk): void {
    for (const l of this.links) l.reportChunk(chunk);
  }

  async reportBad(replicas: ReadonlyArray<{ chunkId: string; reason: string }>): Promise<void> {
    await Promise.all(this.links.map((l) => l.reportBad(replicas)));
  }

  async probe(link: NameNodeLink, signal: AbortSignal): Promise<void> {
    if (this.probeRole) this.setRole(link, await this.probeRole(link.address, signal));
  }

  observe(link: NameNodeLink, role: NameNodeRole): void {
    // A probe given at start decides alone; else each heartbeat answer names its NameNode's role.
    if (!this.probeRole) this.setRole(link, role);
  }

  private setRole(link: NameNodeLink, role: NameNodeRole): void {
    if (role !== link.role) {
      if (role !== "unknown" || link.role !== "unknown") this.logger.info({ namenode: link.address, role, was: link.role }, "NameNode role");
      link.role = role;
    }
  }

  takesWork(link: NameNodeLink): boolean {
    const active = this.links.filter((l) => l.role === "active" || l.role === "single");
    return active.length > 0 ? active.includes(link) : link.role !== "standby";
  }

  authoritative(link: NameNodeLink): boolean {
    return link.role === "active" || link.role === "single";
  }
}
