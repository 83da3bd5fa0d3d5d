import { describe, expect, it } from "vitest";
import { planMoves, utilization, type BalancerChunk, type BalancerNode, type BalancerSettings, type PlannedMove } from "./balancer.js";
import { createPlacementPolicy } from "./placement-policy.js";

const zoneAware = createPlacementPolicy("zone-aware");
const availableSpace = createPlacementPolicy("available-space");

function node(id: string, zone: string, usedBytes: number, capacityBytes = 1000): BalancerNode {
  return { id, zone, usedBytes, capacityBytes, available: capacityBytes - usedBytes };
}

/** chunksOn over a fixed list of chunks, counting how many the planner pulled. */
function catalog(chunks: readonly BalancerChunk[]) {
  const pulled = { count: 0 };
  const chunksOn = function* (nodeId: string): Generator<BalancerChunk> {
    for (const c of chunks) {
      if (!c.holders.includes(nodeId)) continue;
      pulled.count++;
      yield c;
    }
  };
  return { chunksOn, pulled };
}

const loose: BalancerSettings = { thresholdPercent: 10, maxMoves: 1000, maxBytes: 1e12 };

/** Three full nodes (zones a, a, b) and a new empty one in zone a; every chunk on all three. */
function newEmptyNode() {
  const nodes = [node("n1", "a", 900), node("n2", "a", 900), node("n3", "b", 900), node("n4", "a", 0)];
  const chunks = Array.from({ length: 9 }, (_, i) => ({ chunkId: `c${i}`, length: 100, holders: ["n1", "n2", "n3"] }));
  return { nodes, chunks, liveZones: new Set(["a", "b"]) };
}

function checkInvariants(moves: readonly PlannedMove[], nodes: readonly BalancerNode[], chunks: readonly BalancerChunk[], settings: BalancerSettings) {
  expect(moves.length).toBeLessThanOrEqual(settings.maxMoves);
  expect(moves.reduce((s, m) => s + m.length, 0)).toBeLessThanOrEqual(settings.maxBytes);
  expect(new Set(moves.map((m) => m.chunkId)).size).toBe(moves.length);
  for (const m of moves) {
    const chunk = chunks.find((c) => c.chunkId === m.chunkId)!;
    expect(chunk.holders).toContain(m.sourceId);
    expect(chunk.holders).not.toContain(m.targetId);
    expect(m.length).toBe(chunk.length);
  }
  // Planned bytes never carry a node past the mean by more than the threshold.
  const { mean } = utilization(nodes);
  for (const n of nodes) {
    const used = n.usedBytes + moves.reduce((s, m) => s + (m.targetId === n.id ? m.length : m.sourceId === n.id ? -m.length : 0), 0);
    const share = (used / n.capacityBytes) * 100;
    if (moves.some((m) => m.targetId === n.id)) expect(share).toBeLessThanOrEqual(mean + settings.thresholdPercent);
    if (moves.some((m) => m.sourceId === n.id)) expect(share).toBeGreaterThanOrEqual(mean - settings.thresholdPercent);
  }
}

describe("utilization", () => {
  it("gives each node's share, the capacity-weighted mean, and the largest deviation", () => {
    const u = utilization([node("x", "", 500, 1000), node("y", "", 0, 3000)]);
    expect(u.shares.get("x")).toBe(50);
    expect(u.shares.get("y")).toBe(0);
    expect(u.mean).toBe(12.5);
    expect(u.maxDeviation).toBe(37.5);
  });

  it("leaves out nodes without capacity and copes with none", () => {
    const u = utilization([node("x", "", 0, 0), node("y", "", 250, 1000)]);
    expect([...u.shares.keys()]).toEqual(["y"]);
    expect(u.mean).toBe(25);
    expect(u.maxDeviation).toBe(0);
    expect(utilization([])).toEqual({ mean: 0, shares: new Map(), maxDeviation: 0 });
  });
});

