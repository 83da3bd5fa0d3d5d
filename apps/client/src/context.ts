import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { TrainfsClient, TrainfsError, newRequestId, withRequestId, type FileStatus } from "@trainfs/client";
import { EXIT, describeError, exitCodeOf, type NameNodeOrigin } from "./errors.js";

export const DEFAULT_NAMENODE = "http://127.0.0.1:9870";

/** What every command needs: the client, how to print, and how to fail. */
export interface CliContext {
  /** The NameNode address and where it came from (flag, env, default). */
  namenode(): NameNodeOrigin;
  /**
   * A client for the NameNode, closed after the command; every call of the
   * command carries one request id, printed with any failure.
   */
  withClient<T>(fn: (client: TrainfsClient) => Promise<T>): Promise<T>;
  quiet(): boolean;
  /** Prints `value` as JSON with --json, else `text()` (nothing if it returns undefined or ""). */
  print(json: boolean | undefined, value: unknown, text: () => string | undefined): void;
  /** Reports one failure on stderr (one line) and remembers its exit status; the command goes on. */
  fail(err: unknown): void;
  /** Each path's matches (globs expanded on the NameNode); a pattern that matches nothing is reported and skipped. */
  expand(client: TrainfsClient, patterns: string[]): Promise<FileStatus[]>;
  /**
   * Runs a transfer that Ctrl-C cancels: the signal aborts (uploads are
   * abandoned at once), then `abandoned()` says what was given up.
   */
  interruptible<T>(abandoned: () => string, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** The exit status so far: 0, or that of the failures reported. */
  exitCode(): number;
}

export function cliContext(program: Command): CliContext {
  let requestId = "";
  const codes: number[] = [];
  const ctx: CliContext = {
    namenode() {
      const flag = program.opts().namenode as string | undefined;
      if (flag) return { url: flag, from: "--namenode" };
      if (process.env.TRAINFS_NAMENODE) return { url: process.env.TRAINFS_NAMENODE, from: "TRAINFS_NAMENODE" };
      return { url: DEFAULT_NAMENODE, from: "the default" };
    },
    async withClient(fn) {
      const opts = program.opts();
      requestId = newRequestId();
      const client = new TrainfsClient({
        namenode: ctx.namenode().url,
        token: opts.token || process.env.TRAINFS_TOKEN || readSecretFile(opts.tokenFile ?? process.env.TRAINFS_TOKEN_FILE, "token file", "--token-file"),
        ca: readSecretFile(opts.caFile ?? process.env.TRAINFS_CA_FILE, "CA file", "--ca-file"),
      });
      try {
        return await withRequestId(requestId, () => fn(client));
      } finally {
        client.close();
      }
    },
    quiet: () => Boolean(program.opts().quiet),
    print(json, value, text) {
      if (json) {
        process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
        return;
      }
      const out = text();
      if (out !== undefined && out !== "") process.stdout.write(`${out}\n`);
    },
    fail(err) {
      const e = describeError(err, ctx.namenode(), verbOf(process.argv));
      const id = requestId ? ` (request ${requestId})` : "";
      // One line, whatever the message (OpenSSL's span several).
      process.stderr.write(`trainfs: ${e.message.replace(/\s*\n\s*/g, " ")} [${e.code}]${id}\n`);
      if (program.opts().verbose && e.stack) process.stderr.write(`${e.stack}\n`);
      codes.push(exitCodeOf(e.code));
    },
    async expand(client, patterns) {
      const out: FileStatus[] = [];
      for (const p of patterns) {
        try {
          out.push(...(await client.glob(stripSlash(p))));
        } catch (err) {
          if (!(err instanceof TrainfsError) || err.code !== "not_found") throw err;
          ctx.fail(err);
        }
      }
      return out;
    },
    async interruptible(abandoned, fn) {
      const stop = new AbortController();
      let interrupted = false;
      const onSigint = () => {
        if (interrupted) process.exit(EXIT.interrupted); // a second Ctrl-C: leave now
        interrupted = true;
        stop.abort(new TrainfsError("canceled", "interrupted"));
      };
      process.on("SIGINT", onSigint);
      try {
        return await fn(stop.signal);
      } catch (err) {
        if (interrupted) throw new TrainfsError("canceled", `interrupted: ${abandoned()}`, { cause: err });
        throw err;
      } finally {
        process.off("SIGINT", onSigint);
      }
    },
    exitCode() {
      if (codes.length === 0) return EXIT.ok;
      return codes.every((c) => c === codes[0]) ? codes[0]! : EXIT.failed;
    },
  };
  return ctx;
}

/** `/dir/` names the directory `/dir` (the NameNode's paths have no trailing slash). */
export function stripSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") || "/" : path;
}

function readSecretFile(path: string | undefined, what: string, flag: string): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TrainfsError(code === "ENOENT" ? "not_found" : "invalid_argument", `cannot read the ${what} ${path} (${flag}): ${code === "ENOENT" ? "no such file" : code}`);
  }
}

/** Sources and the destination of `verb a b c dest` (commander allows one variadic argument, last). */
export function lastApart(paths: string[], cmd: Command): [string[], string] {
  if (paths.length < 2) cmd.error(`error: ${cmd.name()} needs at least one source and a destination`, { exitCode: 2 });
  return [paths.slice(0, -1), paths.at(-1)!];
}

/** The verb of a command line: its first word after the global options. */
export function verbOf(argv: string[]): string | undefined {
  const withValue = new Set(["--namenode", "--token", "--token-file", "--ca-file"]);
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (withValue.has(a)) i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}
