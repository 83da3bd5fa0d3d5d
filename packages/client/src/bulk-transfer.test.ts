import { describe, expect, it } from "vitest";
import type { FileStatus } from "./file-status.js";
import { defaultFilesInFlight, runBulk, type BulkOptions, type TransferItem } from "./bulk-transfer.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const items = (sizes: Array<number | undefined>): TransferItem[] => sizes.map((size, i) => ({ source: `/s/${i}`, destination: `/d/${i}`, size }));

/** The most transfers runBulk had under way at once. */
async function peakInFlight(list: TransferItem[], o: BulkOptions = {}): Promise<number> {
  let now = 0;
  let peak = 0;
  const result = await runBulk(
    list,
    async (item) => {
      peak = Math.max(peak, ++now);
      await new Promise((r) => setTimeout(r, 2));
      now--;
      return { path: item.destination } as FileStatus;
    },
    o,
  );
  expect(result.done).toHaveLength(list.length);
  return peak;
}

describe("bulk transfers", () => {
  it("move 16 small files at once by default, 8 large or unmeasured ones", async () => {
    expect(defaultFilesInFlight(items(Array(40).fill(64 * KiB)))).toBe(16);
    // The mean decides: one large file among many small ones keeps it small.
    expect(defaultFilesInFlight(items([...Array(99).fill(4 * KiB), 64 * MiB]))).toBe(16);
    expect(defaultFilesInFlight(items(Array(40).fill(MiB + 1)))).toBe(8);
    expect(defaultFilesInFlight(items([4 * KiB, undefined]))).toBe(8);
    expect(await peakInFlight(items(Array(40).fill(4 * KiB)))).toBe(16);
    expect(await peakInFlight(items(Array(40).fill(256 * MiB)))).toBe(8);
    expect(await peakInFlight(items(Array(40).fill(undefined)))).toBe(8);
  });

  it("take the number of files in flight they are given", async () => {
    expect(await peakInFlight(items(Array(40).fill(4 * KiB)), { filesInFlight: 3 })).toBe(3);
    expect(await peakInFlight(items(Array(5).fill(4 * KiB)), { filesInFlight: 32 })).toBe(5);
  });
});
