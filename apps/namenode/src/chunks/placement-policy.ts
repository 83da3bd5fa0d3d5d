import { TrainfsError } from "@trainfs/common";

/**
 * Where replicas go, modelled on HDFS's BlockPlacementPolicy: one object,
 * chosen by a NameNode setting, answers where new replicas go
 * (chooseTargets), which surplus replicas to drop (chooseReplicasToDelete)
 * and whether a chunk's replicas are placed well (verifyPlacement). Pure: no
 * I/O, deterministic (ties go by id), so plans can be tested and replayed.
 */

export interface PlacementNode {
  id: string;
  /** Failure domain; "" means the DataNode named none (all such nodes form one zone). */
  zone: string;
  /** Free bytes last reported, less bytes promised to writes in flight. */
  available: number;
  capacityBytes: number;
  usedBytes: number;
}

export type PlacementPolicyName = "zone-aware" | "available-space";

export interface TargetRequest {
  /** How many new nodes are wanted. */
  count: number;
  chunkLength: number;
  /** Live nodes in service that may be chosen. */
  candidates: readonly PlacementNode[];
  /** Nodes already holding (or already chosen for) the chunk: never chosen again, and counted for zone spreading. */
  existing?: readonly PlacementNode[];
  /** Never chosen. */
  excluded?: ReadonlySet<string>;
  /** Chosen only when nothing else fits (e.g. suspects of a failed chain, nodes of a failed copy). */
  avoid?: ReadonlySet<string>;
  /** true: throw (codes as today) when fewer than `count` can be found; false: return as many as fit (copy targets). */
  strict: boolean;
}

export interface PlacementVerdict {
  ok: boolean;
  /** why not, for operators, e.g. "all 3 replicas in zone a while 2 zones are alive" */
  reason?: string;
}

export interface PlacementPolicy {
  readonly name: PlacementPolicyName;
  chooseTargets(req: TargetRequest): string[];
  /** Which `surplus` of `holders` to delete so that the rest satisfy the policy as well as possible; among equals, the fullest (least available) first; `prefer` ids go first when allowed (the balancer's sources). */
  chooseReplicasToDelete(holders: readonly PlacementNode[], surplus: number, prefer?: ReadonlySet<string>): string[];
  /** Whether these replicas satisfy the policy for `replication`, given the zones that have live in-service nodes now. */
  verifyPlacement(holders: readonly PlacementNode[], replication: number, liveZones: ReadonlySet<string>): PlacementVerdict;
}

export const PLACEMENT_POLICIES: readonly PlacementPolicyName[] = Object.freeze(["zone-aware", "available-space"] as const);

/**
 * HDFS's rack cap: the most replicas of one chunk a zone may hold. With one
 * zone there is nothing to spread over; with one replica there is nothing to
 * spread (the bare formula would give 0 there, which no placement meets).
 */
export function maxReplicasPerZone(replication: number, zones: number): number {
  if (zones < 2 || replication <= 1) return replication;
  return Math.min(replication - 1, Math.floor((replication - 1) / zones) + 2);
}

export function createPlacementPolicy(name: PlacementPolicyName): PlacementPolicy {
  switch (name) {
    case "zone-aware":
      return ZONE_AWARE;
    case "available-space":
      return AVAILABLE_SPACE;
    default:
      // Reached only from untyped input (a config file).
      throw new TrainfsError("invalid_argument", `unknown placement policy ${JSON.stringify(name)}; choose one of ${PLACEMENT_POLICIES.join(", ")}`);
  }
}

/** Either policy is the same algorithm; available-space sees every node in one zone. */
function makePolicy(name: PlacementPolicyName, zoneOf: (n: PlacementNode) => string): PlacementPolicy {
  return Object.freeze({
    name,
    chooseTargets: (req: TargetRequest) => chooseWith(req, zoneOf),
    chooseReplicasToDelete: (holders: readonly PlacementNode[], surplus: number, prefer?: ReadonlySet<string>) =>
      deleteWith(holders, surplus, prefer ?? EMPTY, zoneOf),
    verifyPlacement: (holders: readonly PlacementNode[], replication: number, liveZones: ReadonlySet<string>) =>
      name === "available-space" ? { ok: true } : verifyZones(holders, replication, liveZones),
  });
}

