import { TrainfsError, type Logger } from "@trainfs/common";
import type { DataNodeManager } from "../datanode-manager.js";
import type { MetadataStore } from "../metadata-store.js";
import type { ChunkMap } from "./chunk-map.js";
import type { PendingReplications } from "./pending-replications.js";
import type { PlacementNode, PlacementPolicy } from "./placement-policy.js";

/**
 * The balancer's planner, after HDFS's Balancer: which chunk replicas to move
 * from over-used DataNodes to under-used ones in one round. Pure: the caller
 * supplies the nodes and a way to list a node's chunks, and carries out (and
 * persists) the moves itself.
 */

export interface BalancerNode extends PlacementNode {}

export interface BalancerChunk {
  chunkId: string;
  length: number;
  holders: readonly string[];
}

export interface PlannedMove {
  chunkId: string;
  sourceId: string;
  targetId: string;
  length: number;
}

export interface BalancerSettings {
  thresholdPercent: number;
  maxMoves: number;
  maxBytes: number;
}

/** Used share of each node in percent (usedBytes / capacityBytes * 100), the cluster mean (total used / total capacity * 100), and the largest |share - mean|. */
export function utilization(nodes: readonly BalancerNode[]): { mean: number; shares: Map<string, number>; maxDeviation: number } {
  // A node reporting no capacity has no meaningful share; leaving it out
  // keeps it from posing as empty (a target) or skewing the mean.
  const sized = nodes.filter((n) => n.capacityBytes > 0);
  const used = sized.reduce((s, n) => s + n.usedBytes, 0);
  const capacity = sized.reduce((s, n) => s + n.capacityBytes, 0);
  const mean = capacity > 0 ? (used / capacity) * 100 : 0;
  const shares = new Map(sized.map((n) => [n.id, (n.usedBytes / n.capacityBytes) * 100] as const));
  let maxDeviation = 0;
  for (const s of shares.values()) maxDeviation = Math.max(maxDeviation, Math.abs(s - mean));
  return { mean, shares, maxDeviation };
}

interface Planned {
  node: BalancerNode;
  used: number;
  available: number;
}

function share(p: Planned): number {
  return (p.used / p.node.capacityBytes) * 100;
}

function byId(a: Planned, b: Planned): number {
  return a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0;
}

/**
 * Moves from over-utilized nodes (share > mean + threshold, or above the mean when no node is over but some are under by more than threshold) to
 * under-utilized ones (share < mean - threshold, or below the mean likewise), fullest sources and emptiest targets first, at most maxMoves and maxBytes
 * in total, never a target that holds the chunk, never a move after which verifyPlacement(holders with source replaced by target) fails when it passed before,
 * never two moves of the same chunk, and accounting the planned bytes on both sides so one round does not overshoot.
 * `chunksOn(nodeId)` lists a source's chunks (may be lazy; the planner stops pulling once it has enough).
 *
 * How far each side goes (as HDFS): a source sheds while its planned share is
 * above the mean, a target takes while its planned share is below it, and no
 * single move may carry either past the mean by more than the threshold.
 */
