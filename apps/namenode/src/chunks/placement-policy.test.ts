import { describe, expect, it } from "vitest";
import { TrainfsError } from "@trainfs/common";
import {
  PLACEMENT_POLICIES,
  chooseTargets,
  createPlacementPolicy,
  maxReplicasPerZone,
  rankTargets,
  type PlacementNode,
  type PlacementPolicyName,
} from "./placement-policy.js";

const zoneAware = createPlacementPolicy("zone-aware");
const availableSpace = createPlacementPolicy("available-space");

function node(id: string, zone: string, available: number): PlacementNode {
  return { id, zone, available, capacityBytes: 1000, usedBytes: 1000 - available };
}

function zonesOf(ids: readonly string[], nodes: readonly PlacementNode[]): string[] {
  return ids.map((id) => nodes.find((n) => n.id === id)!.zone);
}

function countByZone(zones: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const z of zones) m.set(z, (m.get(z) ?? 0) + 1);
  return m;
}

function catchError(fn: () => unknown): TrainfsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TrainfsError) return err;
    throw err;
  }
  throw new Error("expected an error");
}

describe("maxReplicasPerZone", () => {
  it("follows HDFS's rack cap", () => {
    expect(maxReplicasPerZone(3, 2)).toBe(2);
    expect(maxReplicasPerZone(3, 3)).toBe(2);
    expect(maxReplicasPerZone(2, 2)).toBe(1);
    expect(maxReplicasPerZone(5, 2)).toBe(4);
    expect(maxReplicasPerZone(5, 3)).toBe(3);
    expect(maxReplicasPerZone(4, 4)).toBe(2);
    expect(maxReplicasPerZone(10, 3)).toBe(5);
  });

  it("does not cap one zone or one replica", () => {
    expect(maxReplicasPerZone(3, 1)).toBe(3);
    expect(maxReplicasPerZone(3, 0)).toBe(3);
    expect(maxReplicasPerZone(1, 2)).toBe(1);
    expect(maxReplicasPerZone(1, 5)).toBe(1);
  });
});

describe("createPlacementPolicy", () => {
  it("builds each named policy", () => {
    expect(PLACEMENT_POLICIES).toEqual(["zone-aware", "available-space"]);
    for (const name of PLACEMENT_POLICIES) expect(createPlacementPolicy(name).name).toBe(name);
  });

  it("rejects an unknown name with invalid_argument", () => {
    const err = catchError(() => createPlacementPolicy("rack-aware" as PlacementPolicyName));
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain("zone-aware, available-space");
  });
});

describe("available-space policy", () => {
  const nodes = [node("a", "z1", 100), node("b", "z1", 300), node("c", "z2", 200), node("d", "z2", 50)];

  it("picks distinct nodes with the most available space first, ignoring zones", () => {
    expect(availableSpace.chooseTargets({ count: 3, chunkLength: 10, candidates: nodes, strict: true })).toEqual(["b", "c", "a"]);
    expect(availableSpace.chooseTargets({ count: 2, chunkLength: 10, candidates: nodes, strict: true })).toEqual(["b", "c"]);
    // Both roomiest in one zone: available-space does not care.
    const lopsided = [node("a", "z1", 100), node("b", "z1", 300), node("c", "z2", 20)];
    expect(availableSpace.chooseTargets({ count: 2, chunkLength: 10, candidates: lopsided, strict: true })).toEqual(["b", "a"]);
    expect(zoneAware.chooseTargets({ count: 2, chunkLength: 10, candidates: lopsided, strict: true })).toEqual(["b", "c"]);
  });

  it("breaks ties by id", () => {
    const tied = [node("y", "", 5), node("x", "", 5)];
    expect(availableSpace.chooseTargets({ count: 2, chunkLength: 1, candidates: tied, strict: true })).toEqual(["x", "y"]);
  });

  it("skips nodes without room", () => {
    expect(availableSpace.chooseTargets({ count: 2, chunkLength: 150, candidates: nodes, strict: true })).toEqual(["b", "c"]);
  });

  it("always verifies ok", () => {
    const same = [node("a", "z1", 1), node("b", "z1", 1), node("c", "z1", 1)];
    expect(availableSpace.verifyPlacement(same, 3, new Set(["z1", "z2"]))).toEqual({ ok: true });
  });

  it("deletes the fullest first, ignoring zones", () => {
    const holders = [node("a", "z1", 100), node("b", "z2", 10), node("c", "z1", 50), node("d", "z1", 50)];
    expect(availableSpace.chooseReplicasToDelete(holders, 1)).toEqual(["b"]);
    expect(availableSpace.chooseReplicasToDelete(holders, 3)).toEqual(["b", "c", "d"]);
  });

  it("deletes preferred ids first", () => {
    const holders = [node("a", "z1", 100), node("b", "z2", 10), node("c", "z1", 50)];
    expect(availableSpace.chooseReplicasToDelete(holders, 1, new Set(["a"]))).toEqual(["a"]);
  });
});

