import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError, type Command } from "commander";
import { lastApart } from "./context.js";
import { TrainfsError, type BulkResult, type FileStatus, type TrainfsClient } from "@trainfs/client";
import { baseName, errorMessage, formatSize, joinPath, parseSize } from "@trainfs/core";
import { stripSlash, type CliContext } from "./context.js";
import { abandonedText, progressBar } from "./progress.js";

export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
};

export const byteCount = (v: string) => {
  try {
    return parseSize(v);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
};

interface PutOpts { overwrite?: boolean; replication?: number; chunkSize?: number; parallel?: number; threads?: number; json?: boolean }
interface GetOpts { overwrite?: boolean; parallel?: number; threads?: number; fsync?: boolean; json?: boolean }

/** put, get, cp, cat, head, tail, getmerge and touchz: moving bytes, with `-` for stdin and stdout. */
export function transferCommands(program: Command, ctx: CliContext): void {
  program
    .command("put")
    .alias("copyFromLocal")
    .description("upload local files and directories (or stdin, as -); each file appears only once every chunk is stored on all replicas")
    .usage("[options] <local...> <remote>")
    .argument("<paths...>", "local files or directories (a directory is copied with its whole tree), or - for stdin; then the TrainFS path: the new file, or a directory to put into (with several sources, or a trailing /, it is created if missing)")
    .option("-f, --overwrite", "replace existing files (atomically, when each upload completes)")
    .option("-r, --recursive", "accepted for habit: directories are always copied with their tree")
    .option("--replication <n>", "replicas per chunk (also -rep; default: the NameNode's, 3)", positiveInt)
    .option("-c, --chunk-size <size>", "chunk size, e.g. 64MiB (default: the NameNode's, 64 MiB)", byteCount)
    .option("-t, --threads <n>", "files uploaded at once (default: up to 128 files of 1 MiB or less, 8 larger ones)", positiveInt)
    .option("--parallel <n>", "chunks of one file sent at once (default 4)", positiveInt)
    .option("--json", "print the new files' status as JSON")
    .action(async (paths: string[], opts: PutOpts, cmd: Command) =>
      ctx.withClient(async (c) => {
        const [locals, remoteArg] = lastApart(paths, cmd);
        const put = { overwrite: opts.overwrite, replication: opts.replication, chunkSize: opts.chunkSize, concurrency: opts.parallel, filesInFlight: opts.threads };
        if (locals.includes("-")) {
          if (locals.length > 1) throw new TrainfsError("invalid_argument", "- (stdin) must be the only source");
          const file = await ctx.interruptible(() => `the upload of stdin to ${remoteArg} was abandoned; nothing is visible`, (signal) =>
            c.put(process.stdin, stripSlash(remoteArg), { ...put, signal }));
          return ctx.print(opts.json, file, () => (ctx.quiet() ? undefined : describePut(file)));
        }
        const remote = stripSlash(remoteArg);
        const target = await c.stat(remote).catch(notFoundAsUndefined);
        const intoDir = target?.type === "directory" || locals.length > 1 || remoteArg.endsWith("/");
        if (intoDir && target?.type === "file") throw new TrainfsError("failed_precondition", `${remote} is a file; with several sources the destination must be a directory`);
        if (intoDir && !target) await c.mkdir(remote, { parents: true });
        const files: Array<{ local: string; remote: string }> = [];
        const trees: Array<{ local: string; remote: string }> = [];
        for (const local of locals) {
          const s = await stat(local).catch(() => undefined);
          const dest = intoDir ? joinPath(remote, basename(local)) : remote;
          if (!s) ctx.fail(new TrainfsError("not_found", `local file ${local} does not exist`));
          else if (s.isDirectory()) trees.push({ local, remote: dest });
          else if (s.isFile()) files.push({ local, remote: dest });
          else ctx.fail(new TrainfsError("invalid_argument", `local path ${local} is not a regular file or a directory`));
        }
        const done = await inBatches(ctx, "put", "upload", files, trees, (batch, o) =>
          "tree" in batch ? c.putTree(batch.tree.local, batch.tree.remote, { ...put, ...o }) : c.putMany(batch.files, { ...put, ...o }),
        );
        ctx.print(opts.json, done.length === 1 && trees.length === 0 ? done[0] : done, () =>
          ctx.quiet() ? undefined : done.length === 1 && trees.length === 0 ? describePut(done[0]!) : summary("put", done),
        );
      }),
    );

  program
    .command("get")
    .alias("copyToLocal")
    .description("download files and directories (to stdout as -); a local file appears only once all of it is verified")
    .usage("[options] <remote...> <local>")
    .argument("<paths...>", "TrainFS paths or globs (a directory is copied with its whole tree); then the local file or directory (created for several sources or a directory), or - for stdout")
    .option("-f, --overwrite", "replace existing local files")
    .option("-r, --recursive", "accepted for habit: directories are always copied with their tree")
    .option("-t, --threads <n>", "files downloaded at once (default: up to 128 files of 1 MiB or less, 8 larger ones)", positiveInt)
    .option("--parallel <n>", "chunks of one file fetched at once (default 4)", positiveInt)
    .option("--fsync", "flush each local file and its name to disk before returning (default: left to the page cache, as cp does)")
    .option("--json", "print the files' status as JSON")
    .action(async (paths: string[], opts: GetOpts, cmd: Command) =>
      ctx.withClient(async (c) => {
        const [remotes, local] = lastApart(paths, cmd);
        const sources = await ctx.expand(c, remotes);
        if (local === "-") {
          for (const s of sources) await catOne(c, s);
          return;
        }
        const localStat = await stat(local).catch(() => undefined);
        const intoDir = localStat?.isDirectory() === true || sources.length > 1 || local.endsWith("/");
        const get = { overwrite: opts.overwrite, concurrency: opts.parallel, fsync: opts.fsync, filesInFlight: opts.threads };
        const files = sources.filter((s) => s.type === "file").map((s) => ({ remote: s.path, local: intoDir ? join(local, baseName(s.path)) : local, size: s.size }));
        const trees = sources.filter((s) => s.type === "directory").map((s) => ({ remote: s.path, local: intoDir ? join(local, baseName(s.path) || "root") : local }));
        if (intoDir && !localStat && files.length > 0) await mkdirLocal(local);
        const done = await inBatches(ctx, "get", "download", files, trees, (batch, o) =>
          "tree" in batch ? c.getTree(batch.tree.remote, batch.tree.local, { ...get, ...o }) : c.getMany(batch.files, { ...get, ...o }),
        );
        ctx.print(opts.json, done.length === 1 && trees.length === 0 ? done[0] : done, () =>
          ctx.quiet() ? undefined : done.length === 1 && trees.length === 0 ? `${done[0]!.path}: ${formatSize(done[0]!.size)} written to ${local}` : summary("got", done),
        );
      }),
    );

  program
    .command("cp")
    .description("copy files and directories within TrainFS (each copy appears once complete)")
    .usage("[options] <source...> <destination>")
    .argument("<paths...>", "TrainFS paths or globs (a directory is copied with its whole tree); then the TrainFS destination: the new file, or a directory to copy into")
    .option("-f, --overwrite", "replace existing files")
    .option("-r, --recursive", "accepted for habit: directories are always copied with their tree")
    .option("-t, --threads <n>", "files copied at once (default: up to 128 files of 1 MiB or less, 8 larger ones)", positiveInt)
    .option("--json", "print the copies' status as JSON")
    .action(async (paths: string[], opts: { overwrite?: boolean; threads?: number; json?: boolean }, cmd: Command) =>
      ctx.withClient(async (c) => {
        const [sources, destArg] = lastApart(paths, cmd);
        const found = await ctx.expand(c, sources);
        const dest = stripSlash(destArg);
        const target = await c.stat(dest).catch(notFoundAsUndefined);
        const intoDir = target?.type === "directory" || found.length > 1 || destArg.endsWith("/");
        if (intoDir && target?.type === "file") throw new TrainfsError("failed_precondition", `${dest} is a file; with several sources the destination must be a directory`);
        const items: Array<{ source: string; destination: string; size: number }> = [];
        for (const s of found) {
          const to = intoDir ? joinPath(dest, baseName(s.path)) : dest;
          if (s.type === "file") {
            items.push({ source: s.path, destination: to, size: s.size });
            continue;
          }
          if (to === s.path || to.startsWith(`${s.path}/`)) {
            ctx.fail(new TrainfsError("invalid_argument", `cannot copy ${s.path} into itself (${to})`));
            continue;
          }
          await c.mkdir(to, { parents: true });
          for (const e of await c.listTree(s.path)) {
            const rel = e.path.slice(s.path.length);
            if (e.type === "directory") await c.mkdir(to + rel, { parents: true });
            else items.push({ source: e.path, destination: to + rel, size: e.size });
          }
        }
        if (intoDir && !target) await c.mkdir(dest, { parents: true });
        const bar = progressBar("cp", ctx.quiet());
        try {
          const result = await ctx.interruptible(() => abandonedText(bar.last(), "copy"), (signal) =>
            c.copyMany(items, { overwrite: opts.overwrite, filesInFlight: opts.threads, signal, stopOnError: false, onProgress: bar.update }),
          );
          const done = report(ctx, result);
          ctx.print(opts.json, done, () => (ctx.quiet() ? undefined : summary("copied", done)));
        } finally {
          bar.stop();
        }
      }),
    );

  program
    .command("cat")
    .description("print files (or a byte range of one) to stdout, verified")
    .argument("<remote...>", "TrainFS paths or globs")
    .option("--start <byte>", "first byte (default 0)", Number)
    .option("--end <byte>", "last byte, inclusive (default: the end)", Number)
    .action(async (remotes: string[], opts: { start?: number; end?: number }) =>
      ctx.withClient(async (c) => {
        for (const s of await ctx.expand(c, remotes)) await catOne(c, s, opts.start, opts.end);
      }),
    );

  program
    .command("head")
    .description("print the first bytes of a file (1 KiB unless -c)")
    .argument("<remote>", "TrainFS path")
    .option("-c, --bytes <n>", "how many bytes, e.g. 100 or 4KiB", byteCount, 1024)
    .action(async (remote: string, opts: { bytes: number }) =>
      ctx.withClient(async (c) => {
        for (const s of await ctx.expand(c, [remote])) {
          if (s.size > 0 && opts.bytes > 0) await catOne(c, s, 0, Math.min(s.size, opts.bytes) - 1);
        }
      }),
    );

  program
    .command("tail")
    .description("print the last bytes of a file (1 KiB unless -c)")
    .argument("<remote>", "TrainFS path")
    .option("-c, --bytes <n>", "how many bytes, e.g. 100 or 4KiB", byteCount, 1024)
    .option("-f, --follow", "not available: see the error it gives")
    .action(async (remote: string, opts: { bytes: number; follow?: boolean }) => {
      if (opts.follow) {
        throw new TrainfsError(
          "unimplemented",
          "tail -f cannot follow a TrainFS file: a file is invisible until its writer confirms it, and never changes afterwards (no appends), so there is nothing to follow; run tail without -f once the upload has finished",
        );
      }
      return ctx.withClient(async (c) => {
        for (const s of await ctx.expand(c, [remote])) {
          if (s.size > 0 && opts.bytes > 0) await catOne(c, s, Math.max(0, s.size - opts.bytes), s.size - 1);
        }
      });
    });

  program
    .command("getmerge")
    .description("concatenate files (a directory's files, sorted by name, or globs) into one local file")
    .usage("[options] <remote...> <local>")
    .argument("<paths...>", "TrainFS directories, files or globs; then the local file to write (replaced if it exists)")
    .option("--nl", "add a newline after each file")
    .option("--skip-empty-file", "leave empty files out (with --nl: no newline for them)")
    .action(async (paths: string[], opts: { nl?: boolean; skipEmptyFile?: boolean }, cmd: Command) =>
      ctx.withClient(async (c) => {
        const [remotes, local] = lastApart(paths, cmd);
        const files: FileStatus[] = [];
        for (const s of await ctx.expand(c, remotes)) {
          if (s.type === "file") files.push(s);
          else files.push(...(await c.list(s.path)).filter((e) => e.type === "file"));
        }
        const out = await openLocal(local);
        try {
          for (const f of files) {
            if (opts.skipEmptyFile && f.size === 0) continue;
            for await (const data of c.createReadStream(f.path)) if (!out.write(data)) await new Promise<void>((r) => out.once("drain", () => r()));
            if (opts.nl) out.write("\n");
          }
        } finally {
          await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        }
        if (!ctx.quiet()) process.stderr.write(`${files.length} file(s) merged into ${local}\n`);
      }),
    );

  program
    .command("touchz")
    .description("create empty files (an existing empty file is left as it is)")
    .argument("<remote...>", "TrainFS paths")
    .action(async (remotes: string[]) =>
      ctx.withClient(async (c) => {
        for (const r of remotes.map(stripSlash)) {
          try {
            const existing = await c.stat(r).catch(notFoundAsUndefined);
            if (existing?.type === "directory") throw new TrainfsError("failed_precondition", `${r} is a directory`);
            if (existing && existing.size > 0) throw new TrainfsError("failed_precondition", `${r} exists and is not empty (touchz only creates empty files)`);
            if (!existing) await c.writeFile(r, new Uint8Array(0));
          } catch (err) {
            ctx.fail(err);
          }
        }
      }),
    );
}

/** Reports each failure of a bulk transfer; returns the files done. */
function report(ctx: CliContext, r: BulkResult): FileStatus[] {
  for (const f of r.failed) ctx.fail(f.error);
  return r.done.map((d) => d.file);
}

function describePut(file: FileStatus): string {
  return `${file.path}: ${formatSize(file.size)} in ${file.chunkCount} chunk(s), replication ${file.replication}`;
}

function summary(verb: string, files: FileStatus[]): string {
  return `${verb} ${files.length} file(s), ${formatSize(files.reduce((n, f) => n + f.size, 0))}`;
}

async function catOne(c: TrainfsClient, s: FileStatus, start?: number, end?: number): Promise<void> {
  if (s.type === "directory") throw new TrainfsError("failed_precondition", `${s.path} is a directory`);
  await pipeline(c.createReadStream(s.path, { start, end }), process.stdout, { end: false });
}

export function notFoundAsUndefined(err: unknown): undefined {
  if (err instanceof TrainfsError && err.code === "not_found") return undefined;
  throw err;
}

async function mkdirLocal(path: string): Promise<void> {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(path, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new TrainfsError(err.code === "EACCES" ? "permission_denied" : "failed_precondition", `cannot create local directory ${path}: ${err.code}`);
  });
}

