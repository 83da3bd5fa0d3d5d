#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { TrainfsError } from "@trainfs/client";
import { adminCommands, clientVersion } from "./admin-commands.js";
import { completionScript } from "./completion.js";
import { DEFAULT_NAMENODE, cliContext, verbOf } from "./context.js";
import { EXIT, exitCodeOf } from "./errors.js";
import { namespaceCommands } from "./namespace-commands.js";
import { transferCommands } from "./transfer-commands.js";

const program = new Command("trainfs")
  .description("TrainFS command-line client: files in a TrainFS cluster, like `hdfs dfs`.")
  .version(clientVersion(), "-V, --version", "print this client's version (the NameNode's too: trainfs version)")
  .option("--namenode <url[,url...]>", `NameNode address; with high availability every NameNode, separated by commas (env TRAINFS_NAMENODE, default ${DEFAULT_NAMENODE})`)
  .option("--token <token>", "API token for a NameNode that requires one (env TRAINFS_TOKEN; prefer the env or --token-file: flags show in ps)")
  .option("--token-file <path>", "read the API token from this file (env TRAINFS_TOKEN_FILE)")
  .option("--ca-file <path>", "trust these PEM certificates for https addresses (env TRAINFS_CA_FILE)")
  .option("-q, --quiet", "no progress bars or confirmations")
  .option("--verbose", "on errors, also the stack")
  .helpOption("--help", "show help")
  .exitOverride()
  .configureOutput({
    // A usage error is one line and exit status 2, not the whole help.
    outputError: (text, write) => write(`trainfs: ${text.replace(/^error: /, "").trim()} (see trainfs ${verbOf(process.argv) ?? ""} --help) [usage]\n`.replace("trainfs  --help", "trainfs --help")),
  })
  .addHelpText(
    "after",
    `
Paths may be globs (*, ?, [...], {a,b}; quote them from the shell), expanded by listing on the NameNode.
Errors print one line, \`trainfs: <what went wrong> [<code>] (request <id>)\`; --verbose adds the stack.
Exit status: 0 ok, 1 failed, 2 usage, 3 not found, 4 permission (token), 5 unavailable (cluster down or wrong address), 6 data loss, 130 interrupted.`,
  );

const ctx = cliContext(program);
transferCommands(program, ctx);
namespaceCommands(program, ctx);
adminCommands(program, ctx);
program
  .command("completion")
  .description("print a shell completion script: eval \"$(trainfs completion bash)\"")
  .argument("<shell>", "bash or zsh")
  .action((shell: string) => {
    if (shell !== "bash" && shell !== "zsh") throw new TrainfsError("invalid_argument", `completion is for bash or zsh, not ${JSON.stringify(shell)}`);
    process.stdout.write(completionScript(program, shell));
  });
for (const c of program.commands) c.helpOption("--help", "show help").exitOverride();

try {
  await program.parseAsync(hdfsHabits(process.argv));
  // Failures reported along the way (rm a missing b) decide the status; else what the verb set (test, fsck).
  if (ctx.exitCode() !== 0) process.exitCode = ctx.exitCode();
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    ctx.fail(err);
    process.exitCode = ctx.exitCode();
  }
}

/**
 * Spellings `hdfs dfs` users type: `-rep`, `find -name/-iname/-type` as
 * single-dash words, and `-R` for recursive where hdfs has both -r and -R
 * (every verb but ls, where -r is reverse). Commander knows only one-letter
 * short flags, so they are rewritten before parsing.
 */
function hdfsHabits(argv: string[]): string[] {
  const verb = verbOf(argv);
  const at = verb ? argv.indexOf(verb) : argv.length;
  const words: Record<string, string> = { "-rep": "--replication", "-name": "--name", "-iname": "--iname", "-type": "--type", "-nl": "--nl" };
  return argv.map((a, i) => {
    if (i <= at || a === "--") return a;
    if (words[a]) return words[a];
    // hdfs dfs -count -q shows quotas; everywhere else -q is --quiet.
    if (verb === "count" && a === "-q") return "--quotas";
    if (verb !== "ls" && verb !== "setrep" && /^-[a-zA-Z]*R[a-zA-Z]*$/.test(a)) return a.replace("R", "r");
    return a;
  });
}

export { exitCodeOf };