export function planMoves(
  nodes: readonly BalancerNode[],
  chunksOn: (nodeId: string) => Iterable<BalancerChunk>,
  policy: PlacementPolicy,
  settings: BalancerSettings,
  liveZones: ReadonlySet<string>,
): PlannedMove[] {
  const { thresholdPercent: t, maxMoves, maxBytes } = settings;
  const { mean, shares } = utilization(nodes);
  const byIdMap = new Map(nodes.map((n) => [n.id, n] as const));
  const plan = new Map<string, Planned>();
  for (const n of nodes) {
    if (shares.has(n.id)) plan.set(n.id, { node: n, used: n.usedBytes, available: n.available });
  }
  const all = [...plan.values()];
  let over = all.filter((p) => share(p) > mean + t);
  let under = all.filter((p) => share(p) < mean - t);
  if (over.length === 0 && under.length === 0) return [];
  // One side beyond the threshold is enough to act: pair it with the nodes
  // merely on the other side of the mean.
  if (over.length === 0) over = all.filter((p) => share(p) > mean);
  if (under.length === 0) under = all.filter((p) => share(p) < mean);

  const moves: PlannedMove[] = [];
  const moved = new Set<string>();
  let bytes = 0;
  const pulls = new Map<Planned, Iterator<BalancerChunk>>();
  const exhausted = new Set<Planned>();
  const after = (p: Planned, delta: number) => ((p.used + delta) / p.node.capacityBytes) * 100;

  while (moves.length < maxMoves && bytes < maxBytes) {
    // Re-picked every step: planned bytes change who is fullest and emptiest.
    const source = over
      .filter((p) => !exhausted.has(p) && share(p) > mean)
      .sort((a, b) => share(b) - share(a) || byId(a, b))[0];
    const targets = under.filter((p) => share(p) < mean).sort((a, b) => share(a) - share(b) || byId(a, b));
    if (!source || targets.length === 0) break;
    let pull = pulls.get(source);
    if (!pull) {
      pull = chunksOn(source.node.id)[Symbol.iterator]();
      pulls.set(source, pull);
    }
    const next = pull.next();
    if (next.done) {
      exhausted.add(source);
      continue;
    }
    const chunk = next.value;
    const L = chunk.length;
    if (moved.has(chunk.chunkId) || !chunk.holders.includes(source.node.id)) continue;
    if (bytes + L > maxBytes || after(source, -L) < mean - t) continue;
    // A holder the planner does not know (down, decommissioning) has an
    // unknown zone; such a chunk is the replication monitor's, not ours.
    const holders = chunk.holders.map((id) => byIdMap.get(id));
    if (holders.some((h) => h === undefined)) continue;
    const known = holders as BalancerNode[];
    const replication = known.length;
    const before = policy.verifyPlacement(known, replication, liveZones).ok;
    const target = targets.find((p) => {
      if (chunk.holders.includes(p.node.id) || p.available < L || after(p, L) > mean + t) return false;
      if (!before) return true;
      const swapped = known.map((h) => (h.id === source.node.id ? p.node : h));
      return policy.verifyPlacement(swapped, replication, liveZones).ok;
    });
    if (!target) continue;
    moves.push({ chunkId: chunk.chunkId, sourceId: source.node.id, targetId: target.node.id, length: L });
    moved.add(chunk.chunkId);
    bytes += L;
    source.used -= L;
    target.used += L;
    target.available -= L;
  }
  return moves;
}

/** What the balancer may use; the threshold is chosen per run. */
export interface BalancerLimits {
  /** Bytes per second its copies may move together. */
  bandwidthBytesPerSecond: number;
  /** Copies in flight at most. */
  maxMoves: number;
  /** The threshold of a run started without one, in percentage points. */
  defaultThresholdPercent: number;
}

export interface BalancerStatus {
  running: boolean;
  thresholdPercent: number;
  movesDone: number;
  bytesMoved: number;
  movesInFlight: number;
  maxDeviationPercent: number;
  stopReason: string;
}

/** Rounds to wait after a batch of moves ends, for the DataNodes' heartbeats to report their new usage. */
const SETTLE_ROUNDS = 3;

/**
 * Runs the balancer (HDFS's Balancer, inside the NameNode): each round,
 * while any in-service DataNode's used share is further than the threshold
 * from the cluster's mean, it plans a batch of moves with the planner above
 * and hands each to the replication machinery as a copy from the fuller
 * node to the emptier one; once the copy is committed the chunk has one
 * replica too many, and the replication monitor trims it, preferring the
 * move's source. A chunk never drops below its replication (copy first,
 * trim after) and the placement policy is never broken (the planner checks
 * it). Throttled by bytes per second and copies in flight. Its state is in
 * memory: a NameNode restart stops it (start it again).
 */
export class Balancer {
  private run: { thresholdPercent: number; bandwidth: number; maxMoves: number; startedMs: number; bytesPlanned: number } | undefined;
  private readonly moves = new Map<string, PlannedMove>();
  private movesDone = 0;
  private bytesMoved = 0;
  private stopReason = "never started";
  private settle = 0;
  private lastDeviation = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly datanodes: DataNodeManager,
    private readonly map: ChunkMap,
    private readonly pending: PendingReplications,
    private readonly policy: PlacementPolicy,
    private readonly limits: BalancerLimits,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a run, or retunes the one under way. */
  start(options: { thresholdPercent?: number; bandwidthBytesPerSecond?: number; maxMoves?: number } = {}): BalancerStatus {
    const thresholdPercent = options.thresholdPercent || this.limits.defaultThresholdPercent;
    if (!(thresholdPercent > 0 && thresholdPercent <= 100)) {
      throw new TrainfsError("invalid_argument", `the balancer's threshold is a percentage above 0 and at most 100, not ${thresholdPercent}`);
    }
    const bandwidth = options.bandwidthBytesPerSecond || this.limits.bandwidthBytesPerSecond;
    const maxMoves = options.maxMoves || this.limits.maxMoves;
    if (!this.run) {
      this.movesDone = 0;
      this.bytesMoved = 0;
      this.run = { thresholdPercent, bandwidth, maxMoves, startedMs: this.now(), bytesPlanned: 0 };
    } else {
      Object.assign(this.run, { thresholdPercent, bandwidth, maxMoves });
    }
    this.stopReason = "";
    this.lastDeviation = this.deviation();
    this.logger.info({ thresholdPercent, bandwidth, maxMoves, maxDeviationPercent: this.lastDeviation }, "balancer started");
    return this.status();
  }