describe("the old functions, kept for today's callers", () => {
  const nodes = [
    { id: "a", available: 100 },
    { id: "b", available: 300 },
    { id: "c", available: 200 },
    { id: "d", available: 50 },
  ];

  it("chooseTargets picks the roomiest distinct nodes", () => {
    expect(chooseTargets(nodes, 3, 10)).toEqual(["b", "c", "a"]);
    expect(chooseTargets(nodes, 1, 10)).toEqual(["b"]);
    expect(chooseTargets([{ id: "y", available: 5 }, { id: "x", available: 5 }], 2, 1)).toEqual(["x", "y"]);
    expect(chooseTargets(nodes, 2, 150)).toEqual(["b", "c"]);
  });

  it("chooseTargets fails with FailedPrecondition naming how many nodes are live", () => {
    const err = catchError(() => chooseTargets(nodes.slice(0, 2), 3, 10));
    expect(err.code).toBe("failed_precondition");
    expect(err.message).toBe("replication 3 needs 3 live DataNodes, but 2 are live");
    expect(catchError(() => chooseTargets(nodes.slice(0, 1), 2, 10)).message).toBe("replication 2 needs 2 live DataNodes, but 1 is live");
  });

  it("chooseTargets fails with ResourceExhausted when too few nodes have room", () => {
    const err = catchError(() => chooseTargets(nodes, 3, 250));
    expect(err.code).toBe("resource_exhausted");
    expect(err.message).toBe("replication 3 needs 3 DataNodes with 250 bytes free, but only 1 of 4 live DataNodes have room");
  });

  it("rankTargets lists every node with room, roomiest first", () => {
    expect(rankTargets(nodes, 10)).toEqual(["b", "c", "a", "d"]);
    expect(rankTargets(nodes, 150)).toEqual(["b", "c"]);
    expect(rankTargets([], 1)).toEqual([]);
  });
});

