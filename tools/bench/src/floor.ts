import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chunkInstallFloorWithCpu } from "./baselines.js";

// The storage floor of a small put, packed chunks against plain chunk files,
// in alternated runs (plain, packed, plain, packed, ...) so that a busy
// neighbour on a shared machine weighs on both alike; with the CPU per file,
// which depends little on the neighbours. `pnpm --filter @trainfs/bench floor`.
const { values } = parseArgs({
  options: { count: { type: "string", default: "1000" }, reps: { type: "string", default: "3" }, dir: { type: "string" } },
});
const count = Number(values.count);
const reps = Number(values.reps);
const dir = await mkdtemp(join(values.dir ?? tmpdir(), "trainfs-floor-"));
const formats = [
  { name: "plain files", packedChunkMaxBytes: 0 },
  { name: "packed", packedChunkMaxBytes: undefined },
];
const results = new Map<string, Array<{ perSecond: number; cpuMsPerFile: number }>>();
try {
  for (const inFlight of [1, 16]) {
    for (let rep = 0; rep < reps; rep++) {
      for (const f of rep % 2 === 0 ? formats : [...formats].reverse()) {
        const r = await chunkInstallFloorWithCpu(dir, count, inFlight, f.packedChunkMaxBytes);
        const key = `${f.name}, ${inFlight === 1 ? "sequential" : "16 in flight"}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        console.log(`${key}: ${r.perSecond.toFixed(0)} files/s, ${r.cpuMsPerFile.toFixed(3)} ms CPU per file (3 stores)`);
      }
    }
  }
  console.log("\nmedians:");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [key, rs] of results) {
    console.log(`${key.padEnd(32)} ${median(rs.map((r) => r.perSecond)).toFixed(0).padStart(7)} files/s   ${median(rs.map((r) => r.cpuMsPerFile)).toFixed(3)} ms CPU/file`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