const EMPTY: ReadonlySet<string> = new Set();
const ZONE_AWARE = makePolicy("zone-aware", (n) => n.zone);
const AVAILABLE_SPACE = makePolicy("available-space", () => "");

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Most available first, ties by id. */
function roomiest(a: PlacementNode, b: PlacementNode): number {
  return b.available - a.available || byId(a, b);
}

function showZone(zone: string): string {
  return zone === "" ? "(none)" : zone;
}

function chooseWith(req: TargetRequest, zoneOf: (n: PlacementNode) => string): string[] {
  const { count, chunkLength, strict } = req;
  const existing = req.existing ?? [];
  const excluded = req.excluded ?? EMPTY;
  const avoid = req.avoid ?? EMPTY;
  if (count <= 0) return [];

  const held = new Set(existing.map((n) => n.id));
  const seen = new Set<string>();
  const eligible: PlacementNode[] = [];
  for (const c of req.candidates) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    if (!excluded.has(c.id) && !held.has(c.id)) eligible.push(c);
  }
  const roomy = eligible.filter((c) => c.available >= chunkLength);
  if (strict) checkEnough(count, chunkLength, existing.length, eligible.length, roomy.length);

  // The cap counts the zones of every live candidate (excluded ones too):
  // those are the zones verifyPlacement will judge the chunk against.
  const zones = new Set(req.candidates.map(zoneOf)).size;
  const cap = maxReplicasPerZone(existing.length + count, zones);
  const population = new Map<string, number>();
  for (const n of existing) population.set(zoneOf(n), (population.get(zoneOf(n)) ?? 0) + 1);

  // Tiers, each only for what the earlier ones could not fill: room matters
  // more than the zone cap (a write must not fail because one zone is full),
  // and a node to avoid is a last resort even over breaking the cap, since the
  // replication monitor can fix a crowded zone later but not a failed chain.
  // (Least-populated-first alone never passes the cap while another zone is
  // below it; the capped tier keeps the rule explicit rather than implied.)
  const preferred = roomy.filter((c) => !avoid.has(c.id));
  const avoided = roomy.filter((c) => avoid.has(c.id));
  const chosen: string[] = [];
  for (const [pool, capped] of [
    [preferred, true],
    [preferred, false],
    [avoided, true],
    [avoided, false],
  ] as const) {
    if (chosen.length >= count) break;
    fill(pool, capped ? cap : Infinity, count, chosen, population, zoneOf);
  }
  return chosen;
}

function checkEnough(count: number, chunkLength: number, existing: number, live: number, roomy: number): void {
  const besides = existing > 0 ? ` besides the ${existing} holding the chunk` : "";
  const what = existing > 0 ? `replication ${existing + count}` : `replication ${count}`;
  if (live < count) {
    throw new TrainfsError(
      "failed_precondition",
      `${what} needs ${count} live DataNodes${besides}, but ${live} ${live === 1 ? "is" : "are"} live`,
    );
  }
  if (roomy < count) {
    throw new TrainfsError(
      "resource_exhausted",
      `${what} needs ${count} DataNodes${besides} with ${chunkLength} bytes free, but only ${roomy} of ${live} live DataNodes have room`,
    );
  }
}

/**
 * Greedy: the least-populated zone below `cap` that still has a node, and in
 * it the roomiest node. Any order of picks below the cap reaches the most
 * picks the cap allows, so least-populated-first costs nothing and spreads.
 */
function fill(
  pool: readonly PlacementNode[],
  cap: number,
  count: number,
  chosen: string[],
  population: Map<string, number>,
  zoneOf: (n: PlacementNode) => string,
): void {
  const taken = new Set(chosen);
  const byZone = new Map<string, PlacementNode[]>();
  for (const n of pool) {
    if (taken.has(n.id)) continue;
    const list = byZone.get(zoneOf(n)) ?? [];
    list.push(n);
    byZone.set(zoneOf(n), list);
  }
  for (const list of byZone.values()) list.sort(roomiest);
  while (chosen.length < count) {
    let best: { zone: string; node: PlacementNode; pop: number } | undefined;
    for (const [zone, list] of byZone) {
      const node = list[0];
      const pop = population.get(zone) ?? 0;
      if (!node || pop >= cap) continue;
      // Least populated zone; between equals, the one with the roomiest node.
      if (!best || pop < best.pop || (pop === best.pop && roomiest(node, best.node) < 0)) best = { zone, node, pop };
    }
    if (!best) return;
    byZone.get(best.zone)!.shift();
    population.set(best.zone, best.pop + 1);
    chosen.push(best.node.id);
  }
}