  /** Stops planning moves; copies under way finish and are trimmed as usual. */
  stop(reason = "stopped by an operator"): BalancerStatus {
    if (this.run) this.logger.info({ reason, movesDone: this.movesDone, bytesMoved: this.bytesMoved }, "balancer stopped");
    this.run = undefined;
    this.stopReason = reason;
    return this.status();
  }

  status(): BalancerStatus {
    return {
      running: this.run !== undefined,
      thresholdPercent: this.run?.thresholdPercent ?? this.limits.defaultThresholdPercent,
      movesDone: this.movesDone,
      bytesMoved: this.bytesMoved,
      movesInFlight: this.moves.size,
      maxDeviationPercent: this.lastDeviation,
      stopReason: this.stopReason,
    };
  }

  /** One round: plans the next batch once the last one has landed and been reported. */
  async runOnce(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.lastDeviation = this.deviation();
    if (this.moves.size > 0) return;
    if (this.settle > 0) {
      this.settle--;
      return;
    }
    if (this.lastDeviation <= run.thresholdPercent) {
      this.stop("balanced");
      return;
    }
    const budget = run.bandwidth * ((this.now() - run.startedMs) / 1000 + 1) - run.bytesPlanned;
    if (budget <= 0) return;
    const nodes = this.datanodes.placementNodes();
    const planned = planMoves(
      nodes,
      (nodeId) => this.chunksOn(nodeId),
      this.policy,
      { thresholdPercent: run.thresholdPercent, maxMoves: run.maxMoves, maxBytes: budget },
      this.datanodes.liveZones(),
    );
    if (planned.length === 0) {
      this.stop("no move left that keeps the placement rules");
      return;
    }
    const nowMs = this.now();
    await this.store.write(() => {
      for (const move of planned) {
        if (this.pending.get(move.chunkId)) continue;
        this.pending.add({ chunkId: move.chunkId, sourceId: move.sourceId, targetIds: [move.targetId], issuedMs: nowMs });
        this.moves.set(move.chunkId, move);
        run.bytesPlanned += move.length;
      }
    });
    this.logger.info({ moves: planned.length, maxDeviationPercent: this.lastDeviation }, "balancer planned moves");
  }

  /** The node a move's copy came from: the replica to trim once the copy landed. */
  sourceOf(chunkId: string): string | undefined {
    return this.moves.get(chunkId)?.sourceId;
  }

  /** A move's copy was committed by its target. */
  copied(chunkId: string): void {
    const move = this.moves.get(chunkId);
    if (move) this.logger.debug({ chunkId, source: move.sourceId, target: move.targetId }, "balancer copy landed");
  }

  /** The replication monitor trimmed the chunk's surplus: a move that got there is done. */
  trimmed(chunkId: string, datanodeIds: readonly string[]): void {
    const move = this.moves.get(chunkId);
    if (!move) return;
    this.moves.delete(chunkId);
    if (datanodeIds.includes(move.sourceId)) {
      this.movesDone++;
      this.bytesMoved += move.length;
    }
    if (this.moves.size === 0) this.settle = SETTLE_ROUNDS;
  }

  /** A move's copy failed or timed out: it is dropped (the next batch may plan it again). */
  abandoned(chunkId: string): void {
    if (this.moves.delete(chunkId) && this.moves.size === 0) this.settle = SETTLE_ROUNDS;
  }

  private deviation(): number {
    return utilization(this.datanodes.placementNodes()).maxDeviation;
  }

  /** A node's chunks with their holders, listed lazily. */
  private *chunksOn(nodeId: string): Generator<BalancerChunk> {
    for (const chunkId of this.map.chunksOn(nodeId)) {
      const chunk = this.store.chunks.get(chunkId);
      if (!chunk || chunk.inodeId === undefined) continue;
      const holders = this.map.liveHolders(chunk);
      if (holders.length === 0) continue;
      yield { chunkId, length: chunk.length, holders };
    }
  }
}