describe("zone-aware chooseTargets", () => {
  // Two zones of three nodes each.
  const twoByThree = [
    node("a1", "a", 900),
    node("a2", "a", 800),
    node("a3", "a", 700),
    node("b1", "b", 300),
    node("b2", "b", 200),
    node("b3", "b", 100),
  ];

  it("spreads replication 3 over both zones and never puts 3 in one", () => {
    const chosen = zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: twoByThree, strict: true });
    expect(chosen).toEqual(["a1", "b1", "a2"]);
    const counts = countByZone(zonesOf(chosen, twoByThree));
    expect(counts.size).toBe(2);
    expect(Math.max(...counts.values())).toBe(2);
  });

  it("keeps 2 zones under every arrangement of free space", () => {
    // Rotate which nodes are roomiest so a space-only rank would pick one zone.
    for (let shift = 0; shift < 6; shift++) {
      const nodes = twoByThree.map((n, i) => ({ ...n, available: 100 * (((i + shift) % 6) + 1) }));
      const chosen = zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: nodes, strict: true });
      expect(new Set(chosen).size).toBe(3);
      const counts = countByZone(zonesOf(chosen, nodes));
      expect(counts.size).toBe(2);
      expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    }
  });

  it("fills the least-populated zones first, then the roomiest node in the zone", () => {
    const nodes = [node("a1", "a", 900), node("a2", "a", 800), node("b1", "b", 10), node("c1", "c", 20), node("c2", "c", 500)];
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 5, candidates: nodes, strict: true })).toEqual(["a1", "c2", "b1"]);
  });

  it("counts existing replicas when spreading", () => {
    const existing = [twoByThree[0]!, twoByThree[1]!];
    // Zone a already holds two: the third goes to b even though a3 is roomier.
    expect(zoneAware.chooseTargets({ count: 1, chunkLength: 10, candidates: twoByThree, existing, strict: true })).toEqual(["b1"]);
    // Existing nodes are never chosen again.
    const chosen = zoneAware.chooseTargets({ count: 2, chunkLength: 10, candidates: twoByThree, existing: [twoByThree[3]!], strict: true });
    expect(chosen).not.toContain("b1");
    expect(chosen).toEqual(["a1", "a2"]);
  });

  it("still gives a write 3 targets when one zone is full, breaking the cap rather than failing", () => {
    const nodes = [node("a1", "a", 900), node("a2", "a", 800), node("a3", "a", 700), node("b1", "b", 5), node("b2", "b", 0)];
    const chosen = zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: nodes, strict: true });
    expect(chosen).toEqual(["a1", "a2", "a3"]);
    // And the result is flagged for the replication monitor.
    const verdict = zoneAware.verifyPlacement(nodes.slice(0, 3), 3, new Set(["a", "b"]));
    expect(verdict.ok).toBe(false);
  });

  it("uses the other zone as far as it has room before breaking the cap", () => {
    const nodes = [node("a1", "a", 900), node("a2", "a", 800), node("a3", "a", 700), node("a4", "a", 600), node("b1", "b", 50)];
    const chosen = zoneAware.chooseTargets({ count: 4, chunkLength: 10, candidates: nodes, strict: true });
    // Cap for replication 4 over 2 zones is 3: a1, b1, a2, a3 is within it.
    expect(chosen).toEqual(["a1", "b1", "a2", "a3"]);
  });

  it("with one zone behaves exactly like available-space", () => {
    const single = [node("n1", "r", 100), node("n2", "r", 300), node("n3", "r", 200), node("n4", "r", 300), node("n5", "r", 5)];
    const noZone = single.map((n) => ({ ...n, zone: "" }));
    for (const candidates of [single, noZone]) {
      for (const count of [1, 2, 3, 4]) {
        for (const strict of [true, false]) {
          const req = { count, chunkLength: 10, candidates, strict, avoid: new Set(["n2"]) };
          expect(zoneAware.chooseTargets(req)).toEqual(availableSpace.chooseTargets(req));
        }
      }
    }
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: single, strict: true })).toEqual(["n2", "n4", "n3"]);
  });

  it("treats nodes without a zone as one zone", () => {
    const nodes = [node("x1", "", 900), node("x2", "", 800), node("x3", "", 700), node("k1", "k", 10)];
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 5, candidates: nodes, strict: true })).toEqual(["x1", "k1", "x2"]);
  });

  it("never chooses excluded nodes, and they do not count as live", () => {
    const excluded = new Set(["a1", "b1"]);
    const chosen = zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: twoByThree, excluded, strict: true });
    expect(chosen).toEqual(["a2", "b2", "a3"]);
    const err = catchError(() =>
      zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: twoByThree.slice(0, 4), excluded: new Set(["a1", "a2"]), strict: true }),
    );
    expect(err.code).toBe("failed_precondition");
    expect(err.message).toMatch(/needs 3 live DataNodes, but 2 are live/);
  });

  it("uses avoided nodes only when nothing else fits", () => {
    const avoid = new Set(["a1", "b1"]);
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: twoByThree, avoid, strict: true })).toEqual(["a2", "b2", "a3"]);
    // Only four nodes, two avoided: both others first, then the roomiest avoided one.
    const four = [twoByThree[0]!, twoByThree[1]!, twoByThree[3]!, twoByThree[4]!];
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: four, avoid, strict: true })).toEqual(["a2", "b2", "a1"]);
    // An avoided node with no room is still not chosen.
    const err = catchError(() =>
      zoneAware.chooseTargets({ count: 3, chunkLength: 350, candidates: four, avoid, strict: true }),
    );
    expect(err.code).toBe("resource_exhausted");
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 350, candidates: four, avoid, strict: false })).toEqual(["a2", "a1"]);
  });

  it("prefers breaking the zone cap over an avoided node", () => {
    const nodes = [node("a1", "a", 900), node("a2", "a", 800), node("a3", "a", 700), node("b1", "b", 500)];
    const chosen = zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: nodes, avoid: new Set(["b1"]), strict: true });
    expect(chosen).toEqual(["a1", "a2", "a3"]);
  });

  it("strict: throws the codes and messages of today", () => {
    const few = zoneAware.chooseTargets.bind(zoneAware);
    const e1 = catchError(() => few({ count: 3, chunkLength: 10, candidates: twoByThree.slice(0, 2), strict: true }));
    expect(e1.code).toBe("failed_precondition");
    expect(e1.message).toBe("replication 3 needs 3 live DataNodes, but 2 are live");
    const e2 = catchError(() => few({ count: 3, chunkLength: 750, candidates: twoByThree, strict: true }));
    expect(e2.code).toBe("resource_exhausted");
    expect(e2.message).toContain("only 2 of 6 live DataNodes have room");
    const e3 = catchError(() => few({ count: 2, chunkLength: 10, candidates: twoByThree.slice(0, 2), existing: [twoByThree[0]!], strict: true }));
    expect(e3.code).toBe("failed_precondition");
    expect(e3.message).toBe("replication 3 needs 2 live DataNodes besides the 1 holding the chunk, but 1 is live");
  });

  it("non-strict: returns as many as fit", () => {
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 750, candidates: twoByThree, strict: false })).toEqual(["a1", "a2"]);
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 10_000, candidates: twoByThree, strict: false })).toEqual([]);
    expect(zoneAware.chooseTargets({ count: 0, chunkLength: 10, candidates: twoByThree, strict: true })).toEqual([]);
  });

  it("meets verifyPlacement on random clusters whenever each zone has room", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const zones = ["a", "b", "c"].slice(0, 2 + rand(2));
      const nodes = zones.flatMap((z) => Array.from({ length: 2 + rand(3) }, (_, i) => node(`${z}${i}`, z, 10 + rand(990))));
      const replication = 2 + rand(3);
      const chosen = zoneAware.chooseTargets({ count: replication, chunkLength: 1, candidates: nodes, strict: true });
      expect(new Set(chosen).size).toBe(replication);
      const holders = chosen.map((id) => nodes.find((n) => n.id === id)!);
      expect(zoneAware.verifyPlacement(holders, replication, new Set(zones))).toEqual({ ok: true });
    }
  });

  it("never returns a node twice, even if listed twice", () => {
    const dup = [twoByThree[0]!, twoByThree[0]!, twoByThree[3]!];
    expect(zoneAware.chooseTargets({ count: 3, chunkLength: 10, candidates: dup, strict: false })).toEqual(["a1", "b1"]);
  });
});

