import { describe, expect, it } from "vitest";
import { MiniCluster, runChaos } from "../src/index.js";

/** The short, seeded chaos run of CI; `pnpm test:chaos` runs the long one. */
describe("chaos", () => {
  it("keeps every invariant through 30 s of seeded faults (seed 20261128)", async () => {
    const result = await runChaos({ seed: 20261128, durationMs: 30_000 });
    expect(result.stats.faults.length).toBeGreaterThan(8);
    expect(result.stats.puts).toBeGreaterThan(40);
    // The S3 client put and got through the gateway under the same faults.
    expect(result.stats.s3.puts).toBeGreaterThan(20);
    expect(result.stats.s3.gets).toBeGreaterThan(5);
    expect(result.violations).toEqual([]);
  }, 240_000);

  it("keeps every invariant with every listener on TLS through 20 s of seeded faults (seed 20261129)", async () => {
    const result = await runChaos({ seed: 20261129, durationMs: 20_000, tls: true });
    expect(result.addresses.every((a) => a.startsWith("https:"))).toBe(true);
    expect(result.stats.faults.length).toBeGreaterThan(5);
    expect(result.stats.puts).toBeGreaterThan(20);
    expect(result.violations).toEqual([]);
  }, 240_000);

  it("keeps every invariant with 2 MiB chunks (whole parts, recycled buffers, flushes behind writes) through 20 s of seeded faults (seed 20261130)", async () => {
    const result = await runChaos({ seed: 20261130, durationMs: 20_000, chunkSize: 2 * 1024 * 1024 });
    expect(result.stats.faults.length).toBeGreaterThan(5);
    expect(result.stats.puts).toBeGreaterThan(20);
    expect(result.violations).toEqual([]);
  }, 240_000);

  it("--ha: keeps every invariant, with no split brain, through 45 s of faults that include failovers and etcd member kills (seed 20261207)", async () => {
    const result = await runChaos({ seed: 20261207, durationMs: 45_000, ha: true });
    expect(result.stats.faults.some((f) => f.startsWith("kill -9 active namenode"))).toBe(true);
    expect(result.stats.faults.some((f) => f.startsWith("kill -9 etcd-"))).toBe(true);
    expect(result.stats.ha!.failovers).toBeGreaterThan(0);
    expect(result.stats.ha!.statusRounds).toBeGreaterThan(40);
    expect(result.stats.puts).toBeGreaterThan(25);
    expect(result.violations).toEqual([]);
  }, 360_000);

});
