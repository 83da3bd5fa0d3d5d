import type { FileStatus } from "@trainfs/client";

/** One line per entry, like `hdfs dfs -ls`: type, replication, size, time, path. */
export function formatListing(entries: FileStatus[]): string {
  const width = Math.max(1, ...entries.map((e) => String(e.size).length));
  return entries
    .map((e) => {
      const kind = e.type === "directory" ? "d" : "-";
      const replication = e.type === "directory" ? "-" : String(e.replication);
      const time = e.modificationTime.toISOString().slice(0, 16).replace("T", " ");
      return `${kind} ${replication.padStart(2)} ${String(e.size).padStart(width)} ${time} ${e.path}`;
    })
    .join("\n");
}
