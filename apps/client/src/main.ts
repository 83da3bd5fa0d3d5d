#!/usr/bin/env node
import { Command } from "commander";
import { TrainfsError } from "@trainfs/client";
import { errorMessage } from "@trainfs/core";
import { adminCommands } from "./admin-commands.js";
import { DEFAULT_NAMENODE, cliContext } from "./context.js";
import { namespaceCommands } from "./namespace-commands.js";
import { transferCommands } from "./transfer-commands.js";

const program = new Command("trainfs")
  .description("TrainFS command-line client: files in a TrainFS cluster, like `hdfs dfs`.")
  .option("--namenode <url>", `NameNode address (env TRAINFS_NAMENODE, default ${DEFAULT_NAMENODE})`)
  .option("--token <token>", "API token for a NameNode that requires one (env TRAINFS_TOKEN; prefer the env or --token-file: flags show in ps)")
  .option("--token-file <path>", "read the API token from this file (env TRAINFS_TOKEN_FILE)")
  .option("--ca-file <path>", "trust these PEM certificates for https addresses (env TRAINFS_CA_FILE)")
  .option("-q, --quiet", "no progress bars or confirmations")
  .option("--verbose", "on errors, show the stack")
  .showHelpAfterError()
  .addHelpText("after", "\nErrors print one line, `trainfs: <what went wrong> [<code>]`, and exit with status 1.");

const ctx = cliContext(program);
transferCommands(program, ctx);
namespaceCommands(program, ctx);
adminCommands(program, ctx);

try {
  await program.parseAsync();
} catch (err) {
  const code = err instanceof TrainfsError ? ` [${err.code}]` : "";
  process.stderr.write(`trainfs: ${errorMessage(err)}${code}\n`);
  if (program.opts().verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
}
