import { TrainfsWebClient } from "@trainfs/client/web";
import { clusterView } from "./cluster-view.js";
import { fileBrowser } from "./file-browser.js";
import "./style.css";

const TOKEN_KEY = "trainfs.token";
const client = new TrainfsWebClient({ token: localStorage.getItem(TOKEN_KEY) ?? undefined });
const view = document.getElementById("view")!;
const errorBox = document.getElementById("error")!;
const tokenInput = document.getElementById("token") as HTMLInputElement;

tokenInput.value = client.token ?? "";
tokenInput.addEventListener("change", () => {
  const token = tokenInput.value.trim();
  client.token = token || undefined;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  route();
});

function showError(err: unknown): void {
  errorBox.hidden = err === undefined;
  errorBox.textContent = err === undefined ? "" : err instanceof Error ? err.message : String(err);
}

let leave: (() => void) | undefined;
function route(): void {
  leave?.();
  leave = undefined;
  showError(undefined);
  const hash = decodeURIComponent(window.location.hash.slice(1)) || "/cluster";
  const section = hash.startsWith("/files") ? "files" : "cluster";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.getAttribute("data-nav") === section);
  if (section === "files") fileBrowser(client, view, hash.slice("/files".length).replace(/\/+$/, "") || "/", showError);
  else leave = clusterView(client, view, showError);
}

window.addEventListener("hashchange", route);
route();
