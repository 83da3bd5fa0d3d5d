import type { Command } from "commander";
import type { ContentSummary, FileStatus, TrainfsClient } from "@trainfs/client";
import { baseName, formatSize, joinPath } from "@trainfs/core";
import type { CliContext } from "./context.js";
import { formatListing } from "./format.js";
import { positiveInt } from "./transfer-commands.js";

/** ls, stat, mkdir, mv, rm, du and setrep: the namespace, like `hdfs dfs`. */
export function namespaceCommands(program: Command, ctx: CliContext): void {
  program
    .command("ls")
    .description("list a directory (sorted by name) or describe a file")
    .argument("[remote]", "absolute TrainFS path", "/")
    .option("-l, --long", "type, replication, size, modification time and path")
    .option("-R, --recursive", "list subdirectories too")
    .option("--json", "print JSON")
    .action(async (remote: string, opts: { long?: boolean; recursive?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const entries = opts.recursive ? await listTree(c, remote) : await c.list(remote);
        ctx.print(opts.json, entries, () => (opts.long ? formatListing(entries) : entries.map((e) => e.path).join("\n")));
      }),
    );

  program
    .command("stat")
    .description("describe one path")
    .argument("<remote>", "absolute TrainFS path")
    .option("--json", "print JSON")
    .action(async (remote: string, opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const s = await c.stat(remote);
        ctx.print(opts.json, s, () =>
          [
            `path: ${s.path}`,
            `type: ${s.type}`,
            ...(s.type === "file"
              ? [`size: ${s.size} (${formatSize(s.size)})`, `replication: ${s.replication}`, `chunk size: ${formatSize(s.chunkSize)}`, `chunks: ${s.chunkCount}`]
              : []),
            `modified: ${s.modificationTime.toISOString()}`,
          ].join("\n"),
        );
      }),
    );

  program
    .command("mkdir")
    .description("create directories")
    .argument("<remote...>", "absolute TrainFS paths")
    .option("-p, --parents", "create missing parents; no error if the directory exists")
    .option("--json", "print the directories' status as JSON")
    .action(async (remotes: string[], opts: { parents?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const made: FileStatus[] = [];
        for (const r of remotes) made.push(await c.mkdir(r, { parents: opts.parents ?? false }));
        ctx.print(opts.json, made, () => undefined);
      }),
    );

  program
    .command("mv")
    .description("move or rename a file or directory (into <destination> if it is an existing directory)")
    .argument("<source>", "absolute TrainFS path")
    .argument("<destination>", "absolute TrainFS path")
    .option("-f, --force", "replace an existing file at the destination")
    .option("--json", "print the moved entry's status as JSON")
    .action(async (source: string, destination: string, opts: { force?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const into = await c.stat(destination).then((s) => s.type === "directory", () => false);
        const moved = await c.rename(source, into ? joinPath(destination, baseName(source)) : destination, { overwrite: opts.force ?? false });
        ctx.print(opts.json, moved, () => undefined);
      }),
    );

  program
    .command("rm")
    .description("delete files or empty directories (-r: whole trees); chunks leave the DataNodes shortly after")
    .argument("<remote...>", "absolute TrainFS paths")
    .option("-r, --recursive", "delete directories and everything under them")
    .option("--json", "print JSON")
    .action(async (remotes: string[], opts: { recursive?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const results: Array<{ path: string; chunkCount: number }> = [];
        for (const r of remotes) results.push({ path: r, ...(await c.rm(r, { recursive: opts.recursive ?? false })) });
        ctx.print(opts.json, results, () =>
          ctx.quiet() ? undefined : results.map((r) => `deleted ${r.path} (${r.chunkCount} chunk(s) sent to trash)`).join("\n"),
        );
      }),
    );

  program
    .command("du")
    .description("space used under a path: each entry of a directory, or one total with -s")
    .argument("[remote]", "absolute TrainFS path", "/")
    .option("-s, --summarize", "one total for the path")
    .option("-h, --human", "sizes in KiB, MiB, GiB")
    .option("--json", "print JSON")
    .action(async (remote: string, opts: { summarize?: boolean; human?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const paths = opts.summarize ? [remote] : (await c.list(remote)).map((e) => e.path);
        const rows: Array<ContentSummary & { path: string }> = [];
        for (const path of paths) rows.push({ path, ...(await c.du(path)) });
        const show = (n: number) => (opts.human ? formatSize(n) : String(n));
        ctx.print(opts.json, opts.summarize ? rows[0] : rows, () =>
          rows.map((r) => `${show(r.bytes).padStart(10)}  ${show(r.spaceConsumed).padStart(10)}  ${r.path}`).join("\n"),
        );
      }),
    );

  program
    .command("setrep")
    .description("change a file's replication; copies are added or trimmed in the background")
    .argument("<replication>", "replicas per chunk", positiveInt)
    .argument("<remote>", "absolute TrainFS path of a file")
    .option("--json", "print the file's status as JSON")
    .action(async (replication: number, remote: string, opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const file = await c.setReplication(remote, replication);
        ctx.print(opts.json, file, () => (ctx.quiet() ? undefined : `${file.path}: replication ${file.replication}`));
      }),
    );
}

/** Every entry under a directory, depth first, sorted within each directory. */
async function listTree(c: TrainfsClient, path: string): Promise<FileStatus[]> {
  const out: FileStatus[] = [];
  for (const entry of await c.list(path)) {
    out.push(entry);
    if (entry.type === "directory") out.push(...(await listTree(c, entry.path)));
  }
  return out;
}
