import type { Command } from "commander";
import picomatch from "picomatch";
import { TrainfsError, type FileChecksum, type FileStatus, type TrainfsClient } from "@trainfs/client";
import { baseName, formatSize, joinPath } from "@trainfs/core";
import { lastApart, stripSlash, type CliContext } from "./context.js";
import { EXIT } from "./errors.js";
import { formatListing } from "./format.js";
import { notFoundAsUndefined, positiveInt } from "./transfer-commands.js";

/** ls, stat, mkdir, mv, rm, du, count, setrep, test, find and checksum: the namespace, like `hdfs dfs`. */
export function namespaceCommands(program: Command, ctx: CliContext): void {
  program
    .command("ls")
    .description("list directories (sorted by name) or describe files")
    .argument("[remote...]", "TrainFS paths or globs (default /)")
    .option("-l, --long", "type, replication, size, modification time and path")
    .option("-h, --human", "with -l: sizes in KiB, MiB, GiB")
    .option("-R, --recursive", "list subdirectories too")
    .option("-r, --reverse", "reverse the order")
    .option("-d, --directory", "list directories themselves, not their contents")
    .option("--json", "print JSON")
    .action(async (remotes: string[], opts: { long?: boolean; human?: boolean; recursive?: boolean; reverse?: boolean; directory?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const entries: FileStatus[] = [];
        for (const s of await ctx.expand(c, remotes.length ? remotes : ["/"])) {
          if (s.type === "file" || opts.directory) entries.push(s);
          else entries.push(...(opts.recursive ? await c.listTree(s.path) : await c.list(s.path)));
        }
        if (opts.reverse) entries.reverse();
        ctx.print(opts.json, entries, () => (opts.long ? formatListing(entries, opts.human) : entries.map((e) => e.path).join("\n")));
      }),
    );

  program
    .command("stat")
    .description("describe paths")
    .argument("<remote...>", "TrainFS paths or globs")
    .option("--json", "print JSON (one object for one path, else a list)")
    .action(async (remotes: string[], opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const found = await ctx.expand(c, remotes);
        ctx.print(opts.json, found.length === 1 ? found[0] : found, () =>
          found
            .map((s) =>
              [
                `path: ${s.path}`,
                `type: ${s.type}`,
                ...(s.type === "file"
                  ? [`size: ${s.size} (${formatSize(s.size)})`, `replication: ${s.replication}`, `chunk size: ${formatSize(s.chunkSize)}`, `chunks: ${s.chunkCount}`]
                  : []),
                `modified: ${s.modificationTime.toISOString()}`,
              ].join("\n"),
            )
            .join("\n\n"),
        );
      }),
    );

  program
    .command("mkdir")
    .description("create directories")
    .argument("<remote...>", "TrainFS paths")
    .option("-p, --parents", "create missing parents; no error if the directory exists")
    .option("--json", "print the directories' status as JSON")
    .action(async (remotes: string[], opts: { parents?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const made: FileStatus[] = [];
        for (const r of remotes) await c.mkdir(stripSlash(r), { parents: opts.parents ?? false }).then((s) => made.push(s), ctx.fail);
        ctx.print(opts.json, made, () => undefined);
      }),
    );

  program
    .command("mv")
    .description("move or rename files and directories (into <destination> if it is an existing directory, or with several sources)")
    .usage("[options] <source...> <destination>")
    .argument("<paths...>", "TrainFS paths or globs; then the TrainFS destination")
    .option("-f, --overwrite", "replace an existing file at the destination")
    .option("--json", "print the moved entries' status as JSON")
    .action(async (paths: string[], opts: { overwrite?: boolean; json?: boolean }, cmd: Command) =>
      ctx.withClient(async (c) => {
        const [sources, destArg] = lastApart(paths, cmd);
        const found = await ctx.expand(c, sources);
        const dest = stripSlash(destArg);
        const target = await c.stat(dest).catch(notFoundAsUndefined);
        const into = target?.type === "directory" || found.length > 1;
        if (found.length > 1 && target?.type !== "directory") throw new TrainfsError("failed_precondition", `with several sources the destination must be an existing directory; ${dest} is ${target ? "a file" : "missing"} (create it with trainfs mkdir -p)`);
        const moved: FileStatus[] = [];
        for (const s of found) {
          await c.rename(s.path, into ? joinPath(dest, baseName(s.path)) : dest, { overwrite: opts.overwrite ?? false }).then((m) => moved.push(m), ctx.fail);
        }
        ctx.print(opts.json, found.length === 1 ? moved[0] : moved, () => undefined);
      }),
    );

  program
    .command("rm")
    .description("delete files or empty directories (-r: whole trees); each failure is reported and the rest still go; chunks leave the DataNodes shortly after")
    .argument("<remote...>", "TrainFS paths or globs")
    .option("-r, --recursive", "delete directories and everything under them (also -R)")
    .option("-f, --force", "no error for paths that do not exist")
    .option("--json", "print JSON")
    .action(async (remotes: string[], opts: { recursive?: boolean; force?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const results: Array<{ path: string; chunkCount: number }> = [];
        for (const pattern of remotes) {
          let found: FileStatus[];
          try {
            found = await c.glob(stripSlash(pattern));
          } catch (err) {
            if (!(opts.force && err instanceof TrainfsError && err.code === "not_found")) ctx.fail(err);
            continue;
          }
          for (const s of found) {
            await c.rm(s.path, { recursive: opts.recursive ?? false }).then(
              (r) => results.push({ path: s.path, ...r }),
              (err: unknown) => {
                if (err instanceof TrainfsError && err.code === "failed_precondition" && s.type === "directory" && !opts.recursive) {
                  ctx.fail(new TrainfsError(err.code, `${err.message.replace(/ \(.*\)$/, "")}: use rm -r to delete it with its contents`));
                } else if (!(opts.force && err instanceof TrainfsError && err.code === "not_found")) ctx.fail(err);
              },
            );
          }
        }
        ctx.print(opts.json, results, () =>
          ctx.quiet() ? undefined : results.map((r) => `deleted ${r.path} (${r.chunkCount} chunk(s) sent to trash)`).join("\n"),
        );
      }),
    );

  program
    .command("du")
    .description("space used under paths: each entry of a directory, or one total per path with -s")
    .argument("[remote...]", "TrainFS paths or globs (default /)")
    .option("-s, --summarize", "one total per path")
    .option("-h, --human", "sizes in KiB, MiB, GiB")
    .option("--json", "print JSON")
    .action(async (remotes: string[], opts: { summarize?: boolean; human?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const paths: string[] = [];
        for (const s of await ctx.expand(c, remotes.length ? remotes : ["/"])) {
          if (opts.summarize || s.type === "file") paths.push(s.path);
          else paths.push(...(await c.list(s.path)).map((e) => e.path));
        }
        const rows: Array<{ path: string; files: number; directories: number; bytes: number; spaceConsumed: number }> = [];
        for (const path of paths) rows.push({ path, ...(await c.du(path)) });
        const show = (n: number) => (opts.human ? formatSize(n) : String(n));
        ctx.print(opts.json, opts.summarize && rows.length === 1 ? rows[0] : rows, () =>
          rows.map((r) => `${show(r.bytes).padStart(10)}  ${show(r.spaceConsumed).padStart(10)}  ${r.path}`).join("\n"),
        );
      }),
    );

  program
    .command("count")
    .description("directories, files and bytes under paths: DIR_COUNT FILE_COUNT CONTENT_SIZE PATHNAME, as hdfs dfs -count")
    .argument("<remote...>", "TrainFS paths or globs")
    .option("--quotas", "also the quota columns (-q, as in hdfs dfs -count -q); TrainFS has no quotas, so they read none/inf")
    .option("-h, --human", "sizes in KiB, MiB, GiB")
    .option("-v, --header", "print a header line")
    .option("--json", "print JSON")
    .action(async (remotes: string[], opts: { quotas?: boolean; human?: boolean; header?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        const rows: Array<{ path: string; directories: number; files: number; bytes: number }> = [];
        for (const s of await ctx.expand(c, remotes)) {
          const d = await c.du(s.path);
          rows.push({ path: s.path, directories: d.directories, files: d.files, bytes: d.bytes });
        }
        const quota = opts.quotas ? `${"none".padStart(12)} ${"inf".padStart(12)} ${"none".padStart(12)} ${"inf".padStart(12)} ` : "";
        const header = opts.header
          ? `${opts.quotas ? `${"QUOTA".padStart(12)} ${"REM_QUOTA".padStart(12)} ${"SPACE_QUOTA".padStart(12)} ${"REM_SPACE_QUOTA".padStart(12)} ` : ""}${"DIR_COUNT".padStart(12)} ${"FILE_COUNT".padStart(12)} ${"CONTENT_SIZE".padStart(12)} PATHNAME\n`
          : "";
        const size = (n: number) => (opts.human ? formatSize(n) : String(n));
        ctx.print(opts.json, rows, () =>
          header + rows.map((r) => `${quota}${String(r.directories).padStart(12)} ${String(r.files).padStart(12)} ${size(r.bytes).padStart(12)} ${r.path}`).join("\n"),
        );
      }),
    );

  program
    .command("setrep")
    .description("change replication of files (of every file under a directory); copies are added or trimmed in the background")
    .argument("<replication>", "replicas per chunk", positiveInt)
    .argument("<remote...>", "TrainFS paths or globs")
    .option("-R, --recursive", "accepted for habit: directories are always handled recursively")
    .option("--json", "print the files' status as JSON")
    .action(async (replication: number, remotes: string[], opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const changed: FileStatus[] = [];
        for (const s of await ctx.expand(c, remotes)) {
          const files = s.type === "file" ? [s] : (await c.listTree(s.path)).filter((e) => e.type === "file");
          for (const f of files) await c.setReplication(f.path, replication).then((x) => changed.push(x), ctx.fail);
        }
        ctx.print(opts.json, changed.length === 1 ? changed[0] : changed, () =>
          ctx.quiet() ? undefined : changed.map((f) => `${f.path}: replication ${f.replication}`).join("\n"),
        );
      }),
    );

  program
    .command("test")
    .description("test a path; exits 0 if true, 1 if false, printing nothing (other failures print and exit with their status)")
    .argument("<remote>", "TrainFS path")
    .option("-e", "the path exists")
    .option("-f", "the path is a file")
    .option("-d", "the path is a directory")
    .option("-s", "the path is a file that is not empty")
    .option("-z", "the path is an empty file")
    .action(async (remote: string, opts: { e?: boolean; f?: boolean; d?: boolean; s?: boolean; z?: boolean }) => {
      const tests = (["e", "f", "d", "s", "z"] as const).filter((k) => opts[k]);
      if (tests.length !== 1) throw new TrainfsError("invalid_argument", "test takes exactly one of -e, -f, -d, -s, -z (e.g. trainfs test -e /path)");
      return ctx.withClient(async (c) => {
        const s = await c.stat(stripSlash(remote)).catch(notFoundAsUndefined);
        const t = tests[0]!;
        const yes = t === "e" ? !!s : t === "f" ? s?.type === "file" : t === "d" ? s?.type === "directory" : t === "s" ? s?.type === "file" && s.size > 0 : s?.type === "file" && s.size === 0;
        if (!yes) process.exitCode = EXIT.failed;
      });
    });

  program
    .command("find")
    .description("paths under directories whose name matches, like hdfs dfs -find (also -name, -iname, -type)")
    .argument("[remote...]", "TrainFS paths or globs to search (default /)")
    .option("--name <glob>", "base name matches this glob (also -name)")
    .option("--iname <glob>", "the same, ignoring case (also -iname)")
    .option("--type <f|d>", "only files (f) or directories (d) (also -type)")
    .option("--json", "print JSON")
    .action(async (remotes: string[], opts: { name?: string; iname?: string; type?: string; json?: boolean }) =>
      ctx.withClient(async (c) => {
        if (opts.type !== undefined && opts.type !== "f" && opts.type !== "d") throw new TrainfsError("invalid_argument", `-type takes f or d, not ${JSON.stringify(opts.type)}`);
        const match = opts.name ? picomatch(opts.name, { dot: true }) : opts.iname ? picomatch(opts.iname, { dot: true, nocase: true }) : () => true;
        const found: FileStatus[] = [];
        for (const s of await ctx.expand(c, remotes.length ? remotes : ["/"])) {
          for (const e of [s, ...(s.type === "directory" ? await c.listTree(s.path) : [])]) {
            if (opts.type === "f" && e.type !== "file") continue;
            if (opts.type === "d" && e.type !== "directory") continue;
            if (match(baseName(e.path) || "/")) found.push(e);
          }
        }
        ctx.print(opts.json, found, () => found.map((e) => e.path).join("\n"));
      }),
    );

  program
    .command("checksum")
    .description("each file's COMPOSITE-CRC32: the CRC-32 of its content, the same whatever its chunk size (from the chunks' checksums, no byte read)")
    .argument("<remote...>", "TrainFS paths or globs of files")
    .option("--json", "print JSON")
    .action(async (remotes: string[], opts: { json?: boolean }) =>
      ctx.withClient(async (c) => {
        const sums: FileChecksum[] = [];
        for (const s of await ctx.expand(c, remotes)) {
          if (s.type === "directory") ctx.fail(new TrainfsError("failed_precondition", `${s.path} is a directory; checksum takes files`));
          else await c.checksum(s.path).then((x) => sums.push(x), ctx.fail);
        }
        ctx.print(opts.json, sums, () => sums.map((x) => `${x.path}\t${x.algorithm}\t${x.checksum}`).join("\n"));
      }),
    );
}

export type { TrainfsClient };
