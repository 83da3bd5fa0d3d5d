import type { ClusterStatus, DataNodeStatus } from "@trainfs/client/web";
import { formatSize } from "@trainfs/core";
import { Charts } from "./charts.js";
import { clock } from "./connection.js";
import { track, type ConsoleContext } from "./context.js";
import { describeError } from "./errors.js";
import { button, el, formatCount, formatDuration } from "./format.js";

const REFRESH_MS = 2000;
const HISTORY_MS = 5000;
/** Problem chunks listed under an fsck result at most. */
const FSCK_ROWS = 200;

/**
 * The cluster at a glance (as HDFS's NameNode overview): the NameNode's
 * version and uptime, the namespace's size, space counted once per disk,
 * DataNodes by state, safe mode, replication health with why copies wait,
 * charts of the last hour, each DataNode with its admin actions, and fsck.
 * Refreshed every two seconds while shown; when the NameNode stops
 * answering, the last figures stay, marked stale.
 */
export function clusterView(ctx: ConsoleContext, root: HTMLElement): () => void {
  let stopped = false;
  let statusTimer: number | undefined;
  let historyTimer: number | undefined;
  let last: ClusterStatus | undefined;
  const overview = el("div", { "data-testid": "overview" }, el("p", {}, "Loading…"));
  const charts = new Charts();
  const admin = adminPanel(ctx, () => void refresh());
  root.replaceChildren(overview, el("h3", {}, "Last hour"), charts.element, admin);

  const refresh = async () => {
    window.clearTimeout(statusTimer);
    try {
      last = await track(ctx, () => ctx.client.clusterStatus());
      render(ctx, overview, last, () => void refresh());
      overview.classList.remove("stale");
      ctx.showError(undefined);
    } catch (err) {
      const d = describeError(err, "reading the cluster's state", ctx.client.token !== undefined);
      if (d.needsToken && !ctx.client.token) overview.replaceChildren(noTokenPage());
      else if (last) overview.classList.add("stale");
      if (!(d.needsToken && !ctx.client.token)) ctx.showError(err, "reading the cluster's state");
    }
    if (!stopped) statusTimer = window.setTimeout(() => void refresh(), REFRESH_MS);
  };
  const refreshHistory = async () => {
    try {
      charts.update(await track(ctx, () => ctx.client.clusterHistory()));
      charts.element.classList.remove("stale");
    } catch {
      // The status refresh says what is wrong; the charts keep their last data, marked stale.
      charts.element.classList.add("stale");
    }
    if (!stopped) historyTimer = window.setTimeout(() => void refreshHistory(), HISTORY_MS);
  };
  // Whichever call found the NameNode unreachable, the figures on screen are stale from then on.
  const unwatch = ctx.connection.onChange(() => {
    if (ctx.connection.downSince && last) overview.classList.add("stale");
  });
  void refresh();
  void refreshHistory();
  return () => {
    stopped = true;
    unwatch();
    window.clearTimeout(statusTimer);
    window.clearTimeout(historyTimer);
    charts.destroy();
  };
}

/** What a page without a token shows: where to put it, not CLI advice. */
export function noTokenPage(): HTMLElement {
  const focus = button("Go to the token field", "focus-token", () => {
    const input = document.getElementById("token") as HTMLInputElement;
    input.focus();
    input.classList.add("attention");
  });
  return el(
    "section",
    { class: "notice", "data-testid": "no-token" },
    el("h2", {}, "This NameNode needs an API token"),
    el("p", {}, "Paste a token in the ", el("strong", {}, "API token"), " field at the top right of this page, then press Tab or Enter. The page keeps it in this browser only."),
    el("p", { class: "muted" }, "Tokens are set on the NameNode (its apiTokens setting); `bash scripts/cluster.sh` prints one when it starts. A read-only token shows everything but cannot change anything."),
    focus,
  );
}

