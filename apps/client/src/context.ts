import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { TrainfsClient, TrainfsError } from "@trainfs/client";

export const DEFAULT_NAMENODE = "http://127.0.0.1:9870";

/** What every command needs: the client, and how to print. */
export interface CliContext {
  /** A client for the NameNode of --namenode or TRAINFS_NAMENODE; closed after the command. */
  withClient<T>(fn: (client: TrainfsClient) => Promise<T>): Promise<T>;
  quiet(): boolean;
  /** Prints `value` as JSON with --json, else `text()` (nothing if it returns undefined). */
  print(json: boolean | undefined, value: unknown, text: () => string | undefined): void;
}

export function cliContext(program: Command): CliContext {
  return {
    async withClient(fn) {
      const namenode = program.opts().namenode ?? process.env.TRAINFS_NAMENODE ?? DEFAULT_NAMENODE;
      const opts = program.opts();
      const client = new TrainfsClient({
        namenode,
        token: opts.token || process.env.TRAINFS_TOKEN || readSecretFile(opts.tokenFile ?? process.env.TRAINFS_TOKEN_FILE, "token file"),
        ca: readSecretFile(opts.caFile ?? process.env.TRAINFS_CA_FILE, "CA file"),
      });
      try {
        return await fn(client);
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
  };
}

function readSecretFile(path: string | undefined, what: string): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new TrainfsError("invalid_argument", `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}
