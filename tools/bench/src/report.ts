import { formatSize } from "@trainfs/common";

export interface Row {
  figure: string;
  value: number;
  unit: string;
  baseline?: string;
  baselineValue?: number;
  /** atLeast: ratio to the baseline; atLeastValue and atMostValue: absolute floor and ceiling. */
  target?: { atLeast?: number; atLeastValue?: number | undefined; atMostValue?: number | undefined };
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The table on stdout: each TrainFS figure beside its baseline, the ratio and the target. */
export function printTable(
  rows: Row[],
  usage: Array<{ name: string; peakRssBytes: number; cpuSeconds: number }>,
  bytesMoved: number,
  baselines: {
    rawWrite: Record<string, number>;
    rawTcp: number;
    rawSmall: number;
    noop: { sequential: number; parallel: number };
    /** The storage floor of a small put (not a baseline: printed beside the small-file puts). */
    floor: { sequential: number; parallel: number };
  },
): void {
  printRows(rows);
  console.log(
    `\nbaselines: raw fsync write ${Object.entries(baselines.rawWrite).map(([s, v]) => `${formatSize(Number(s))}: ${fmt(v)} MiB/s`).join(", ")}; ` +
      `loopback TCP ${fmt(baselines.rawTcp)} MiB/s; durable 4 KiB files ${fmt(baselines.rawSmall)}/s; ` +
      `no-op unary ${fmt(baselines.noop.sequential)}/s sequential, ${fmt(baselines.noop.parallel)}/s with 16 in flight`,
  );
  console.log(
    `storage floor of a small put (three chunk stores on this disk, as three DataNodes, installing 4 KiB chunks with no network ` +
      `and no NameNode; the most a put could reach): ${fmt(baselines.floor.sequential)}/s sequential, ${fmt(baselines.floor.parallel)}/s with 16 in flight`,
  );
  const gib = bytesMoved / 1024 ** 3;
  console.log(`\nprocesses (peak RSS, CPU seconds per GiB moved; ${gib.toFixed(2)} GiB moved):`);
  for (const u of usage) console.log(`  ${u.name.padEnd(22)} ${formatSize(u.peakRssBytes).padStart(10)}  ${(u.cpuSeconds / gib).toFixed(2)} s/GiB`);
}

/** The figures, each beside its baseline, with the ratio and whether its target is met. */
export function printRows(rows: Row[]): void {
  const lines: string[][] = [["figure", "TrainFS", "baseline", "ratio", "target", "met"]];
  for (const r of rows) {
    const ratio = r.baselineValue ? r.value / r.baselineValue : undefined;
    let target = "";
    let met = "";
    if (r.target?.atLeast !== undefined && ratio !== undefined) {
      target = `≥ ${r.target.atLeast}×`;
      met = ratio >= r.target.atLeast ? "yes" : "NO";
    } else if (r.target?.atLeastValue !== undefined) {
      target = `≥ ${r.target.atLeastValue} ${r.unit}`;
      met = r.value >= r.target.atLeastValue ? "yes" : "NO";
    } else if (r.target?.atMostValue !== undefined) {
      target = `≤ ${r.target.atMostValue} ${r.unit}`;
      met = r.value <= r.target.atMostValue ? "yes" : "NO";
    }
    lines.push([
      r.figure,
      `${fmt(r.value)} ${r.unit}`,
      r.baseline ? `${r.baseline}: ${fmt(r.baselineValue!)}` : "",
      ratio !== undefined ? `${ratio.toFixed(2)}×` : "",
      target,
      met,
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}