function card(label: string, value: string | Node, id: string, warn = false, note?: string | Node): HTMLElement {
  return el(
    "div",
    { class: warn ? "card warn" : "card" },
    el("div", { class: "label" }, label),
    el("div", { class: "value", "data-testid": id }, value),
    ...(note ? [el("div", { class: "note", "data-testid": `${id}-note` }, note)] : []),
  );
}

function render(ctx: ConsoleContext, root: HTMLElement, s: ClusterStatus, changed: () => void): void {
  const alive = s.datanodes.filter((n) => n.state === "alive");
  const inService = alive.filter((n) => n.adminState === "normal").length;
  const byAdmin = (state: DataNodeStatus["adminState"]) => alive.filter((n) => n.adminState === state).length;
  const dead = s.datanodes.length - alive.length;
  const uptime = (Date.now() - s.startedMs) / 1000;
  const safeShare = s.safeMode.totalChunks > 0 ? s.safeMode.reportedChunks / s.safeMode.totalChunks : 1;
  const safeMode = s.safeMode.on
    ? el(
        "span",
        {},
        `on: ${formatCount(s.safeMode.reportedChunks)} of ${formatCount(s.safeMode.totalChunks)} chunks reported (${(safeShare * 100).toFixed(1)}%, leaves at ${(s.safeMode.threshold * 100).toFixed(1)}%)`,
        el("progress", { max: "1", value: String(safeShare), "data-testid": "safe-mode-progress" }),
      )
    : "off";
  const states = [
    `${inService} in service`,
    ...(byAdmin("decommissioning") ? [`${byAdmin("decommissioning")} decommissioning`] : []),
    ...(byAdmin("decommissioned") ? [`${byAdmin("decommissioned")} decommissioned`] : []),
  ].join(", ");
  root.replaceChildren(
    el("h2", {}, "Cluster ", el("small", {}, s.clusterId)),
    el(
      "section",
      { class: "cards" },
      card("NameNode", `TrainFS ${s.version}`, "version", false, `started ${new Date(s.startedMs).toLocaleString()}`),
      card("Uptime", formatDuration(uptime), "uptime"),
      card("Files", formatCount(s.files), "files"),
      card("Directories", formatCount(s.directories), "directories"),
      card("Chunks", formatCount(s.chunks), "chunks"),
      card("DataNodes alive", `${alive.length} / ${s.datanodes.length}`, "alive-count", dead > 0, `${states}${dead ? `; ${dead} dead` : ""}`),
      card("Capacity", formatSize(s.space.capacityBytes), "capacity", false, "each disk counted once"),
      card("DFS used", formatSize(s.space.dfsUsedBytes), "used"),
      card("Non-DFS used", formatSize(s.space.nonDfsUsedBytes), "non-dfs-used", false, "other files on the same disks"),
      card("Free", formatSize(s.space.freeBytes), "free", s.space.capacityBytes > 0 && s.space.freeBytes / s.space.capacityBytes < 0.1),
      card(
        "Under-replicated chunks",
        formatCount(s.underReplicatedChunks),
        "under-replicated",
        s.underReplicatedChunks > 0,
        s.replicationBlocked || (s.underReplicatedChunks > 0 ? `${s.pendingReplicationTasks} cop${s.pendingReplicationTasks === 1 ? "y" : "ies"} under way` : undefined),
      ),
      card("Missing chunks", formatCount(s.missingChunks), "missing", s.missingChunks > 0),
      card("Corrupt replicas", formatCount(s.corruptReplicas), "corrupt", s.corruptReplicas > 0),
      card("Misplaced chunks", formatCount(s.misplacedChunks), "misplaced", s.misplacedChunks > 0),
      card("Pending replication", formatCount(s.pendingReplicationTasks), "pending-replication"),
      card("Pending trash", formatCount(s.pendingTrashTasks), "pending-trash"),
      card("Safe mode", s.safeMode.manual ? "on: entered by an operator, the namespace is read-only" : safeMode, "safe-mode", s.safeMode.on, safeModeButton(ctx, s, changed)),
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
      el(
        "thead",
        {},
        el("tr", {}, ...["DataNode", "Zone", "State", "Usage", "Capacity", "DFS used", "Non-DFS used", "Free", "Chunks", "Last heartbeat", ""].map((h) => el("th", {}, h))),
      ),
      el("tbody", {}, ...s.datanodes.map((n) => row(ctx, n, s.datanodes, changed))),
      el(
        "tfoot",
        {},
        el(
          "tr",
          { "data-testid": "totals" },
          el("th", { colspan: "4" }, `Total (live DataNodes, each disk once)`),
          el("th", {}, formatSize(s.space.capacityBytes)),
          el("th", {}, formatSize(s.space.dfsUsedBytes)),
          el("th", {}, formatSize(s.space.nonDfsUsedBytes)),
          el("th", {}, formatSize(s.space.freeBytes)),
          el("th", { colspan: "3" }, ""),
        ),
      ),
    ),
    el("p", { class: "muted", "data-testid": "updated" }, `Updated ${clock(new Date())}; refreshes every ${REFRESH_MS / 1000} s.`),
  );
}

