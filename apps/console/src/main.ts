import { TrainfsWebClient } from "@trainfs/client/web";
import { clusterView } from "./cluster-view.js";
import { Connection, clock } from "./connection.js";
import type { ConsoleContext } from "./context.js";
import { downloadWorker, preferredMethod } from "./download.js";
import { describeError } from "./errors.js";
import { fileBrowser } from "./file-browser.js";
import { fileView } from "./file-view.js";
import { Transfers } from "./transfers.js";
import "./style.css";

const TOKEN_KEY = "trainfs.token";
const client = new TrainfsWebClient({ token: localStorage.getItem(TOKEN_KEY) ?? undefined });
const view = document.getElementById("view")!;
const errorBox = document.getElementById("error")!;
const noticeBox = document.getElementById("notice")!;
const banner = document.getElementById("unreachable")!;
const tokenInput = document.getElementById("token") as HTMLInputElement;
const connection = new Connection();

const ctx: ConsoleContext = {
  client,
  connection,
  showError(err, action) {
    if (err === undefined) {
      errorBox.hidden = true;
      errorBox.textContent = "";
      return;
    }
    const d = describeError(err, action, client.token !== undefined);
    // While the NameNode is unreachable the banner says so once; no second line for each failed refresh.
    if (d.unreachable && connection.downSince) return;
    errorBox.hidden = false;
    errorBox.textContent = d.text;
    if (d.needsToken) tokenInput.classList.add("attention");
  },
  showNotice(text) {
    noticeBox.hidden = false;
    noticeBox.textContent = text;
  },
};

connection.onChange(() => {
  const since = connection.downSince;
  banner.hidden = since === undefined;
  document.body.classList.toggle("offline", since !== undefined);
  if (since) {
    errorBox.hidden = true;
    banner.textContent = `NameNode unreachable since ${clock(since)}${connection.lastOk ? `: the figures shown are from ${clock(connection.lastOk)} and may be stale` : ""}. Retrying every few seconds.`;
  }
});

const transfers = new Transfers(ctx);
document.body.append(transfers.element);
window.addEventListener("beforeunload", (e) => {
  if (transfers.active > 0) e.preventDefault();
});

tokenInput.value = client.token ?? "";
const commitToken = () => {
  const token = tokenInput.value.trim();
  if ((client.token ?? "") === token) return;
  client.token = token || undefined;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  tokenInput.classList.remove("attention");
  route();
};
tokenInput.addEventListener("change", commitToken);
tokenInput.addEventListener("keydown", (e) => {
  if (e.key === "Enter") commitToken();
});

// Streamed downloads go through a service worker where the File System Access API is missing: ready it early.
if (preferredMethod() === "service-worker-if-ready") void downloadWorker();

let leave: (() => void) | undefined;
function route(): void {
  leave?.();
  leave = undefined;
  ctx.showError(undefined);
  noticeBox.hidden = true;
  const hash = decodeURIComponent(window.location.hash.slice(1)) || "/cluster";
  const section = hash.startsWith("/files") || hash.startsWith("/file/") ? "files" : "cluster";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("data-nav") === section);
  if (hash.startsWith("/file/")) fileView(ctx, transfers, view, hash.slice("/file".length));
  else if (section === "files") fileBrowser(ctx, transfers, view, hash.slice("/files".length).replace(/\/+$/, "") || "/");
  else leave = clusterView(ctx, view);
}

window.addEventListener("hashchange", route);
route();
