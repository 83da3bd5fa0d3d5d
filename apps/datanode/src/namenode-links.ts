import type { DescMessage, DescMethodUnary } from "@bufbuild/protobuf";
import { AdminService } from "@trainfs/proto";
import type { Logger, RpcClients } from "@trainfs/common";
import type { ChunkStore, StoredChunk } from "./chunk-store.js";
import { NameNodeLink, type LinkRoles, type NameNodeRole } from "./namenode-link.js";
import type { NodeIdentity } from "./node-identity.js";
import type { Replicator } from "./replicator.js";
import type { ExpectedReplica } from "./scrubber.js";
import type { TrashWorker } from "./trash.js";

const PROBE_TIMEOUT_MS = 5000;

/** Asks one NameNode what it is. */
export type RoleProbe = (address: string, signal: AbortSignal) => Promise<NameNodeRole>;

/**
 * The role a NameNode gives in AdminService.GetHaStatus (which every
 * NameNode answers, active or standby). The method is looked up by name so
 * that this DataNode also runs against NameNodes without it (then the role
 * stays "unknown", and the contract that a standby hands out no work is what
 * keeps the node from acting on a standby's answers).
 */
export function haStatusProbe(clients: RpcClients): RoleProbe {
  const method = AdminService.methods.find((m) => m.name === "GetHaStatus");
  return async (address, signal) => {
    if (!method || method.methodKind !== "unary") return "unknown";
    try {
      const res = await clients.transport(address).unary(method as DescMethodUnary<DescMessage, DescMessage>, signal, PROBE_TIMEOUT_MS, undefined, {});
      return roleOf(res.message as unknown as Record<string, unknown>, method.output);
    } catch {
      // Refused (a DataNode credential where the NameNode wants an API token), or down: not known.
      return "unknown";
    }
  };
}

/** The `role` field of a GetHaStatus answer, a string ("active") or an enum value (ROLE_ACTIVE). */
export function roleOf(message: Record<string, unknown>, schema: DescMessage): NameNodeRole {
  const value = message.role;
  let name = typeof value === "string" ? value : "";
  if (typeof value === "number") {
    const field = schema.fields.find((f) => f.localName === "role");
    name = (field?.fieldKind === "enum" ? field.enum.values.find((v) => v.number === value)?.name : undefined) ?? "";
  }
  const m = /(active|standby|single)/i.exec(name);
  return m ? (m[1]!.toLowerCase() as NameNodeRole) : "unknown";
}

/**
 * The DataNode's links to its NameNodes, one per address: registration,
 * heartbeats, chunk reports and commits go to every one (so a standby knows
 * where every replica is when it takes over), while trash, replication and
 * verification work is taken only from the one known active (its
 * GetHaStatus role), or, while none is known, from any that is not known to
 * be a standby (a standby hands out none). With one address it is exactly
 * the one NameNodeLink of a cluster without high availability.
 */
export class NameNodeLinks implements LinkRoles {
  readonly links: readonly NameNodeLink[];
  /** Resolves once the node has registered with a NameNode and reported its chunks. */
  readonly ready: Promise<void>;
  private readonly probeRole: RoleProbe;

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
    this.probeRole = probeRole ?? haStatusProbe(clients);
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
    const role = await this.probeRole(link.address, signal);
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
