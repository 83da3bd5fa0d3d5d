import type { FileDetails } from "@trainfs/client/web";
import { crc32Combine, formatChecksum, formatSize, parentPath } from "@trainfs/core";
import { track, type ConsoleContext } from "./context.js";
import { button, el, formatTime } from "./format.js";
import type { Transfers } from "./transfers.js";

/** The whole file's CRC-32, folded from its chunks' (each over its own bytes) without reading a byte. */
export function fileChecksum(chunks: ReadonlyArray<{ checksum: number; length: number }>): number {
  return chunks.reduce((crc, c, i) => (i === 0 ? c.checksum >>> 0 : crc32Combine(crc, c.checksum, c.length)), 0);
}

/**
 * One file in detail (as HDFS's Browse Directory with block locations): its
 * size, replication, chunk size and CRC-32, and each chunk with its
 * checksum, health and every replica's DataNode and state.
 */
export function fileView(ctx: ConsoleContext, transfers: Transfers, root: HTMLElement, path: string): void {
  root.replaceChildren(el("p", {}, `Loading ${path}…`));
  void (async () => {
    let f: FileDetails;
    try {
      f = await track(ctx, () => ctx.client.fileDetails(path));
    } catch (err) {
      ctx.showError(err, `reading ${path}`);
      root.replaceChildren(el("p", {}, el("a", { href: `#/files${parentPath(path)}` }, `Back to ${parentPath(path)}`)));
      return;
    }
    const healthy = f.chunks.filter((c) => c.health === "healthy").length;
    const fact = (label: string, value: string, id: string) => el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", "data-testid": id }, value));
    root.replaceChildren(
      el("h2", { "data-testid": "file-path", "data-path": path }, el("a", { href: `#/files${parentPath(path)}` }, parentPath(path)), path === "/" ? "" : ` ${path.slice(path.lastIndexOf("/") + 1)}`),
      el(
        "section",
        { class: "cards" },
        fact("Size", `${formatSize(f.size)} (${f.size.toLocaleString("en-US")} bytes)`, "file-size"),
        fact("Replication", String(f.replication), "file-replication"),
        fact("Chunk size", formatSize(f.chunkSize), "file-chunk-size"),
        fact("Chunks", `${f.chunks.length} (${healthy} healthy)`, "file-chunks"),
        fact("CRC-32", formatChecksum(fileChecksum(f.chunks)), "file-checksum"),
        fact("Modified (UTC)", formatTime(f.modificationTime), "file-modified"),
      ),
      el("div", { class: "toolbar" }, button("Download", "download", () => transfers.download(path, f.size))),
      el(
        "table",
        { class: "chunks", "data-testid": "chunks" },
        el("thead", {}, el("tr", {}, ...["#", "Chunk", "Offset", "Length", "CRC-32", "Health", "Replicas"].map((h) => el("th", {}, h)))),
        el(
          "tbody",
          {},
          ...f.chunks.map((c) =>
            el(
              "tr",
              { "data-testid": "chunk", "data-index": String(c.index), "data-chunk-id": c.chunkId, "data-health": c.health },
              el("td", {}, String(c.index)),
              el("td", { class: "mono" }, c.chunkId),
              el("td", {}, formatSize(c.offset)),
              el("td", {}, formatSize(c.length)),
              el("td", { class: "mono" }, formatChecksum(c.checksum)),
              el("td", {}, el("span", { class: `badge ${c.health === "healthy" ? "alive" : "dead"}` }, c.health)),
              el(
                "td",
                {},
                ...c.replicas.map((r) =>
                  el("div", { "data-testid": "replica", "data-address": r.address, "data-state": r.state }, el("span", { class: `badge ${r.state === "live" ? "alive" : "dead"}` }, r.state), ` ${r.address}`),
                ),
                ...(c.replicas.length === 0 ? [el("span", { class: "muted" }, "no replica")] : []),
              ),
            ),
          ),
        ),
      ),
    );
  })();
}