/** Enter or leave safe mode by hand (a read-write token's action; a read-only one is refused in words). */
function safeModeButton(ctx: ConsoleContext, s: ClusterStatus, changed: () => void): HTMLElement {
  const enter = !s.safeMode.on;
  return button(enter ? "Enter safe mode" : "Leave safe mode", "safe-mode-toggle", () => {
    const question = enter
      ? "Enter safe mode? The namespace becomes read-only (no uploads, deletes or renames) and no replication or trash is scheduled until safe mode is left."
      : "Leave safe mode? Replication and trash start at once.";
    if (!window.confirm(question)) return;
    void (async () => {
      try {
        const after = await track(ctx, () => ctx.client.setSafeMode(enter));
        ctx.showNotice(after.on ? "Safe mode is on: the namespace is read-only until it is left." : "Safe mode is off.");
        changed();
      } catch (err) {
        ctx.showError(err, enter ? "entering safe mode" : "leaving safe mode");
      }
    })();
  });
}

function hostOf(address: string): string {
  try {
    return new URL(address).hostname;
  } catch {
    return address;
  }
}

/** The DataNodes sharing this node's disk (the same disk id on the same host), itself included. */
function diskMates(n: DataNodeStatus, all: DataNodeStatus[]): DataNodeStatus[] {
  if (!n.diskId) return [n];
  return all.filter((m) => m.state === "alive" && m.diskId === n.diskId && hostOf(m.address) === hostOf(n.address));
}

function row(ctx: ConsoleContext, n: DataNodeStatus, all: DataNodeStatus[], changed: () => void): HTMLTableRowElement {
  const share = n.capacityBytes > 0 ? Math.min(1, (n.capacityBytes - n.freeBytes) / n.capacityBytes) : 0;
  const state = n.adminState === "normal" ? n.state : `${n.state}, ${n.adminState}`;
  const mates = diskMates(n, all);
  const nonDfs = Math.max(0, n.capacityBytes - n.freeBytes - mates.reduce((t, m) => t + m.usedBytes, 0));
  const act = (verb: "decommission" | "recommission") => async () => {
    const action = `${verb === "decommission" ? "decommissioning" : "recommissioning"} ${n.address}`;
    if (verb === "decommission" && !window.confirm(`Decommission ${n.address}? It takes no new chunks, and its chunks are copied elsewhere.`)) return;
    try {
      const after = await track(ctx, () => (verb === "decommission" ? ctx.client.decommission(n.id) : ctx.client.recommission(n.id)));
      ctx.showNotice(`${after.address} is now ${after.adminState === "normal" ? "in service" : after.adminState}.`);
      changed();
    } catch (err) {
      ctx.showError(err, action);
    }
  };
  return el(
    "tr",
    { "data-testid": "datanode", "data-address": n.address, "data-state": n.state, "data-admin-state": n.adminState },
    el("td", {}, el("div", {}, n.address), el("div", { class: "muted" }, n.id)),
    el("td", { "data-testid": "zone" }, n.zone || "—"),
    el("td", {}, el("span", { class: `badge ${n.state}`, "data-testid": "state" }, state)),
    el(
      "td",
      {},
      el("div", { class: "bar", title: `${(share * 100).toFixed(1)}% of ${formatSize(n.capacityBytes)} in use` }, el("div", { style: `width:${(share * 100).toFixed(1)}%` })),
      el("div", { class: "muted" }, `${(share * 100).toFixed(1)}% in use`),
    ),
    el("td", {}, formatSize(n.capacityBytes), ...(mates.length > 1 ? [el("div", { class: "muted", "data-testid": "shared-disk" }, `disk shared by ${mates.length} DataNodes`)] : [])),
    el("td", { "data-testid": "dfs-used" }, formatSize(n.usedBytes)),
    el("td", { "data-testid": "node-non-dfs" }, formatSize(nonDfs)),
    el("td", {}, formatSize(n.freeBytes)),
    el("td", { "data-testid": "chunks" }, String(n.chunkCount)),
    el("td", { "data-testid": "heartbeat" }, n.secondsSinceHeartbeat === null ? "never" : `${n.secondsSinceHeartbeat.toFixed(1)} s ago`),
    el(
      "td",
      { class: "actions" },
      n.adminState === "normal"
        ? button("Decommission", "decommission", () => void act("decommission")())
        : button("Recommission", "recommission", () => void act("recommission")()),
    ),
  );
}

