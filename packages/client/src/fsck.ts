import { ChunkHealth, type FsckResponse } from "@trainfs/proto";

export type ChunkHealthName = "healthy" | "under-replicated" | "corrupt" | "missing";

export interface FsckReport {
  files: Array<{
    path: string;
    size: number;
    replication: number;
    chunks: Array<{ chunkId: string; index: number; length: number; health: ChunkHealthName; liveReplicas: string[]; corruptReplicas: string[] }>;
  }>;
  healthyChunks: number;
  underReplicatedChunks: number;
  corruptChunks: number;
  missingChunks: number;
  /** Nothing missing and nothing corrupt. */
  healthy: boolean;
}

const names: Record<ChunkHealth, ChunkHealthName> = {
  [ChunkHealth.UNSPECIFIED]: "missing",
  [ChunkHealth.HEALTHY]: "healthy",
  [ChunkHealth.UNDER_REPLICATED]: "under-replicated",
  [ChunkHealth.CORRUPT]: "corrupt",
  [ChunkHealth.MISSING]: "missing",
};

export function toFsckReport(r: FsckResponse): FsckReport {
  const report = {
    files: r.files.map((f) => ({
      path: f.path,
      size: Number(f.size),
      replication: f.replication,
      chunks: f.chunks.map((c) => ({
        chunkId: c.chunkId,
        index: c.index,
        length: Number(c.length),
        health: names[c.health],
        liveReplicas: c.liveReplicas,
        corruptReplicas: c.corruptReplicas,
      })),
    })),
    healthyChunks: Number(r.healthyChunks),
    underReplicatedChunks: Number(r.underReplicatedChunks),
    corruptChunks: Number(r.corruptChunks),
    missingChunks: Number(r.missingChunks),
  };
  return { ...report, healthy: report.corruptChunks === 0 && report.missingChunks === 0 };
}
