import type { ClusterStatus, DataNodeStatus, TrainfsWebClient } from "@trainfs/client/web";
import { formatSize } from "@trainfs/core";
import { el } from "./format.js";

const REFRESH_MS = 2000;

/** The cluster at a glance, refreshed every two seconds while shown. */
export function clusterView(client: TrainfsWebClient, root: HTMLElement, onError: (err: unknown) => void): () => void {
  let timer: number | undefined;
  let stopped = false;
  const refresh = async () => {
    try {
      render(root, await client.clusterStatus());
      onError(undefined);
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = window.setTimeout(refresh, REFRESH_MS);
  };
  root.replaceChildren(el("p", {}, "Loading…"));
  void refresh();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

function render(root: HTMLElement, s: ClusterStatus): void {
  const alive = s.datanodes.filter((n) => n.state === "alive");
  const capacity = alive.reduce((t, n) => t + n.capacityBytes, 0);
  const used = alive.reduce((t, n) => t + n.usedBytes, 0);
  const free = alive.reduce((t, n) => t + n.freeBytes, 0);
  const card = (label: string, value: string, id: string, warn = false) =>
    el("div", { class: warn ? "card warn" : "card" }, el("div", { class: "label" }, label), el("div", { class: "value", "data-testid": id }, value));
  root.replaceChildren(
    el("h2", {}, "Cluster ", el("small", {}, s.clusterId)),
    el(
      "section",
      { class: "cards" },
      card("DataNodes alive", `${alive.length} / ${s.datanodes.length}`, "alive-count", alive.length < s.datanodes.length),
      card("Capacity", formatSize(capacity), "capacity"),
      card("Used", formatSize(used), "used"),
      card("Free", formatSize(free), "free"),
      card("Under-replicated chunks", String(s.underReplicatedChunks), "under-replicated", s.underReplicatedChunks > 0),
      card("Corrupt replicas", String(s.corruptReplicas), "corrupt", s.corruptReplicas > 0),
      card("Missing chunks", String(s.missingChunks), "missing", s.missingChunks > 0),
      card("Misplaced chunks", String(s.misplacedChunks), "misplaced", s.misplacedChunks > 0),
      card("Pending replication", String(s.pendingReplicationTasks), "pending-replication"),
      card("Pending trash", String(s.pendingTrashTasks), "pending-trash"),
      card(
        "Safe mode",
        s.safeMode.on ? `on (${s.safeMode.reportedChunks}/${s.safeMode.totalChunks} chunks reported)` : "off",
        "safe-mode",
        s.safeMode.on,
      ),
      card(
        "Balancer",
        s.balancer.running
          ? `running: ${s.balancer.movesDone} moves, ${formatSize(s.balancer.bytesMoved)} (${s.balancer.maxDeviationPercent.toFixed(1)} of ${s.balancer.thresholdPercent} points)`
          : `idle${s.balancer.stopReason ? ` (${s.balancer.stopReason})` : ""}`,
        "balancer",
      ),
    ),
    el(
      "table",
      { class: "nodes", "data-testid": "datanodes" },
      el("thead", {}, el("tr", {}, ...["DataNode", "Zone", "State", "Usage", "Used", "Free", "Chunks", "Last heartbeat"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...s.datanodes.map(row)),
    ),
    el("p", { class: "muted" }, `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`),
  );
}

function row(n: DataNodeStatus): HTMLTableRowElement {
  const share = n.capacityBytes > 0 ? Math.min(1, n.usedBytes / n.capacityBytes) : 0;
  const state = n.adminState === "normal" ? n.state : `${n.state}, ${n.adminState}`;
  return el(
    "tr",
    { "data-testid": "datanode", "data-address": n.address, "data-state": n.state },
    el("td", {}, el("div", {}, n.address), el("div", { class: "muted" }, n.id)),
    el("td", { "data-testid": "zone" }, n.zone || "—"),
    el("td", {}, el("span", { class: `badge ${n.state}`, "data-testid": "state" }, state)),
    el(
      "td",
      {},
      el("div", { class: "bar", title: `${(share * 100).toFixed(1)}% of ${formatSize(n.capacityBytes)}` }, el("div", { style: `width:${(share * 100).toFixed(1)}%` })),
      el("div", { class: "muted" }, `of ${formatSize(n.capacityBytes)}`),
    ),
    el("td", {}, formatSize(n.usedBytes)),
    el("td", {}, formatSize(n.freeBytes)),
    el("td", { "data-testid": "chunks" }, String(n.chunkCount)),
    el("td", { "data-testid": "heartbeat" }, n.secondsSinceHeartbeat === null ? "never" : `${n.secondsSinceHeartbeat.toFixed(1)} s ago`),
  );
}
