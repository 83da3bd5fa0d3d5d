import type { FileStatus, TrainfsWebClient } from "@trainfs/client/web";
import { formatSize, joinPath, parentPath } from "@trainfs/core";
import { el, formatTime } from "./format.js";

/** A directory's entries with the actions a person needs: open, upload, download, mkdir, rename, delete. */
export function fileBrowser(client: TrainfsWebClient, root: HTMLElement, dir: string, onError: (err: unknown) => void): void {
  const go = (path: string) => (window.location.hash = `#/files${path}`);
  // Only the listing is refreshed after an action, so the progress of an upload stays in view.
  const reload = () => void loadListing();
  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      onError(undefined);
      reload();
    } catch (err) {
      onError(err);
    }
  };

  const progress = el("progress", { max: "1", value: "0", "data-testid": "progress", hidden: "" });
  const progressText = el("span", { class: "muted", "data-testid": "progress-text" });
  const track = (verb: string, started: number) => (done: number, total: number) => {
    progress.hidden = false;
    progress.value = total > 0 ? done / total : 1;
    const secs = Math.max(0.001, (performance.now() - started) / 1000);
    progressText.textContent = `${verb} ${formatSize(done)} of ${formatSize(total)} (${formatSize(done / secs)}/s)`;
  };

  const fileInput = el("input", { type: "file", "data-testid": "upload-input" });
  const uploadButton = el("button", { "data-testid": "upload" }, "Upload");
  uploadButton.addEventListener("click", () => {
    const file = fileInput.files?.[0];
    if (!file) return onError(new Error("choose a file to upload first"));
    uploadButton.disabled = true;
    const onProgress = track("Uploaded", performance.now());
    void act(async () => {
      await client.put(file, joinPath(dir, file.name), { onProgress });
      progressText.textContent = `Uploaded ${file.name} (${formatSize(file.size)})`;
    }).finally(() => (uploadButton.disabled = false));
  });

  const mkdirInput = el("input", { type: "text", placeholder: "new directory name", "data-testid": "mkdir-name" });
  const mkdirButton = el("button", { "data-testid": "mkdir" }, "Make directory");
  mkdirButton.addEventListener("click", () => {
    const name = mkdirInput.value.trim();
    if (name) void act(async () => {
      await client.mkdir(joinPath(dir, name));
      mkdirInput.value = "";
    });
  });

  const download = (f: FileStatus) => {
    const onProgress = track("Downloaded", performance.now());
    void (async () => {
      try {
        const blob = await client.get(f.path, { onProgress });
        const url = URL.createObjectURL(blob);
        const a = el("a", { href: url, download: f.path.slice(f.path.lastIndexOf("/") + 1) });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        onError(undefined);
      } catch (err) {
        onError(err);
      }
    })();
  };

  const row = (f: FileStatus) => {
    const name = f.path.slice(f.path.lastIndexOf("/") + 1);
    const nameCell =
      f.type === "directory" ? el("a", { href: `#/files${f.path}`, "data-testid": "open" }, `${name}/`) : el("span", {}, name);
    const button = (label: string, id: string, onClick: () => void) => {
      const b = el("button", { "data-testid": id }, label);
      b.addEventListener("click", onClick);
      return b;
    };
    return el(
      "tr",
      { "data-testid": "entry", "data-name": name, "data-type": f.type },
      el("td", {}, nameCell),
      el("td", { "data-testid": "size" }, f.type === "directory" ? "" : formatSize(f.size)),
      el("td", {}, f.type === "directory" ? "" : String(f.replication)),
      el("td", {}, formatTime(f.modificationTime)),
      el(
        "td",
        { class: "actions" },
        ...(f.type === "file" ? [button("Download", "download", () => download(f))] : []),
        button("Rename", "rename", () => {
          const to = window.prompt(`Rename ${f.path} to`, f.path);
          if (to && to !== f.path) void act(() => client.rename(f.path, to.startsWith("/") ? to : joinPath(dir, to)));
        }),
        button("Delete", "delete", () => {
          if (window.confirm(`Delete ${f.path}${f.type === "directory" ? " and everything under it" : ""}?`)) {
            void act(() => client.rm(f.path, { recursive: true }));
          }
        }),
      ),
    );
  };

  const crumbs: Array<Node | string> = [el("a", { href: "#/files/" }, "/")];
  let at = "";
  for (const part of dir.split("/").filter(Boolean)) {
    at += `/${part}`;
    crumbs.push(el("a", { href: `#/files${at}` }, part), "/");
  }
  const body = el("tbody", {}, el("tr", {}, el("td", { colspan: "5" }, "Loading…")));
  root.replaceChildren(
    el("h2", { "data-testid": "cwd", "data-path": dir }, ...crumbs),
    el("div", { class: "toolbar" }, mkdirInput, mkdirButton, el("span", { class: "sep" }), fileInput, uploadButton),
    el("div", { class: "toolbar" }, progress, progressText),
    el(
      "table",
      { class: "files", "data-testid": "listing" },
      el("thead", {}, el("tr", {}, ...["Name", "Size", "Replication", "Modified (UTC)", ""].map((h) => el("th", {}, h)))),
      body,
    ),
  );
  const loadListing = async () => {
    try {
      const entries = await client.list(dir);
      const up = dir === "/" ? [] : [el("tr", {}, el("td", { colspan: "5" }, el("a", { href: `#/files${parentPath(dir)}` }, "..")))];
      body.replaceChildren(...up, ...entries.map(row));
      if (entries.length === 0) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "(empty)")));
      body.parentElement!.setAttribute("data-loaded", "true");
    } catch (err) {
      onError(err);
      if ((err as { code?: string }).code === "not_found") go("/");
    }
  };
  void loadListing();
}
