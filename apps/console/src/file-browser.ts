import type { FileStatus } from "@trainfs/client/web";
import { formatSize, joinPath, parentPath } from "@trainfs/core";
import { track, type ConsoleContext } from "./context.js";
import { droppedFiles, pickedFiles, type PickedFile } from "./dropped-files.js";
import { button, el, formatTime } from "./format.js";
import type { Transfers } from "./transfers.js";

type SortKey = "name" | "size" | "replication" | "modified";

const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** Sorts directories first, then by the key, either way. */
export function sortEntries(entries: FileStatus[], key: SortKey, ascending: boolean): FileStatus[] {
  const value = (f: FileStatus): number | string =>
    key === "name" ? nameOf(f.path) : key === "size" ? f.size : key === "replication" ? f.replication : f.modificationTime.getTime();
  return [...entries].sort((a, b) => {
    if (a.type !== b.type) return a.type === "directory" ? -1 : 1;
    const va = value(a);
    const vb = value(b);
    const c = typeof va === "string" ? va.localeCompare(vb as string) : va - (vb as number);
    return ascending ? c : -c;
  });
}

/**
 * A directory's entries with what a person needs: open, details, sort,
 * filter, select several and delete them, rename, download to disk, make a
 * directory, and upload files and whole folders (drag them onto the page or
 * pick them) into the transfer list, with overwrite and replication chosen
 * for the batch.
 */