/** A local file for writing, its errors naming the local path. */
async function openLocal(path: string) {
  const out = createWriteStream(path);
  await new Promise<void>((resolve, reject) =>
    out.once("open", () => resolve()).once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "ENOENT" ? "its directory does not exist" : err.code === "EACCES" ? "permission denied" : err.code === "EISDIR" ? "it is a directory" : err.message;
      reject(new TrainfsError(err.code === "ENOENT" ? "not_found" : err.code === "EACCES" ? "permission_denied" : "failed_precondition", `cannot write local file ${path}: ${why}`));
    }),
  );
  return out;
}

/**
 * Loose files in one batch, then each tree: one progress bar per batch,
 * Ctrl-C abandoning what is under way, each failure reported and the rest
 * carried on. Returns every file done.
 */
async function inBatches<F, T>(
  ctx: CliContext,
  verb: "put" | "get",
  noun: "upload" | "download",
  files: F[],
  trees: T[],
  run: (
    batch: { files: F[] } | { tree: T },
    options: { signal: AbortSignal; stopOnError: false; onProgress: ReturnType<typeof progressBar>["update"] },
  ) => Promise<BulkResult>,
): Promise<FileStatus[]> {
  const done: FileStatus[] = [];
  for (const batch of [...(files.length ? [{ files }] : []), ...trees.map((tree) => ({ tree }))]) {
    const bar = progressBar(verb, ctx.quiet());
    try {
      const result = await ctx.interruptible(() => abandonedText(bar.last(), noun), (signal) =>
        run(batch, { signal, stopOnError: false, onProgress: bar.update }),
      );
      done.push(...report(ctx, result));
    } catch (err) {
      if (err instanceof TrainfsError && err.code === "canceled") throw err;
      ctx.fail(err);
    } finally {
      bar.stop();
    }
  }
  return done;
}
