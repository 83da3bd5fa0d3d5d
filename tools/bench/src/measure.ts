import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `reps` times and returns the median of what it returns (a rate or a duration). */
export async function medianOf(reps: number, fn: (rep: number) => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < reps; i++) values.push(await fn(i));
  return median(values);
}

/** Seconds taken by `fn`. */
export async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `count` calls of `fn` with `inFlight` at a time; returns calls per second. */
export async function rate(count: number, inFlight: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const s = await seconds(() =>
    Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) await fn(next++);
      }),
    ),
  );
  return count / s;
}

/** Peak RSS (bytes) and CPU seconds so far of a process, from /proc. */
export function processUsage(pid: number): { peakRssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { peakRssBytes: Number(hwm?.[1] ?? 0) * 1024, cpuSeconds: ticks / 100 };
}

export const MiB = 1024 * 1024;

/**
 * The metadata figures' warm-up, run the same way before the single and the
 * HA figures: a NameNode process just started runs its first thousand calls
 * unoptimised (JIT), while the single one has served the whole bench by then.
 */
export async function warmMetadata(fs: { mkdir(path: string, o: { parents: boolean }): Promise<unknown>; stat(path: string): Promise<unknown> }): Promise<void> {
  await rate(1000, 16, (i) => fs.mkdir(`/warm/d${i}`, { parents: true }));
  await rate(1000, 16, (i) => fs.stat(`/warm/d${i}`));
}

/** Drops the page cache so reads come from disk; false where not permitted. */
export async function dropPageCache(): Promise<boolean> {
  try {
    await writeFile("/proc/sys/vm/drop_caches", "3\n");
    return true;
  } catch {
    return false;
  }
}
