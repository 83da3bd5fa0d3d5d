#!/usr/bin/env node
import { Command, Option } from "commander";
import { createLogger, runServerProcess, settingOptions } from "@trainfs/common";
import { loadNameNodeConfig, NAMENODE_ENV_PREFIX, nameNodeConfigSchema } from "./config.js";
import { NameNode } from "./namenode.js";

const program = new Command("trainfs-namenode")
  .description(
    "Run a TrainFS NameNode: the namespace and the map of chunks to DataNodes.\n" +
      `Settings come from defaults < --config JSON file < ${NAMENODE_ENV_PREFIX}* environment variables < flags;\n` +
      `each flag's variable is ${NAMENODE_ENV_PREFIX} and its name in upper snake case (--data-dir: ${NAMENODE_ENV_PREFIX}DATA_DIR).`,
  )
  .option("--config <file>", `JSON config file with the keys below in camelCase (env ${NAMENODE_ENV_PREFIX}CONFIG)`)
  .showHelpAfterError();
// One option per setting of the schema, help and default included (docs/operations.md has the same table).
for (const o of settingOptions(nameNodeConfigSchema, NAMENODE_ENV_PREFIX)) program.addOption(new Option(o.flags, o.description).hideHelp(o.hidden));

program.parse();
const { config: configFile, ...flags } = program.opts();

await runServerProcess("trainfs-namenode", async () => {
  const config = loadNameNodeConfig({ file: configFile, env: process.env, flags });
  return NameNode.start(config, createLogger("namenode", config.logLevel));
});
