import { describe, expect, it } from "vitest";
import { TrainfsError } from "@trainfs/core";
import type { FileStatus } from "./file-status.js";
import { LARGE_FILES_IN_FLIGHT, SMALL_FILES_IN_FLIGHT, runBulk, type BulkOptions, type TransferItem } from "./bulk-transfer.js";

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
  it("move 128 small files at once by default, 8 large or unmeasured ones, a large one in the room of 16 small", async () => {
    expect(SMALL_FILES_IN_FLIGHT).toBe(128);
    expect(LARGE_FILES_IN_FLIGHT).toBe(8);
    expect(await peakInFlight(items(Array(300).fill(64 * KiB)))).toBe(128);
    expect(await peakInFlight(items(Array(300).fill(MiB)))).toBe(128);
    expect(await peakInFlight(items(Array(40).fill(MiB + 1)))).toBe(8);
    expect(await peakInFlight(items(Array(40).fill(256 * MiB)))).toBe(8);
    expect(await peakInFlight(items(Array(40).fill(undefined)))).toBe(8);
    // While two large files are under way, 96 small ones: 2 × 16 + 96 = 128.
    let large = 0;
    let small = 0;
    let smallBesideLarge = 0;
    await runBulk(
      items([64 * MiB, 64 * MiB, ...Array(300).fill(4 * KiB)]),
      async (item) => {
        const big = item.size! > MiB;
        if (big) large++;
        else small++;
        if (large === 2) smallBesideLarge = Math.max(smallBesideLarge, small);
        await new Promise((r) => setTimeout(r, big ? 30 : 2));
        if (big) large--;
        else small--;
        return { path: item.destination } as FileStatus;
      },
      {},
    );
    expect(smallBesideLarge).toBe(96);
  });

  it("stop at the first failure once every file under way has ended, or try them all", async () => {
    const list = items(Array(300).fill(4 * KiB));
    let started = 0;
    let running = 0;
    const transfer = async (item: TransferItem, _: unknown, signal: AbortSignal) => {
      started++;
      running++;
      try {
        if (item.source === "/s/5") throw new TrainfsError("unavailable", "no DataNode");
        await new Promise((r) => setTimeout(r, 2));
        if (signal.aborted) throw new TrainfsError("canceled", "cancelled");
        return { path: item.destination } as FileStatus;
      } finally {
        running--;
      }
    };
    await expect(runBulk(list, transfer, {})).rejects.toThrow("no DataNode");
    expect(running).toBe(0);
    expect(started).toBe(128);
    started = 0;
    const all = await runBulk(list, transfer, { stopOnError: false });
    expect(started).toBe(300);
    expect(all.failed.map((f) => f.source)).toEqual(["/s/5"]);
    expect(all.done).toHaveLength(299);
  });

  it("take the number of files in flight they are given", async () => {
    expect(await peakInFlight(items(Array(40).fill(4 * KiB)), { filesInFlight: 3 })).toBe(3);
    expect(await peakInFlight(items(Array(5).fill(4 * KiB)), { filesInFlight: 32 })).toBe(5);
  });
});