/** How far a set of replicas is from the rule, lower is better, compared in order. */
function badness(remaining: readonly PlacementNode[], replication: number, zones: number, zoneOf: (n: PlacementNode) => string): [number, number, number] {
  const counts = new Map<string, number>();
  for (const n of remaining) counts.set(zoneOf(n), (counts.get(zoneOf(n)) ?? 0) + 1);
  const cap = maxReplicasPerZone(replication, zones);
  let excess = 0;
  let largest = 0;
  for (const c of counts.values()) {
    excess += Math.max(0, c - cap);
    largest = Math.max(largest, c);
  }
  const spanDeficit = Math.max(0, Math.min(2, zones) - counts.size);
  return [spanDeficit, excess, largest];
}

/**
 * One replica at a time: the removal that leaves the rest closest to the rule
 * (zones spanned, then replicas over the cap); among those a preferred id;
 * then the removal that leaves the largest zone smallest (this method is not
 * told how many zones are alive, and a smaller largest zone meets any cap at
 * least as well); then the fullest node; then by id. The cap is judged over
 * the holders' own zones.
 */
function deleteWith(
  holders: readonly PlacementNode[],
  surplus: number,
  prefer: ReadonlySet<string>,
  zoneOf: (n: PlacementNode) => string,
): string[] {
  let remaining = [...holders];
  const replication = Math.max(0, holders.length - surplus);
  const zones = new Set(holders.map(zoneOf)).size;
  const deleted: string[] = [];
  while (deleted.length < surplus && remaining.length > 0) {
    let best: { node: PlacementNode; key: number[] } | undefined;
    for (const node of remaining) {
      const [span, excess, largest] = badness(
        remaining.filter((n) => n !== node),
        replication,
        zones,
        zoneOf,
      );
      const key = [span, excess, prefer.has(node.id) ? 0 : 1, largest, node.available];
      if (!best || lexLess(key, best.key) || (lexEqual(key, best.key) && byId(node, best.node) < 0)) best = { node, key };
    }
    deleted.push(best!.node.id);
    remaining = remaining.filter((n) => n !== best!.node);
  }
  return deleted;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]!;
  }
  return false;
}

function lexEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.every((v, i) => v === b[i]);
}

function verifyZones(holders: readonly PlacementNode[], replication: number, liveZones: ReadonlySet<string>): PlacementVerdict {
  const zones = liveZones.size;
  if (zones < 2 || replication <= 1) return { ok: true };
  const counts = new Map<string, number>();
  for (const n of holders) counts.set(n.zone, (counts.get(n.zone) ?? 0) + 1);
  if (counts.size < 2) {
    const [zone] = counts.keys();
    const reason =
      zone === undefined
        ? `no replicas while ${zones} zones are alive`
        : holders.length === 1
          ? `the only replica is in zone ${showZone(zone)} while ${zones} zones are alive`
          : `all ${holders.length} replicas in zone ${showZone(zone)} while ${zones} zones are alive`;
    return { ok: false, reason };
  }
  const cap = maxReplicasPerZone(replication, zones);
  const crowded = [...counts].filter(([, c]) => c > cap).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const [worst] = crowded;
  if (worst) {
    return {
      ok: false,
      reason: `${worst[1]} of ${holders.length} replicas in zone ${showZone(worst[0])}, above the cap of ${cap} for replication ${replication} over ${zones} zones`,
    };
  }
  return { ok: true };
}

// ---- The functions the NameNode calls today, kept until it moves to the policy object.

export interface PlacementCandidate {
  id: string;
  /** Free bytes last reported, less bytes already promised to writes in flight. */
  available: number;
}

function asNode(c: PlacementCandidate): PlacementNode {
  return { id: c.id, zone: "", available: c.available, capacityBytes: 0, usedBytes: 0 };
}

/** The available-space policy's strict choice (the founding flows' "sorted by remaining space", docs/founding-flows.md). */
export function chooseTargets(candidates: readonly PlacementCandidate[], replication: number, chunkLength: number): string[] {
  return AVAILABLE_SPACE.chooseTargets({ count: replication, chunkLength, candidates: candidates.map(asNode), strict: true });
}

/** Nodes with room for the chunk, most available space first (ties by id). */
export function rankTargets(candidates: readonly PlacementCandidate[], chunkLength: number): string[] {
  return AVAILABLE_SPACE.chooseTargets({ count: candidates.length, chunkLength, candidates: candidates.map(asNode), strict: false });
}