export function fileBrowser(ctx: ConsoleContext, transfers: Transfers, root: HTMLElement, dir: string): void {
  let entries: FileStatus[] = [];
  let sort: SortKey = "name";
  let ascending = true;
  const selected = new Set<string>();
  const reload = () => void loadListing();
  const act = async (action: string, fn: () => Promise<unknown>) => {
    try {
      await track(ctx, fn);
      ctx.showError(undefined);
    } catch (err) {
      ctx.showError(err, action);
    }
    reload();
  };

  // Uploads: a batch's options, then files (picked or dropped) into the transfer list.
  const overwrite = el("input", { type: "checkbox", "data-testid": "overwrite" });
  const replication = el(
    "select",
    { "data-testid": "replication", "aria-label": "replication" },
    el("option", { value: "0" }, "default"),
    ...[1, 2, 3, 4, 5].map((n) => el("option", { value: String(n) }, String(n))),
  );
  const enqueue = (files: PickedFile[]) => {
    if (files.length === 0) return;
    const options = { overwrite: overwrite.checked, replication: Number(replication.value) };
    for (const f of files) transfers.upload(f.file, joinPath(dir, f.relative), options, reload);
    ctx.showNotice(`${files.length} file${files.length === 1 ? "" : "s"} queued for upload to ${dir}.`);
  };
  const fileInput = el("input", { type: "file", multiple: "", "data-testid": "upload-input" });
  fileInput.addEventListener("change", () => {
    enqueue(pickedFiles(fileInput.files));
    fileInput.value = "";
  });
  const folderInput = el("input", { type: "file", webkitdirectory: "", "data-testid": "upload-folder-input" });
  folderInput.addEventListener("change", () => {
    enqueue(pickedFiles(folderInput.files));
    folderInput.value = "";
  });

  const mkdirInput = el("input", { type: "text", placeholder: "new directory name", "data-testid": "mkdir-name" });
  const mkdirButton = button("Make directory", "mkdir", () => {
    const name = mkdirInput.value.trim();
    if (name) void act(`making ${joinPath(dir, name)}`, async () => {
      await ctx.client.mkdir(joinPath(dir, name));
      mkdirInput.value = "";
    });
  });

  const filter = el("input", { type: "search", placeholder: "filter by name", "data-testid": "filter" });
  filter.addEventListener("input", () => renderRows());
  const deleteSelected = button("Delete selected", "delete-selected", () => {
    const paths = [...selected];
    if (paths.length === 0) return;
    if (!window.confirm(`Delete ${paths.length} item(s), directories with everything under them?\n${paths.slice(0, 10).join("\n")}${paths.length > 10 ? "\n…" : ""}`)) return;
    void act(`deleting ${paths.length} item(s)`, async () => {
      // One at a time, so that a refusal names the item; those done stay done.
      for (const p of paths) {
        await ctx.client.rm(p, { recursive: true });
        selected.delete(p);
      }
    });
  });
  const selectAll = el("input", { type: "checkbox", "data-testid": "select-all", "aria-label": "select all" });
  selectAll.addEventListener("change", () => {
    for (const f of visible()) selectAll.checked ? selected.add(f.path) : selected.delete(f.path);
    renderRows();
  });

  const header = (label: string, key: SortKey) => {
    const b = button(`${label}${sort === key ? (ascending ? " ▲" : " ▼") : ""}`, `sort-${key}`, () => {
      ascending = sort === key ? !ascending : true;
      sort = key;
      renderHead();
      renderRows();
    }, { class: "sort" });
    return el("th", {}, b);
  };
  const head = el("thead");
  const renderHead = () =>
    head.replaceChildren(el("tr", {}, el("th", {}, selectAll), header("Name", "name"), header("Size", "size"), header("Replication", "replication"), header("Modified (UTC)", "modified"), el("th", {}, "")));
  renderHead();

  const row = (f: FileStatus) => {
    const name = nameOf(f.path);
    const check = el("input", { type: "checkbox", "data-testid": "select", "aria-label": `select ${name}` });
    check.checked = selected.has(f.path);
    check.addEventListener("change", () => {
      check.checked ? selected.add(f.path) : selected.delete(f.path);
      updateSelection();
    });
    const nameCell =
      f.type === "directory"
        ? el("a", { href: `#/files${f.path}`, "data-testid": "open" }, `${name}/`)
        : el("a", { href: `#/file${f.path}`, "data-testid": "details" }, name);
    return el(
      "tr",
      { "data-testid": "entry", "data-name": name, "data-type": f.type, "data-size": String(f.size) },
      el("td", {}, check),
      el("td", {}, nameCell),
      el("td", { "data-testid": "size" }, f.type === "directory" ? "" : formatSize(f.size)),
      el("td", {}, f.type === "directory" ? "" : String(f.replication)),
      el("td", {}, formatTime(f.modificationTime)),
      el(
        "td",
        { class: "actions" },
        ...(f.type === "file" ? [button("Download", "download", () => transfers.download(f.path, f.size))] : []),
        button("Rename", "rename", () => {
          const to = window.prompt(`Rename ${f.path} to`, f.path);
          if (to && to !== f.path) void act(`renaming ${f.path}`, () => ctx.client.rename(f.path, to.startsWith("/") ? to : joinPath(dir, to)));
        }),
        button("Delete", "delete", () => {
          if (window.confirm(`Delete ${f.path}${f.type === "directory" ? " and everything under it" : ""}?`)) {
            void act(`deleting ${f.path}`, () => ctx.client.rm(f.path, { recursive: true }));
          }
        }),
      ),
    );
  };

  const visible = () => {
    const q = filter.value.trim().toLowerCase();
    return sortEntries(entries, sort, ascending).filter((f) => !q || nameOf(f.path).toLowerCase().includes(q));
  };
  const body = el("tbody", {}, el("tr", {}, el("td", { colspan: "6" }, "Loading…")));
  const updateSelection = () => {
    deleteSelected.disabled = selected.size === 0;
    deleteSelected.textContent = selected.size ? `Delete selected (${selected.size})` : "Delete selected";
    const shown = visible();
    selectAll.checked = shown.length > 0 && shown.every((f) => selected.has(f.path));
  };
  const renderRows = () => {
    const shown = visible();
    const up = dir === "/" ? [] : [el("tr", {}, el("td", {}), el("td", { colspan: "5" }, el("a", { href: `#/files${parentPath(dir)}` }, "..")))];
    body.replaceChildren(...up, ...shown.map(row));
    if (shown.length === 0) body.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, entries.length ? "(nothing matches the filter)" : "(empty)")));
    updateSelection();
  };

  const crumbs: Array<Node | string> = [el("a", { href: "#/files/" }, "/")];
  let at = "";
  for (const part of dir.split("/").filter(Boolean)) {
    at += `/${part}`;
    crumbs.push(el("a", { href: `#/files${at}` }, part), "/");
  }
  const table = el("table", { class: "files", "data-testid": "listing" }, head, body);
  const dropZone = el(
    "section",
    { class: "drop-zone", "data-testid": "drop-zone" },
    el("p", { class: "drop-hint" }, `Drop files or folders here to upload them to ${dir}`),
    table,
  );
  dropZone.addEventListener("dragover", (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
    dropZone.classList.add("dragging");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", (e) => {
    e.preventDefault();
    dropZone.classList.remove("dragging");
    if (!e.dataTransfer) return;
    droppedFiles(e.dataTransfer).then(enqueue, (err: unknown) => ctx.showError(err, "reading the dropped files"));
  });

  root.replaceChildren(
    el("h2", { "data-testid": "cwd", "data-path": dir }, ...crumbs),
    el("div", { class: "toolbar" }, mkdirInput, mkdirButton, el("span", { class: "sep" }), filter, deleteSelected),
    el(
      "div",
      { class: "toolbar" },
      el("label", {}, "Upload files ", fileInput),
      el("label", {}, "or a folder ", folderInput),
      el("label", {}, overwrite, " overwrite existing files"),
      el("label", {}, "replication ", replication),
    ),
    dropZone,
  );
  const loadListing = async () => {
    try {
      entries = await track(ctx, () => ctx.client.list(dir));
      for (const p of [...selected]) if (!entries.some((f) => f.path === p)) selected.delete(p);
      renderRows();
      table.setAttribute("data-loaded", "true");
      table.classList.remove("stale");
    } catch (err) {
      table.classList.add("stale");
      ctx.showError(err, `listing ${dir}`);
      if ((err as { code?: string }).code === "not_found") window.location.hash = "#/files/";
    }
  };
  void loadListing();
}