/** fsck of a path, with its result: read-only tokens may run it; problems listed chunk by chunk. */
function adminPanel(ctx: ConsoleContext, _changed: () => void): HTMLElement {
  const path = el("input", { type: "text", value: "/", "data-testid": "fsck-path", "aria-label": "path to check" });
  const result = el("div", { "data-testid": "fsck-result" });
  const run = button("Check (fsck)", "fsck", () => {
    const p = path.value.trim() || "/";
    result.replaceChildren(el("p", { class: "muted" }, `Checking ${p}…`));
    void (async () => {
      try {
        const r = await track(ctx, () => ctx.client.fsck(p));
        const problems = r.files.flatMap((f) => f.chunks.filter((c) => c.health !== "healthy").map((c) => ({ file: f.path, ...c })));
        result.setAttribute("data-healthy", String(r.healthy));
        result.replaceChildren(
          el(
            "p",
            { class: r.healthy ? "ok" : "warn", "data-testid": "fsck-summary" },
            `${p}: ${r.files.length} file(s); ${r.healthyChunks} healthy, ${r.underReplicatedChunks} under-replicated, ${r.corruptChunks} corrupt, ${r.missingChunks} missing chunk(s). ${r.healthy ? "HEALTHY" : "CORRUPT: files cannot be read whole"}`,
          ),
          ...(problems.length
            ? [
                el(
                  "table",
                  {},
                  el("thead", {}, el("tr", {}, ...["File", "Chunk", "Health", "Live replicas", "Corrupt replicas"].map((h) => el("th", {}, h)))),
                  el(
                    "tbody",
                    {},
                    ...problems.slice(0, FSCK_ROWS).map((c) =>
                      el("tr", {}, el("td", {}, c.file), el("td", {}, `#${c.index} ${c.chunkId}`), el("td", {}, c.health), el("td", {}, c.liveReplicas.join(", ") || "none"), el("td", {}, c.corruptReplicas.join(", ") || "none")),
                    ),
                  ),
                ),
                ...(problems.length > FSCK_ROWS ? [el("p", { class: "muted" }, `and ${problems.length - FSCK_ROWS} more: run trainfs fsck for the whole list`)] : []),
              ]
            : []),
        );
      } catch (err) {
        result.replaceChildren(el("p", { class: "warn" }, describeError(err, `checking ${p}`, ctx.client.token !== undefined).text));
      }
    })();
  });
  return el("section", { class: "admin" }, el("h3", {}, "Check a path (fsck)"), el("div", { class: "toolbar" }, path, run), result);
}
