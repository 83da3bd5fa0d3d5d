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