describe("planMoves", () => {
  it("moves chunks from three full nodes onto a new empty one", () => {
    const { nodes, chunks, liveZones } = newEmptyNode();
    const { chunksOn } = catalog(chunks);
    const moves = planMoves(nodes, chunksOn, zoneAware, loose, liveZones);
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) expect(m.targetId).toBe("n4");
    checkInvariants(moves, nodes, chunks, loose);
    // Fullest sources first: the first moves alternate between the two full sources that may give.
    expect(moves.slice(0, 2).map((m) => m.sourceId)).toEqual(["n1", "n2"]);
  });

  it("never breaks the zone rule: zone b's only replica does not move to zone a", () => {
    const { nodes, chunks, liveZones } = newEmptyNode();
    const moves = planMoves(nodes, catalog(chunks).chunksOn, zoneAware, loose, liveZones);
    expect(moves.some((m) => m.sourceId === "n3")).toBe(false);
    for (const m of moves) {
      const chunk = chunks.find((c) => c.chunkId === m.chunkId)!;
      const after = chunk.holders.map((id) => nodes.find((n) => n.id === (id === m.sourceId ? m.targetId : id))!);
      expect(zoneAware.verifyPlacement(after, 3, liveZones).ok).toBe(true);
    }
    // Without zones the same cluster does move n3's replicas.
    const spaceOnly = planMoves(nodes, catalog(chunks).chunksOn, availableSpace, loose, liveZones);
    expect(spaceOnly.some((m) => m.sourceId === "n3")).toBe(true);
    checkInvariants(spaceOnly, nodes, chunks, loose);
  });

  it("lets a chunk that already broke the rule move, even within its zone", () => {
    const nodes = [node("n1", "a", 900), node("n2", "a", 900), node("n3", "a", 900), node("m1", "a", 0), node("m2", "b", 900)];
    const chunks = [{ chunkId: "c", length: 100, holders: ["n1", "n2", "n3"] }];
    const moves = planMoves(nodes, catalog(chunks).chunksOn, zoneAware, loose, new Set(["a", "b"]));
    expect(moves).toEqual([{ chunkId: "c", sourceId: "n1", targetId: "m1", length: 100 }]);
  });

  it("honours maxMoves and maxBytes", () => {
    const { nodes, chunks, liveZones } = newEmptyNode();
    const two = { ...loose, maxMoves: 2 };
    expect(planMoves(nodes, catalog(chunks).chunksOn, zoneAware, two, liveZones)).toHaveLength(2);
    const bytes = { ...loose, maxBytes: 250 };
    const moves = planMoves(nodes, catalog(chunks).chunksOn, zoneAware, bytes, liveZones);
    expect(moves).toHaveLength(2);
    checkInvariants(moves, nodes, chunks, bytes);
    expect(planMoves(nodes, catalog(chunks).chunksOn, zoneAware, { ...loose, maxBytes: 99 }, liveZones)).toEqual([]);
    expect(planMoves(nodes, catalog(chunks).chunksOn, zoneAware, { ...loose, maxMoves: 0 }, liveZones)).toEqual([]);
  });

  it("stops pulling chunks once it has enough", () => {
    const { nodes, chunks, liveZones } = newEmptyNode();
    const { chunksOn, pulled } = catalog(chunks);
    planMoves(nodes, chunksOn, zoneAware, { ...loose, maxMoves: 1 }, liveZones);
    expect(pulled.count).toBe(1);
  });

  it("returns nothing when every node is within the threshold", () => {
    const nodes = [node("x", "a", 500), node("y", "b", 550), node("z", "a", 450)];
    const chunks = [{ chunkId: "c", length: 10, holders: ["y"] }];
    expect(planMoves(nodes, catalog(chunks).chunksOn, zoneAware, loose, new Set(["a", "b"]))).toEqual([]);
    const even = [node("x", "a", 500), node("y", "b", 500)];
    expect(planMoves(even, catalog(chunks).chunksOn, zoneAware, { ...loose, thresholdPercent: 0 }, new Set(["a", "b"]))).toEqual([]);
  });

  it("uses nodes merely above the mean as sources when only a node below is beyond the threshold", () => {
    // Mean 52.5: no node is above 62.5, but w is below 42.5.
    const nodes = [node("x", "", 600), node("y", "", 600), node("z", "", 600), node("w", "", 300)];
    const chunks = [
      { chunkId: "c1", length: 50, holders: ["x"] },
      { chunkId: "c2", length: 50, holders: ["y"] },
      { chunkId: "c3", length: 50, holders: ["z"] },
    ];
    const moves = planMoves(nodes, catalog(chunks).chunksOn, zoneAware, loose, new Set([""]));
    expect(moves.map((m) => [m.sourceId, m.targetId])).toEqual([
      ["x", "w"],
      ["y", "w"],
      ["z", "w"],
    ]);
    checkInvariants(moves, nodes, chunks, loose);
  });

  it("never targets a node that holds the chunk, and sends the emptiest first", () => {
    const nodes = [node("full", "", 900), node("e1", "", 0), node("e2", "", 100)];
    const chunks = [
      { chunkId: "c1", length: 100, holders: ["full", "e1"] },
      { chunkId: "c2", length: 100, holders: ["full"] },
    ];
    const moves = planMoves(nodes, catalog(chunks).chunksOn, zoneAware, loose, new Set([""]));
    expect(moves).toEqual([
      { chunkId: "c1", sourceId: "full", targetId: "e2", length: 100 },
      { chunkId: "c2", sourceId: "full", targetId: "e1", length: 100 },
    ]);
  });

  it("accounts planned bytes so targets are not overfilled and a chunk moves once", () => {
    // A target with little room: available limits it even where its share would not.
    const nodes = [node("s1", "", 900), node("s2", "", 900), node("t", "", 0, 1000)];
    const small = { ...nodes[2]!, available: 150 };
    const chunks = Array.from({ length: 9 }, (_, i) => ({ chunkId: `c${i}`, length: 100, holders: ["s1", "s2"] }));
    const moves = planMoves([nodes[0]!, nodes[1]!, small], catalog(chunks).chunksOn, zoneAware, loose, new Set([""]));
    expect(moves).toHaveLength(1);
    const roomy = planMoves(nodes, catalog(chunks).chunksOn, zoneAware, loose, new Set([""]));
    checkInvariants(roomy, nodes, chunks, loose);
    // Mean 60%: t takes 10% chunks until its planned share reaches the mean,
    // though nine chunks are on offer and the sources are still above it.
    expect(roomy).toHaveLength(6);
    expect(roomy.map((m) => m.sourceId)).toEqual(["s1", "s2", "s1", "s2", "s1", "s2"]);
  });

  it("skips chunks with a holder it does not know", () => {
    const nodes = [node("full", "", 900), node("empty", "", 0)];
    const chunks = [
      { chunkId: "c1", length: 100, holders: ["full", "gone"] },
      { chunkId: "c2", length: 100, holders: ["full"] },
    ];
    const moves = planMoves(nodes, catalog(chunks).chunksOn, zoneAware, { ...loose, maxMoves: 5 }, new Set([""]));
    expect(moves.map((m) => m.chunkId)).toEqual(["c2"]);
  });
});