describe("zone-aware chooseReplicasToDelete", () => {
  it("keeps both zones: a,a,b,b at replication 3 loses the fullest of either", () => {
    const holders = [node("a1", "a", 500), node("a2", "a", 100), node("b1", "b", 50), node("b2", "b", 400)];
    expect(zoneAware.chooseReplicasToDelete(holders, 1)).toEqual(["b1"]);
    const other = [node("a1", "a", 500), node("a2", "a", 10), node("b1", "b", 50), node("b2", "b", 400)];
    expect(zoneAware.chooseReplicasToDelete(other, 1)).toEqual(["a2"]);
  });

  it("never removes a zone's only replica when another choice keeps it", () => {
    // b1 is the fullest, but it is zone b's only replica.
    const holders = [node("a1", "a", 500), node("a2", "a", 400), node("b1", "b", 1)];
    expect(zoneAware.chooseReplicasToDelete(holders, 1)).toEqual(["a2"]);
    // Down to 2 of a,a,a,b: both zones stay.
    const four = [node("a1", "a", 500), node("a2", "a", 400), node("a3", "a", 300), node("b1", "b", 1)];
    const gone = zoneAware.chooseReplicasToDelete(four, 2);
    expect(gone).toEqual(["a3", "a2"]);
  });

  it("brings a crowded zone under the cap", () => {
    // Replication 3 from a,a,a,b: one of a must go, even if b is fuller.
    const holders = [node("a1", "a", 500), node("a2", "a", 400), node("a3", "a", 300), node("b1", "b", 1), node("b2", "b", 2)];
    const gone = zoneAware.chooseReplicasToDelete(holders, 2);
    const left = holders.filter((h) => !gone.includes(h.id));
    expect(zoneAware.verifyPlacement(left, 3, new Set(["a", "b"])).ok).toBe(true);
  });

  it("deletes preferred ids first when the rule allows", () => {
    const holders = [node("a1", "a", 500), node("a2", "a", 400), node("b1", "b", 1), node("b2", "b", 2)];
    expect(zoneAware.chooseReplicasToDelete(holders, 1, new Set(["a1"]))).toEqual(["a1"]);
    // Not when it would leave one zone: b1 is b's only replica.
    const three = [node("a1", "a", 500), node("a2", "a", 400), node("b1", "b", 1)];
    expect(zoneAware.chooseReplicasToDelete(three, 1, new Set(["b1"]))).toEqual(["a2"]);
  });

  it("spreads over three zones when it can", () => {
    const holders = [node("a1", "a", 900), node("a2", "a", 800), node("b1", "b", 10), node("c1", "c", 20)];
    // Deleting b1 (the fullest) would leave a,a,c: within the cap, but a1/a2 leave a smaller largest zone.
    expect(zoneAware.chooseReplicasToDelete(holders, 1)).toEqual(["a2"]);
  });

  it("returns no more than it has, and nothing for no surplus", () => {
    const holders = [node("a1", "a", 5), node("b1", "b", 1)];
    expect(zoneAware.chooseReplicasToDelete(holders, 0)).toEqual([]);
    expect(zoneAware.chooseReplicasToDelete(holders, 5).sort()).toEqual(["a1", "b1"]);
  });
});

