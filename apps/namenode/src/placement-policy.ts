import { TrainfsError } from "@trainfs/common";

export interface PlacementCandidate {
  id: string;
  /** Free bytes last reported, less bytes already promised to writes in flight. */
  available: number;
}

/**
 * Chooses the DataNodes that will hold a new chunk: distinct live nodes with
 * the most available space first (the founding flows' "sorted by remaining
 * space", docs/founding-flows.md). Callers count each choice as promised space
 * before choosing the next chunk, so consecutive chunks of a file spread over
 * the cluster. Ties go by id, to keep plans deterministic.
 */
export function chooseTargets(
  candidates: readonly PlacementCandidate[],
  replication: number,
  chunkLength: number,
): string[] {
  if (candidates.length < replication) {
    throw new TrainfsError(
      "failed_precondition",
      `replication ${replication} needs ${replication} live DataNodes, but ${candidates.length} ${candidates.length === 1 ? "is" : "are"} live`,
    );
  }
  const roomy = candidates.filter((c) => c.available >= chunkLength);
  if (roomy.length < replication) {
    throw new TrainfsError(
      "resource_exhausted",
      `replication ${replication} needs ${replication} DataNodes with ${chunkLength} bytes free, but only ${roomy.length} of ${candidates.length} live DataNodes have room`,
    );
  }
  return rankTargets(roomy, chunkLength).slice(0, replication);
}

/** Nodes with room for the chunk, most available space first (ties by id). */
export function rankTargets(candidates: readonly PlacementCandidate[], chunkLength: number): string[] {
  return candidates
    .filter((c) => c.available >= chunkLength)
    .sort((a, b) => b.available - a.available || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c) => c.id);
}
