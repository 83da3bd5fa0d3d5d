import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ClusterHistory } from "@trainfs/client/web";
import { formatSize } from "@trainfs/core";
import { el } from "./format.js";

/** What each chart shows, from the NameNode's history: one line per series. */
interface ChartSpec {
  name: string;
  title: string;
  unit: "bytes" | "bytes/s" | "count" | "seconds" | "calls";
  series: (h: ClusterHistory) => Array<{ label: string; values: number[]; scale?: string }>;
  /** A second axis on the right, for a series with scale "right". */
  right?: { unit: "ms" };
}

const SPECS: ChartSpec[] = [
  {
    name: "space",
    title: "Capacity and use",
    unit: "bytes",
    series: (h) => [
      { label: "capacity", values: h.capacityBytes },
      { label: "DFS used", values: h.dfsUsedBytes },
      { label: "free", values: h.freeBytes },
    ],
  },
  {
    name: "throughput",
    title: "Read and write throughput (cluster)",
    unit: "bytes/s",
    series: (h) => [
      { label: "read", values: h.readBytesPerSecond },
      { label: "write", values: h.writeBytesPerSecond },
    ],
  },
  {
    name: "node-throughput",
    title: "Throughput per DataNode",
    unit: "bytes/s",
    series: (h) =>
      h.datanodes.flatMap((n) => [
        { label: `read ${n.address}`, values: n.readBytesPerSecond },
        { label: `write ${n.address}`, values: n.writeBytesPerSecond },
      ]),
  },
  {
    name: "rpc",
    title: "NameNode RPCs (clients and operators)",
    unit: "calls",
    right: { unit: "ms" },
    series: (h) => [
      { label: "calls/s", values: h.rpcPerSecond },
      { label: "mean latency (ms)", values: h.rpcMeanMs, scale: "right" },
    ],
  },
  {
    name: "health",
    title: "Replication health",
    unit: "count",
    series: (h) => [
      { label: "under-replicated", values: h.underReplicatedChunks },
      { label: "missing", values: h.missingChunks },
      { label: "corrupt replicas", values: h.corruptReplicas },
    ],
  },
  {
    name: "heartbeats",
    title: "Heartbeat age per DataNode",
    unit: "seconds",
    series: (h) => h.datanodes.map((n) => ({ label: n.address, values: n.heartbeatAgeSeconds })),
  },
];

const COLORS = ["#3a7bd5", "#d9822b", "#2e9e5b", "#b8336a", "#6b5bd5", "#8a6d3b", "#1b9aaa", "#c0392b"];

function formatValue(unit: ChartSpec["unit"] | "ms", v: number): string {
  switch (unit) {
    case "bytes":
      return formatSize(v);
    case "bytes/s":
      return `${formatSize(v)}/s`;
    case "seconds":
      return `${v.toFixed(1)} s`;
    case "ms":
      return `${v.toFixed(1)} ms`;
    default:
      return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }
}

/** The data uPlot draws: times in seconds, then each series with null for gaps (NaN: unknown). */
export function chartData(h: ClusterHistory, spec: ChartSpec): { labels: string[]; scales: string[]; data: uPlot.AlignedData } {
  const series = spec.series(h);
  return {
    labels: series.map((s) => s.label),
    scales: series.map((s) => s.scale ?? "y"),
    data: [h.timesMs.map((t) => t / 1000), ...series.map((s) => s.values.map((v) => (Number.isFinite(v) ? v : null)))] as uPlot.AlignedData,
  };
}

declare global {
  interface Window {
    /** The charts drawn, by name, with the data each holds (the end-to-end test reads it). */
    trainfsCharts?: Record<string, { labels: string[]; data: uPlot.AlignedData }>;
  }
}

/**
 * The console's charts, drawn with uPlot (a small, fast time-series chart).
 * A chart is rebuilt when its set of series changes (a DataNode joined) and
 * otherwise only given new data.
 */
export class Charts {
  readonly element = el("section", { class: "charts", "data-testid": "charts" });
  private readonly charts = new Map<string, { plot: uPlot; key: string; box: HTMLElement }>();

  constructor() {
    window.trainfsCharts = {};
    for (const spec of SPECS) {
      const box = el("div", { class: "chart", "data-testid": "chart", "data-name": spec.name }, el("h3", {}, spec.title));
      this.element.append(box);
    }
  }

  update(h: ClusterHistory): void {
    for (const spec of SPECS) {
      const { labels, scales, data } = chartData(h, spec);
      const box = this.element.querySelector<HTMLElement>(`[data-name="${spec.name}"]`)!;
      box.setAttribute("data-points", String(data[0].length));
      window.trainfsCharts![spec.name] = { labels, data };
      const key = labels.join("\n");
      const existing = this.charts.get(spec.name);
      if (existing && existing.key === key) {
        existing.plot.setData(data);
        continue;
      }
      existing?.plot.destroy();
      const plot = new uPlot(
        {
          width: Math.max(320, box.clientWidth - 16 || 520),
          height: 180,
          scales: { x: { time: true }, ...(spec.right ? { right: { auto: true } } : {}) },
          series: [
            {},
            ...labels.map((label, i) => ({
              label,
              scale: scales[i],
              stroke: COLORS[i % COLORS.length],
              width: 1.5,
              value: (_u: uPlot, v: number | null) => (v === null ? "—" : formatValue(scales[i] === "right" ? spec.right!.unit : spec.unit, v)),
            })),
          ],
          axes: [
            {},
            { values: (_u, vals) => vals.map((v) => formatValue(spec.unit, v)), size: 92 },
            ...(spec.right ? [{ scale: "right", side: 1 as const, values: (_u: uPlot, vals: number[]) => vals.map((v) => formatValue(spec.right!.unit, v)), size: 60 }] : []),
          ],
          legend: { live: true },
        },
        data,
        box,
      );
      this.charts.set(spec.name, { plot, key, box });
    }
  }

  destroy(): void {
    for (const c of this.charts.values()) c.plot.destroy();
    this.charts.clear();
  }
}