describe("zone-aware verifyPlacement", () => {
  const two = new Set(["a", "b"]);

  it("passes replicas spanning two zones within the cap", () => {
    expect(zoneAware.verifyPlacement([node("a1", "a", 1), node("a2", "a", 1), node("b1", "b", 1)], 3, two)).toEqual({ ok: true });
    expect(zoneAware.verifyPlacement([node("a1", "a", 1), node("b1", "b", 1)], 2, two)).toEqual({ ok: true });
  });

  it("flags replicas all in one zone while two are alive", () => {
    const v = zoneAware.verifyPlacement([node("a1", "a", 1), node("a2", "a", 1), node("a3", "a", 1)], 3, two);
    expect(v.ok).toBe(false);
    expect(v.reason).toBe("all 3 replicas in zone a while 2 zones are alive");
    const none = zoneAware.verifyPlacement([node("x1", "", 1), node("x2", "", 1)], 2, new Set(["", "b"]));
    expect(none.reason).toBe("all 2 replicas in zone (none) while 2 zones are alive");
  });

  it("flags a zone above the cap", () => {
    const holders = [node("a1", "a", 1), node("a2", "a", 1), node("a3", "a", 1), node("a4", "a", 1), node("b1", "b", 1)];
    const v = zoneAware.verifyPlacement(holders, 5, new Set(["a", "b", "c"]));
    expect(v.ok).toBe(false);
    expect(v.reason).toBe("4 of 5 replicas in zone a, above the cap of 3 for replication 5 over 3 zones");
    // Over only two live zones the cap is 4.
    expect(zoneAware.verifyPlacement(holders, 5, two).ok).toBe(true);
  });

  it("passes anything with fewer than two live zones or replication 1", () => {
    const same = [node("a1", "a", 1), node("a2", "a", 1), node("a3", "a", 1)];
    expect(zoneAware.verifyPlacement(same, 3, new Set(["a"])).ok).toBe(true);
    expect(zoneAware.verifyPlacement(same, 3, new Set()).ok).toBe(true);
    expect(zoneAware.verifyPlacement([node("a1", "a", 1)], 1, two).ok).toBe(true);
  });

  it("flags a lone replica at replication 2", () => {
    const v = zoneAware.verifyPlacement([node("a1", "a", 1)], 2, two);
    expect(v).toEqual({ ok: false, reason: "the only replica is in zone a while 2 zones are alive" });
  });
});
