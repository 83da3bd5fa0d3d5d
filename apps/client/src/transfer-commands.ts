import { basename } from "node:path";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError, type Command } from "commander";
import { errorMessage, formatSize, joinPath, parseSize } from "@trainfs/core";
import type { CliContext } from "./context.js";
import { progressBar } from "./progress.js";

export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number of at least 1");
  return n;
};

const size = (v: string) => {
  try {
    return parseSize(v);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
};

/** put, get and cat: moving bytes in and out, with `-` for stdin and stdout. */
export function transferCommands(program: Command, ctx: CliContext): void {
  program
    .command("put")
    .description("upload a local file (or stdin, as -); it appears only once every chunk is stored on all replicas")
    .argument("<local>", "local file, or - for stdin")
    .argument("<remote>", "absolute TrainFS path, or an existing directory to put into; missing parents are created")
    .option("-f, --force", "replace an existing file (atomically, when the upload completes)")
    .option("-r, --replication <n>", "replicas per chunk (default: the NameNode's, 3)", positiveInt)
    .option("-c, --chunk-size <size>", "chunk size, e.g. 64MiB (default: the NameNode's, 64 MiB)", size)
    .option("-p, --parallel <n>", "chunks sent at once (default 4)", positiveInt)
    .option("--json", "print the new file's status as JSON")
    .action(async (local: string, remote: string, opts: { force?: boolean; replication?: number; chunkSize?: number; parallel?: number; json?: boolean }) =>
      ctx.withClient(async (c) => {
        let target = remote;
        if (local !== "-" && (await c.stat(remote).then((s) => s.type === "directory", () => false))) target = joinPath(remote, basename(local));
        const bar = progressBar("put", ctx.quiet());
        try {
          const file = await c.put(local === "-" ? process.stdin : local, target, {
            overwrite: opts.force, replication: opts.replication, chunkSize: opts.chunkSize, concurrency: opts.parallel, onProgress: bar.update,
          });
          bar.stop();
          ctx.print(opts.json, file, () =>
            ctx.quiet() ? undefined : `${file.path}: ${formatSize(file.size)} in ${file.chunkCount} chunk(s), replication ${file.replication}`,
          );
        } finally {
          bar.stop();
        }
      }),
    );

  program
    .command("get")
    .description("download a file (to stdout as -); a local file appears only once every chunk verified")
    .argument("<remote>", "absolute TrainFS path")
    .argument("<local>", "local file, existing directory, or - for stdout")
    .option("-f, --force", "replace an existing local file")
    .option("-p, --parallel <n>", "chunks fetched at once (default 4)", positiveInt)
    .option("--fsync", "flush the local file and its name to disk before returning (default: left to the page cache, as cp does)")
    .option("--json", "print the file's status as JSON")
    .action(async (remote: string, local: string, opts: { force?: boolean; parallel?: number; fsync?: boolean; json?: boolean }) =>
      ctx.withClient(async (c) => {
        if (local === "-") return void (await pipeline(c.createReadStream(remote), process.stdout));
        const bar = progressBar("get", ctx.quiet());
        try {
          const file = await c.get(remote, local, { overwrite: opts.force ?? false, concurrency: opts.parallel, fsync: opts.fsync, onProgress: bar.update });
          bar.stop();
          ctx.print(opts.json, file, () => (ctx.quiet() ? undefined : `${file.path}: ${formatSize(file.size)} written to ${local}`));
        } finally {
          bar.stop();
        }
      }),
    );

  program
    .command("cat")
    .description("print a file (or a byte range of it) to stdout, verified")
    .argument("<remote>", "absolute TrainFS path")
    .option("--start <byte>", "first byte (default 0)", Number)
    .option("--end <byte>", "last byte, inclusive (default: the end)", Number)
    .action(async (remote: string, opts: { start?: number; end?: number }) =>
      ctx.withClient(async (c) => {
        await pipeline(c.createReadStream(remote, { start: opts.start, end: opts.end }), process.stdout);
      }),
    );
}
